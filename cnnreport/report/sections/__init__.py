"""Section builders: each reads one run's (or every run's) results and returns Sections; none writes.

`guarded` is the one failure guard: whatever one builder raises costs that builder's
section only, shown as a "missing" note that says what to run.
"""

from __future__ import annotations

from collections.abc import Callable

from cnnreport.errors import RunError
from cnnreport.report.document import Section
from cnnreport.report.results import hint, missing_note
from cnnreport.storage.rundir import RunDir

EVALUATE_AGAIN = f"re-run {hint('evaluate', 'NAME')} for the runs involved"
SHAPE_ERRORS = (AttributeError, KeyError, TypeError, ValueError, IndexError)


def guarded(
    section_id: str, title: str, build: Callable[[], Section | list[Section]], run: RunDir | None = None
) -> list[Section]:
    """The builder's sections; a failure becomes one Section whose `missing` explains it."""
    try:
        built = build()
    except Exception as exc:  # noqa: BLE001 - one bad file or analysis must not cost the reader the report
        return [Section(section_id, title, missing=explain(exc, run))]
    sections = built if isinstance(built, list) else [built]
    bad = [s for s in sections if not isinstance(s, Section)]
    if bad:
        return [Section(section_id, title, missing=f"the analysis returned {type(bad[0]).__name__}, not Section")]
    return sections


def explain(exc: Exception, run: RunDir | None) -> str:
    """A missing file names the command that makes it; saved results of an odd shape, re-evaluating; the rest as is."""
    if isinstance(exc, RunError) and run is not None:
        return missing_note(run, exc)
    if isinstance(exc, SHAPE_ERRORS):
        # A hand-edited or foreign evaluation.json: what to do is re-evaluate, not read a traceback.
        why = f"{type(exc).__name__}: {exc}"[:200]
        return f"saved results of an unexpected shape ({why}); {EVALUATE_AGAIN}"
    return f"the analysis failed: {type(exc).__name__}: {exc}"
