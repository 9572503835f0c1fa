"""Where a report may be written: never over a run's or a sweep's own files.

A report is one file a user names with -o. Written into a run or sweep folder it would take
the place of metrics.json, sweep.json or checkpoint.pt, so any place inside one, or inside
any folder of the runs dir (each is a run's or a sweep's), is refused before any work.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cnnreport.errors import BadInput
from cnnreport.storage.atomic import check_output
from cnnreport.storage.sweeps import SWEEP_FILE

RUN_FILE = "config.json"  # the file that makes a folder a run (rundir.RunDir.config_file)


def check_report_output(path: Path, *runs_dirs: Path) -> None:
    """Refuse (exit 2) an output that would land in a run or sweep folder, or cannot be written.

    With `runs_dirs` (the CLI's --runs-dir), every folder in them counts as a run's, even one
    whose config is not written yet."""
    owner = _run_or_sweep_holding(path, runs_dirs)
    if owner is not None:
        raise BadInput(
            f"cannot write {path}: it is inside {owner}, a run's or sweep's folder whose files it could replace; "
            "write the report elsewhere"
        )
    check_output(path)


def _run_or_sweep_holding(path: Path, runs_dirs: tuple[Path, ...]) -> Path | None:
    """The run or sweep folder `path` would be written into, if any (links resolved)."""
    folder = Path(os.path.realpath(path.parent))
    runs = {Path(os.path.realpath(runs_dir)) for runs_dir in runs_dirs}
    for candidate in (folder, *folder.parents):
        if candidate.parent in runs or _is_run_or_sweep(candidate):
            return candidate
    return None


def _is_run_or_sweep(folder: Path) -> bool:
    with contextlib.suppress(OSError):  # an unreadable folder is not known to be one
        return (folder / RUN_FILE).is_file() or (folder / SWEEP_FILE).is_file()
    return False
