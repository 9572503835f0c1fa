"""The HTML flavour of the report: Jinja templates inside the package, autoescaped, format.py's filters."""

from __future__ import annotations

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


def render(parts: list[RunPart], summary: Table, studies: list[Section]) -> str:
    """The whole document as one string."""
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
        )
    )
