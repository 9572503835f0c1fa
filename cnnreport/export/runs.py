"""Which runs an export holds, what identifies each one, and whether its tracker is installed.

Runs and sweeps are chosen as `cnnreport report` chooses them (report.build.select_contents);
a sweep contributes every run its sweep.json lists that has a folder, keyed SWEEP/RUN like
`cnnreport list` names it. A digest of a run's files tells a later export whether the run
changed since it was last exported.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cnnreport.errors import BadInput, RunError
from cnnreport.export import INSTALL_HINT
from cnnreport.report.build import select_contents, sweep_folder
from cnnreport.storage.atomic import TEMP_MARK
from cnnreport.storage.rundir import RunDir
from cnnreport.storage.sweeps import read_sweep

# Files of a run that do not change what it is: the t-SNE cache (made from predictions.npz,
# which is hashed) and the lock. The checkpoint counts only when it is exported too.
NOT_HASHED = ("tsne.npz", ".lock")


@dataclass(frozen=True)
class Item:
    """One run to export and where it belongs."""

    key: str  # RUN, or SWEEP/RUN for a sweep's run: unique in a runs dir, the name `list` shows
    run: RunDir
    sweep: str | None = None
    cell: str | None = None
    cell_options: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What an export did with one run."""

    key: str
    action: str  # exported, updated, or skipped (unchanged since its last export there)
    where: str  # its folder, or its tracker's run id


@dataclass(frozen=True)
class Sweep:
    """A sweep folder and its runs in the export."""

    name: str
    folder: Path
    items: tuple[Item, ...]


def select(runs_dir: Path, names: Sequence[str] = ()) -> tuple[list[Item], list[Sweep]]:
    """The runs (outside sweeps) and the sweeps that `report NAME...` would show, each run checked.

    Unlike the report, naming only runs exports only them: no sweep comes along unasked.
    """
    runs, folders = select_contents(runs_dir, names)
    if names and not any(sweep_folder(runs_dir, name) for name in names):
        folders = []
    sweeps = [sweep_items(folder) for folder in folders]
    in_sweeps = {item.run.path.resolve() for sweep in sweeps for item in sweep.items}
    items = [Item(key_of(run, runs_dir), run) for run in runs if run.path.resolve() not in in_sweeps]
    for item in items + [item for sweep in sweeps for item in sweep.items]:
        check(item)
    if not items and not any(sweep.items for sweep in sweeps):
        raise BadInput(f"nothing to export in {runs_dir}: no run has a folder yet")
    return items, sweeps


def key_of(run: RunDir, runs_dir: Path) -> str:
    """SWEEP/RUN for a sweep's run named on its own, as `list` shows it; else the run's name."""
    try:
        return run.path.resolve().relative_to(runs_dir.resolve()).as_posix()
    except ValueError:
        return run.name


def sweep_items(folder: Path) -> Sweep:
    """The runs a sweep.json lists, cell by cell; runs not started yet (no folder) are left out."""
    document = read_sweep(folder)
    items = []
    for cell in document["cells"]:
        options = tuple(sorted((cell.get("options") or {}).items()))
        for name in cell.get("runs", []):
            run = RunDir(folder / str(name))
            if run.config_file.is_file():
                items.append(Item(f"{folder.name}/{run.name}", run, folder.name, str(cell["name"]), options))
    return Sweep(folder.name, folder, tuple(items))


def check(item: Item) -> None:
    """Refuse, before anything is written, a run whose files cannot be exported."""
    item.run.read_config()
    if not item.run.metrics_file.is_file():
        raise RunError(f"{item.key}: no epoch saved yet (no metrics.json); nothing to export")
    item.run.read_metrics()
    if item.run.evaluation_file.exists():
        item.run.read_json(item.run.evaluation_file)


def digest(run: RunDir, checkpoint: bool, settings: str = "") -> str:
    """A hash of the run's files (names and contents) and the export's settings."""
    hashed = hashlib.sha256(settings.encode())
    for path in sorted(run.path.iterdir()):
        skipped = path.name in NOT_HASHED or TEMP_MARK in path.name or not path.is_file() or path.is_symlink()
        if skipped or (path == run.checkpoint_file and not checkpoint):
            continue
        hashed.update(path.name.encode() + b"\0")
        hashed.update(hashlib.sha256(path.read_bytes()).digest())
    return hashed.hexdigest()


def json_files(run: RunDir) -> list[Path]:
    """The run folder's JSON documents, by name."""
    return sorted(path for path in run.path.glob("*.json") if path.is_file() and not path.is_symlink())


def require(module: str) -> None:
    """Import a tracker's package, or say how to install it (exit 2)."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise BadInput(f"{module} is not installed; install the trackers extra: {INSTALL_HINT}") from None
