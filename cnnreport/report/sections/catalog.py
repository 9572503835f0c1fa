"""Report sections for the analyses beyond the write-up: the report calls these two functions.

Each builder reads only what `evaluate` cached in the run directories (evaluation.json,
analysis.npz, predictions.npz) and returns a Section; a run without those results gets a
Section whose `missing` names the command to run, never an exception.

Section ids are short names ('calibration', 'gradcam', ...) unique among the sections of
one call; the report namespaces them per run and for the study part of the page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cnnreport.analysis import (
    sections_gradcam,
    sections_grouping,
    sections_robustness,
    sections_run,
    sections_study,
    sections_writeup,
)
from cnnreport.runs import RunDir
from cnnreport.sections import Section

EVALUATE_AGAIN = "re-run `cnnreport evaluate NAME` for the runs involved"
RunBuilder = Callable[[RunDir], Section]
StudyBuilder = Callable[[list[RunDir]], Section]

# (part of the id, fallback title, builder), in the order the report shows them.
RUN_PARTS: tuple[tuple[str, str, RunBuilder], ...] = (
    ("calibration", sections_run.TITLES["calibration"], sections_run.calibration_section),
    ("robustness", sections_run.TITLES["robustness"], sections_run.robustness_section),
    ("gradcam", sections_gradcam.TITLE, sections_gradcam.gradcam_section),
    ("filters", sections_run.TITLES["filters"], sections_run.filters_section),
    ("grouping", sections_run.TITLES["grouping"], sections_run.grouping_section),
)
STUDY_PARTS: tuple[tuple[str, str, StudyBuilder], ...] = (
    (sections_writeup.SECTION_ID, sections_writeup.TITLE, sections_writeup.writeup_section),
    (sections_robustness.SECTION_ID, sections_robustness.TITLE, sections_robustness.robustness_study_section),
    (sections_study.CALIBRATION_ID, sections_study.CALIBRATION_TITLE, sections_study.calibration_study_section),
    (sections_grouping.SECTION_ID, sections_grouping.TITLE, sections_grouping.grouping_study_section),
    (sections_study.EFFICIENCY_ID, sections_study.EFFICIENCY_TITLE, sections_study.efficiency_study_section),
)


def run_sections(run: RunDir) -> list[Section]:
    """Sections shown inside one run's part of the report."""
    return [guarded(part, title, functools.partial(build, run)) for part, title, build in RUN_PARTS]


def study_sections(runs: list[RunDir]) -> list[Section]:
    """Sections that compare runs (shown once, after the summary table)."""
    return [
        guarded(section_id, title, functools.partial(build, list(runs))) for section_id, title, build in STUDY_PARTS
    ]


def guarded(section_id: str, title: str, build: Callable[[], Section]) -> Section:
    """Build one section; saved results of an unexpected shape cost that section only."""
    try:
        return build()
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        # A hand-edited or foreign evaluation.json: what to do is re-evaluate, not read a traceback.
        why = f"{type(exc).__name__}: {exc}"[:200]
        return Section(section_id, title, missing=f"saved results of an unexpected shape ({why}); {EVALUATE_AGAIN}")
