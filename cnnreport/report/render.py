"""The HTML flavour of the report: Jinja templates inside the package, autoescaped, format.py's filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import jinja2

from cnnreport.report.document import RunPart, Section, Table
from cnnreport.report.format import register
from cnnreport.report.sections.summary import environment_rows

TEMPLATE = "report.html.j2"


def template_environment() -> jinja2.Environment:
    """The package's templates (cnnreport/report/templates), shipped in the wheel like any package file."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("cnnreport.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
    )
    register(environment)
    return environment


@dataclass(frozen=True)
class Opening:
    """What the report shows before its setup: the overview, its warnings, and the sweeps it holds."""

    overview: Section
    banners: list[str] = field(default_factory=list)
    sweeps: list[str] = field(default_factory=list)  # their folders' names, for the title and the lead


def render(parts: list[RunPart], summary: Table, studies: list[Section], opening: Opening | None = None) -> str:
    """The whole document as one string."""
    opening = opening or Opening(Section("overview", "Overview", intro="No run to rank."))
    machine, versions = environment_rows()
    return (
        template_environment()
        .get_template(TEMPLATE)
        .render(
            generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            machine=machine,
            versions=versions,
            summary=summary,
            studies=studies,
            runs=parts,
            opening=opening,
        )
    )
