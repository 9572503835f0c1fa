"""Report sections for the analyses beyond the write-up (filled in by the analysis work)."""

from __future__ import annotations

from cnnreport.runs import RunDir
from cnnreport.sections import Section


def run_sections(run: RunDir) -> list[Section]:
    """Sections shown inside one run's part of the report."""
    return []


def study_sections(runs: list[RunDir]) -> list[Section]:
    """Sections that compare runs (shown once, after the summary table)."""
    return []
