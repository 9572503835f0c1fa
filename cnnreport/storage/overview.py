"""What a runs dir holds, one line a run, read from the runs' JSON files alone (`cnnreport list`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnnreport.errors import BadInput, CnnReportError
from cnnreport.storage.folders import refuse_non_folder
from cnnreport.storage.rundir import RunDir, list_runs
from cnnreport.storage.sweeps import find_sweeps


@dataclass(frozen=True)
class RunLine:
    name: str  # as `report` and `evaluate` take it: RUN, or SWEEP/RUN for a sweep's run
    status: str  # finished, interrupted, running, failed, or what keeps it from being read
    epochs_done: int
    epochs: int | None  # planned; None when the config cannot be read
    test_accuracy: float | None  # after the last epoch done; None before it is scored
    seconds: float  # of training, summed over the epochs done


def overview(runs_dir: Path) -> list[RunLine]:
    """Every run in runs_dir, then every sweep's runs, by name."""
    refuse_non_folder(runs_dir, "runs dir")
    if not runs_dir.is_dir():
        raise BadInput(f"runs dir {runs_dir} does not exist; train a run first (cnnreport train) or pass --runs-dir")
    named = [(run.name, run) for run in list_runs(runs_dir)]
    for sweep in find_sweeps(runs_dir):
        named += [(f"{sweep.name}/{run.name}", run) for run in list_runs(sweep)]
    return [_line(name, run) for name, run in named]


def _line(name: str, run: RunDir) -> RunLine:
    # A damaged file shows as that run's status: one bad run must not hide the others.
    try:
        epochs = run.read_config().epochs
        status = str(run.read_status().get("status"))
        metrics = run.read_metrics() if run.metrics_file.exists() else []
    except CnnReportError as exc:
        return RunLine(name, f"unreadable: {exc}", 0, None, None, 0.0)
    last = metrics[-1].get("test_accuracy") if metrics else None
    return RunLine(name, status, len(metrics), epochs, last, sum(row["seconds"] for row in metrics))
