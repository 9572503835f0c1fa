"""Which sections the report shows, in which order: the write-up's per run, the analyses beyond it, the study.

Each builder reads only what the run directories hold (through RunResults) and returns a
Section; `guarded` turns any failure into that section's "missing" note. Section ids are
short names ('calibration', 'gradcam', ...) unique among the sections of one list; the
template namespaces them per run and for the study part of the page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cnnreport.report.document import Section
from cnnreport.report.results import RunResults
from cnnreport.report.sections import beyond, budget, gradcam, grouping, guarded, robustness, run, study, writeup

RunBuilder = Callable[[RunResults], Section]
StudyBuilder = Callable[[list[RunResults]], Section]

# (id, title, builder) in the order the report shows them: first the write-up's own parts...
WRITEUP_PARTS: tuple[tuple[str, str, RunBuilder], ...] = (
    ("architecture", "Architecture", run.architecture),
    ("curves", "Learning curves", run.curves),
    ("confusion", "Confusion matrix", run.confusion),
    ("per-class", "Per-class precision, recall and F1", run.per_class),
    ("errors", "Error gallery", run.gallery),
    ("layers", "Layer outputs", run.layer_outputs),
    ("activations", "Activation maps", run.activations),
    ("tsne", "t-SNE of the learned features", run.tsne_section),
)
# ...then, inside each run's part, the analyses beyond the write-up...
RUN_PARTS: tuple[tuple[str, str, RunBuilder], ...] = (
    ("calibration", beyond.TITLES["calibration"], beyond.calibration_section),
    ("robustness", beyond.TITLES["robustness"], beyond.robustness_section),
    ("gradcam", gradcam.TITLE, gradcam.gradcam_section),
    ("filters", beyond.TITLES["filters"], beyond.filters_section),
    ("grouping", beyond.TITLES["grouping"], beyond.grouping_section),
)
# ...and once, after the summary table, the comparisons across runs.
STUDY_PARTS: tuple[tuple[str, str, StudyBuilder], ...] = (
    (writeup.SECTION_ID, writeup.TITLE, writeup.writeup_section),
    (robustness.SECTION_ID, robustness.TITLE, robustness.robustness_study_section),
    (study.CALIBRATION_ID, study.CALIBRATION_TITLE, study.calibration_study_section),
    (grouping.SECTION_ID, grouping.TITLE, grouping.grouping_study_section),
    (study.EFFICIENCY_ID, study.EFFICIENCY_TITLE, study.efficiency_study_section),
    (budget.SECTION_ID, budget.TITLE, budget.budget_section),
)


def writeup_sections(files: RunResults, announce: Callable[[str], None]) -> list[Section]:
    """The write-up's per-experiment parts, in its order, announcing each before it is built."""
    sections = []
    for section_id, title, build in WRITEUP_PARTS:
        announce(title)
        sections += guarded(section_id, title, functools.partial(build, files), files.run)
    return sections


def run_sections(files: RunResults) -> list[Section]:
    """The analyses beyond the write-up, shown inside one run's part."""
    return [s for i, title, build in RUN_PARTS for s in guarded(i, title, functools.partial(build, files), files.run)]


def study_sections(runs: list[RunResults]) -> list[Section]:
    """Sections that compare runs (shown once, after the summary table)."""
    return [s for i, title, build in STUDY_PARTS for s in guarded(i, title, functools.partial(build, list(runs)))]
