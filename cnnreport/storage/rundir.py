"""The run directory: the only module that knows its file names and their schema.

Reads and writes JSON documents (each with schema_version, within storage.documents' limits)
and .npz arrays (never pickled objects) through storage.atomic, never through a symbolic link;
the checkpoint's own format lives with the model code in ml/checkpoint.py, which writes it
to `RunDir.checkpoint_file` through `RunDir.write_file`.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from cnnreport.config import ExperimentConfig
from cnnreport.errors import BadInput, CnnReportError, RunError, WorkFailed, os_reason
from cnnreport.storage import locks
from cnnreport.storage.atomic import NAME_MAX, atomic_write, is_entry_name, refuse_link, remove_stale_temps
from cnnreport.storage.documents import document_text, parse_json
from cnnreport.storage.folders import folder_from_environment, holds_file, refuse_non_folder, runs_dir_entries
from cnnreport.storage.reading import open_regular
from cnnreport.storage.sweeps import SWEEP_FILE

if TYPE_CHECKING:
    import numpy as np

SCHEMA_VERSION = 1
STATUSES = ("running", "finished", "failed", "interrupted")
METRIC_FIELDS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds")
# With --validation the test set is scored after the last epoch only: rows before it hold null
# there (JSON has no NaN), and every row has the validation fields.
NULLABLE_METRICS = ("test_loss", "test_accuracy")
VALIDATION_METRICS = ("validation_loss", "validation_accuracy")
# Which command writes each file of a run, for the notes that say how to make a missing one.
WRITTEN_BY = {
    "config.json": "train", "metrics.json": "train", "run.json": "train", "checkpoint.pt": "train",
    "evaluation.json": "evaluate", "predictions.npz": "evaluate", "analysis.npz": "evaluate",
    "anatomy.json": "inspect", "layer_outputs.npz": "inspect", "tsne.npz": "report",
}  # fmt: skip
PREDICTION_ARRAYS = (  # the keys of predictions.npz
    "logits",  # float32 [N, classes]: the test set's
    "features",  # float32 [N, F]: what feeds the output layer
    "labels",  # int64 [N]
    "digits",  # int64 [N]: the digit behind a grouped class
    "gallery_indices",  # int64 [G]: misclassified, highest loss first
    "gallery_images",  # uint8 [G, 28, 28]
    "thumbnail_indices",  # int64 [T], sorted: a few per confusion cell and t-SNE class (analyses.thumbnails)
    "thumbnail_images",  # uint8 [T, 28, 28]; older evaluations lack both thumbnail keys
)
ANALYSIS_ARRAYS = (  # the keys of analysis.npz
    "robustness_examples",  # uint8 [kinds, images, strengths, 28, 28]
    "conv1_kernels",  # float32 [16, 7, 7]
    "gradcam_gallery_indices",  # int64 [G]: predictions.npz's error gallery, same order
    "gradcam_gallery_predicted",  # float16 [G, 28, 28] in [0, 1]: map for the predicted class
    "gradcam_gallery_true",  # float16 [G, 28, 28]: map for the true class
    "gradcam_correct_indices",  # int64 [C]: correctly classified test images, class by class
    "gradcam_correct_images",  # uint8 [C, 28, 28]
    "gradcam_correct",  # float16 [C, 28, 28]: map for the (correct) predicted class
)


def default_runs_dir() -> Path:
    return folder_from_environment("CNNREPORT_RUNS_DIR", "runs")


@dataclass(frozen=True)
class RunDir:
    """Paths and typed access to one run's files."""

    path: Path
    fresh: bool = field(default=False, compare=False)  # made by this command: removable if left empty

    @property
    def name(self) -> str:
        return self.path.name

    config_file = property(lambda self: self.path / "config.json")
    status_file = property(lambda self: self.path / "run.json")
    metrics_file = property(lambda self: self.path / "metrics.json")
    checkpoint_file = property(lambda self: self.path / "checkpoint.pt")
    evaluation_file = property(lambda self: self.path / "evaluation.json")
    predictions_file = property(lambda self: self.path / "predictions.npz")
    anatomy_file = property(lambda self: self.path / "anatomy.json")
    layer_outputs_file = property(lambda self: self.path / "layer_outputs.npz")
    tsne_file = property(lambda self: self.path / "tsne.npz")
    analysis_file = property(lambda self: self.path / "analysis.npz")
    lock_file = property(lambda self: self.path / ".lock")

    # ---- JSON documents -------------------------------------------------------------
    def read_json(self, path: Path) -> dict[str, Any]:
        """Read a JSON document of this run, checking it is ours and of a known schema."""
        data = parse_json(path)
        if not isinstance(data, dict) or "schema_version" not in data:
            raise RunError(f"{path}: not a cnnreport file (no schema_version)")
        if data["schema_version"] != SCHEMA_VERSION:
            raise RunError(
                f"{path}: schema version {data['schema_version']!r} is not supported "
                f"(this cnnreport reads version {SCHEMA_VERSION})"
            )
        return data

    def write_json(self, path: Path, data: dict[str, Any]) -> None:
        """Write a document; NaN and infinities (not JSON) become null, listed under 'nulls'."""
        text = document_text({"schema_version": SCHEMA_VERSION, **data})
        self.write_file(path, lambda f: f.write(text.encode()))

    def write_file(self, path: Path, write: Callable[[BinaryIO], object]) -> None:
        """atomic_write into this run dir, which must not be a symbolic link either."""
        refuse_link(self.path)
        atomic_write(path, write)

    def read_config(self) -> ExperimentConfig:
        data = self.read_json(self.config_file)
        config = data.get("config")
        if not isinstance(config, dict):
            raise RunError(f"{self.config_file}: no 'config' object")
        try:
            return ExperimentConfig.from_dict(config)
        except Exception as exc:
            raise RunError(f"{self.config_file}: {exc}") from None

    def write_config(self, config: ExperimentConfig, command: str, threads: int | None = None) -> None:
        """The options, the command line and the CPU threads a resume must reuse to be exact."""
        self.write_json(self.config_file, {"config": config.to_dict(), "command": command, "threads": threads})

    def read_threads(self) -> int | None:
        """The training thread count recorded at the start (None in runs made before it was)."""
        threads = self.read_json(self.config_file).get("threads")
        return threads if isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1 else None

    def read_command(self) -> str:
        return str(self.read_json(self.config_file).get("command", ""))

    def read_metrics(self) -> list[dict[str, float]]:
        return check_metrics(self.metrics_file, self.read_json(self.metrics_file).get("epochs"))

    def write_metrics(self, epochs: list[dict[str, float]]) -> None:
        self.write_json(self.metrics_file, {"epochs": epochs})

    def read_status(self) -> dict[str, Any]:
        """The run's status record; a 'running' run whose lock is free was interrupted."""
        try:
            present = self.status_file.exists()
        except OSError as exc:  # a run folder we may not look into
            raise RunError(f"{self.status_file}: unreadable ({os_reason(exc)})") from None
        if not present:
            return {"status": "missing"}
        status = self.read_json(self.status_file)
        if status.get("status") == "running" and not self.is_locked():
            status["status"] = "interrupted"
        return status

    def write_status(self, status: str, **details: Any) -> None:
        assert status in STATUSES
        self.write_json(self.status_file, {"status": status, **details})

    # ---- arrays ---------------------------------------------------------------------
    # numpy is imported here, not at the top: the CLI's --help reads this module and needs no arrays.
    def write_arrays(self, path: Path, **arrays: np.ndarray) -> None:
        import numpy as np

        self.write_file(path, lambda f: np.savez_compressed(f, **arrays))  # type: ignore[arg-type]

    def read_arrays(self, path: Path) -> dict[str, np.ndarray]:
        """Load an .npz written by write_arrays; never unpickles objects."""
        import numpy as np

        try:
            with open_regular(path) as handle, np.load(handle, allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        except FileNotFoundError:
            raise RunError(f"{path}: missing") from None
        except RunError:
            raise
        except Exception as exc:
            raise RunError(f"{path}: unreadable ({exc})") from None

    # ---- the checkpoint's plain fields (its tensors are ml/checkpoint.py's) ----------
    def check_checkpoint(self, state: dict[str, Any]) -> None:
        """Refuse a checkpoint whose config is not the one in this run's config.json."""
        ours = self.read_config().to_dict()
        theirs = _with_defaults(state.get("config", {}))
        differences = [f"{k} {theirs.get(k)!r} vs {ours[k]!r}" for k in ours if theirs.get(k) != ours[k]]
        differences += [f"{k} {theirs[k]!r} vs none" for k in theirs if k not in ours]
        if differences:
            raise RunError(
                f"{self.checkpoint_file} does not belong to this run: its config differs from "
                f"{self.config_file} in {', '.join(differences)}"
            )

    # ---- training's housekeeping ----------------------------------------------------
    def remove_stale_temps(self) -> None:
        """Delete temp files a killed writer of the training files left behind (hold the lock)."""
        for target in (self.config_file, self.status_file, self.metrics_file, self.checkpoint_file):
            for temp in self.path.glob(f".{target.name}.*.tmp"):
                with contextlib.suppress(OSError):
                    temp.unlink()
        remove_stale_temps(self.path)

    def discard_if_untrained(self) -> None:
        """Remove a run dir this command made when it failed before saving any epoch."""
        if not self.fresh or self.checkpoint_file.exists():
            return
        for known in (self.config_file, self.status_file, self.metrics_file, self.lock_file):
            with contextlib.suppress(OSError):
                known.unlink()
        remove_stale_temps(self.path)
        with contextlib.suppress(OSError):  # anything else in it (not ours) keeps the folder
            self.path.rmdir()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's lock for the duration; refuse if another live process holds it."""
        with locks.hold(self.path, self.lock_file, self.name):
            yield

    def is_locked(self) -> bool:
        return locks.is_held(self.lock_file)


def check_metrics(path: Path, epochs: Any) -> list[dict[str, float]]:
    """Metrics are a list of rows numbered 1, 2, ... holding a number for each METRIC_FIELDS.

    Test fields may be null only in a row with validation numbers (a run with --validation
    scores the test set after its last epoch only); validation fields, where present, are numbers.
    """
    if not isinstance(epochs, list) or not all(isinstance(row, dict) for row in epochs):
        raise RunError(f"{path}: metrics must be a list of objects, one per epoch")
    for number, row in enumerate(epochs, 1):
        if not all(_metric_ok(row, field) for field in METRIC_FIELDS + VALIDATION_METRICS) or row["epoch"] != number:
            raise RunError(f"{path}: metrics of epoch {number} need numbers {', '.join(METRIC_FIELDS)}")
    return epochs


def _metric_ok(row: dict[str, Any], field: str) -> bool:
    value = row.get(field)
    if field in VALIDATION_METRICS:
        return field not in row or is_number(value)
    if field in NULLABLE_METRICS and field in row and value is None:
        return all(is_number(row.get(name)) for name in VALIDATION_METRICS)
    return is_number(value)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def resolve_run(run: str, runs_dir: Path) -> RunDir:
    """A run given by name (inside runs_dir) or by path; it must hold a config."""
    candidates = [runs_dir / run, Path(run)]
    for candidate in candidates:
        try:
            if (candidate / "config.json").is_file():
                return RunDir(candidate)
        except OSError as exc:  # a run folder we may not look into
            raise RunError(f"cannot read run {run!r} at {candidate}: {os_reason(exc)}") from None
    raise RunError(f"unknown run {run!r}: no run directory with a config.json at {runs_dir / run} or {run}")


def list_runs(runs_dir: Path) -> list[RunDir]:
    """All run directories under runs_dir, sorted by name; a folder we may not look into is listed too,
    so its readers say it is unreadable instead of passing over it."""
    return [RunDir(p) for p in runs_dir_entries(runs_dir) if holds_file(p, "config.json") is not False]


def create_run(runs_dir: Path, name: str, resume: bool = False) -> RunDir:
    """The run dir `name` in runs_dir, made if absent; names and places that cannot hold one are bad input.

    With `resume` (the user's --resume) the run must have been started: a mistyped name must
    not train a new run under the typo.
    """
    if len(name.encode(errors="replace")) > NAME_MAX:
        raise RunError(f"invalid run name: {len(name.encode())} bytes, longer than the {NAME_MAX} a file name may have")
    if not is_entry_name(name):
        raise RunError(f"invalid run name {name!r}")
    refuse_non_folder(runs_dir, "--runs-dir")
    path = runs_dir / name
    refuse_link(path)
    if path.exists() and not path.is_dir():
        raise BadInput(f"{path} exists and is not a run directory; choose another --name")
    if (path / SWEEP_FILE).exists():  # a run there would mix its files with the sweep's
        raise BadInput(f"{path} is a sweep's folder, not a run's; choose another --name")
    # A folder means the run was started, if only just (killed before its config was written):
    # resuming it trains from the start. Only a name with no folder is a typo.
    if resume and not path.is_dir():
        raise BadInput(f"--resume: there is no run {name!r} in {runs_dir} to resume; leave out --resume to start it")
    fresh = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG):
            raise BadInput(f"cannot make run directory {path}: {exc.strerror}") from None
        raise WorkFailed(f"cannot create {path}: {exc.strerror or exc}") from None
    return RunDir(path, fresh=fresh)


def _with_defaults(saved: Any) -> dict[str, Any]:
    """A checkpoint's config with the fields it predates at their defaults (issue 12 added some).

    A config that does not parse is compared as saved, so the difference names what is wrong.
    """
    if not isinstance(saved, dict):
        return {}
    try:
        return ExperimentConfig.from_dict(saved).to_dict()
    except CnnReportError:
        return saved
