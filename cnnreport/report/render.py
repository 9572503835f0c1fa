"""The HTML flavour of the report: Jinja templates inside the package, autoescaped, format.py's filters.

The one inline script (templates/report.js) is allowed by its SHA-256 in the Content-Security-Policy,
so no other script could run even if a value slipped through unescaped; data for it travels in
<script type="application/json"> blocks, which browsers never execute.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import jinja2
from markupsafe import Markup

from cnnreport.report.chart import learning_chart
from cnnreport.report.document import RunPart, Section, Table
from cnnreport.report.explore import json_for_script
from cnnreport.report.format import register
from cnnreport.report.sections.summary import environment_rows

TEMPLATE = "report.html.j2"
SCRIPT = "report.js"


def template_environment() -> jinja2.Environment:
    """The package's templates (cnnreport/report/templates), shipped in the wheel like any package file."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("cnnreport.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
    )
    register(environment)
    environment.filters["json_for_script"] = json_for_script
    return environment


@dataclass(frozen=True)
class Opening:
    """What the report shows before its setup: the overview, its warnings, and the sweeps it holds."""

    overview: Section
    banners: list[str] = field(default_factory=list)
    sweeps: list[str] = field(default_factory=list)  # their folders' names, for the title and the lead


def script_source(environment: jinja2.Environment) -> str:
    source, _, _ = environment.loader.get_source(environment, SCRIPT)  # type: ignore[union-attr]
    return source


def csp_hash(source: str) -> str:
    """The CSP source expression that allows exactly this inline script."""
    return "'sha256-{}'".format(base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii"))


def render(
    parts: list[RunPart],
    summary: Table,
    studies: list[Section],
    opening: Opening | None = None,
    curves: Sequence[dict[str, Any]] = (),
) -> str:
    """The whole document as one string."""
    opening = opening or Opening(Section("overview", "Overview", intro="No run to rank."))
    machine, versions = environment_rows()
    environment = template_environment()
    script = script_source(environment)
    return environment.get_template(TEMPLATE).render(
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine,
        versions=versions,
        summary=summary,
        studies=studies,
        runs=parts,
        opening=opening,
        curves=list(curves),
        curves_chart=learning_chart(list(curves)),
        script=Markup(script),
        script_hash=Markup(csp_hash(script)),  # base64 and quotes only: as is, not entity-escaped
    )
