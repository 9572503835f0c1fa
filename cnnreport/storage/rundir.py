"""The run directory: the only module that knows its file names and their schema.

Every write is atomic (temp file in the same folder, fsync, rename), so each file is
either its old complete version or its new complete one. A run holds an advisory lock
while it trains; the kernel drops the lock when the process dies, so a killed run never
blocks the next one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnreport.config import ExperimentConfig
from cnnreport.errors import RunError, WorkFailed

SCHEMA_VERSION = 1
STATUSES = ("running", "finished", "failed", "interrupted")
METRIC_FIELDS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds")
CHECKPOINT_TYPES = {
    "model": dict,
    "optimizer": dict,
    "config": dict,
    "epoch": int,
    "metrics": list,
    "normalization": list,
}
# Tests set this to hold every atomic write between fsync and rename, so a kill lands there.
PAUSE_BEFORE_RENAME = "CNNREPORT_TEST_PAUSE_BEFORE_RENAME"


def default_runs_dir() -> Path:
    return Path(os.environ.get("CNNREPORT_RUNS_DIR", "runs"))


@dataclass(frozen=True)
class RunDir:
    """Paths and typed access to one run's files."""

    path: Path

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
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise RunError(f"{path}: missing") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RunError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or "schema_version" not in data:
            raise RunError(f"{path}: not a cnnreport file (no schema_version)")
        if data["schema_version"] != SCHEMA_VERSION:
            raise RunError(
                f"{path}: schema version {data['schema_version']!r} is not supported "
                f"(this cnnreport reads version {SCHEMA_VERSION})"
            )
        return data

    def write_json(self, path: Path, data: dict[str, Any]) -> None:
        text = json.dumps({"schema_version": SCHEMA_VERSION, **data}, indent=2, allow_nan=True)
        atomic_write(path, lambda f: f.write(text.encode()))

    def read_config(self) -> ExperimentConfig:
        data = self.read_json(self.config_file)
        config = data.get("config")
        if not isinstance(config, dict):
            raise RunError(f"{self.config_file}: no 'config' object")
        try:
            return ExperimentConfig.from_dict(config)
        except Exception as exc:
            raise RunError(f"{self.config_file}: {exc}") from None

    def write_config(self, config: ExperimentConfig, command: str) -> None:
        self.write_json(self.config_file, {"config": config.to_dict(), "command": command})

    def read_command(self) -> str:
        return str(self.read_json(self.config_file).get("command", ""))

    def read_metrics(self) -> list[dict[str, float]]:
        return _check_metrics(self.metrics_file, self.read_json(self.metrics_file).get("epochs"))

    def write_metrics(self, epochs: list[dict[str, float]]) -> None:
        self.write_json(self.metrics_file, {"epochs": epochs})

    def read_status(self) -> dict[str, Any]:
        """The run's status record; a 'running' run whose lock is free was interrupted."""
        if not self.status_file.exists():
            return {"status": "missing"}
        status = self.read_json(self.status_file)
        if status.get("status") == "running" and not self.is_locked():
            status["status"] = "interrupted"
        return status

    def write_status(self, status: str, **details: Any) -> None:
        assert status in STATUSES
        self.write_json(self.status_file, {"status": status, **details})

    # ---- arrays and checkpoints -----------------------------------------------------
    def write_arrays(self, path: Path, **arrays: np.ndarray) -> None:
        atomic_write(path, lambda f: np.savez_compressed(f, **arrays))  # type: ignore[arg-type]

    def read_arrays(self, path: Path) -> dict[str, np.ndarray]:
        """Load an .npz written by write_arrays; never unpickles objects."""
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        except FileNotFoundError:
            raise RunError(f"{path}: missing") from None
        except Exception as exc:
            raise RunError(f"{path}: unreadable ({exc})") from None

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        # Serialised in memory first: torch.save turns a failed file write (disk full) into
        # an opaque RuntimeError, while a plain write raises the OSError atomic_write reports.
        buffer = io.BytesIO()
        torch.save({"schema_version": SCHEMA_VERSION, **state}, buffer)
        atomic_write(self.checkpoint_file, lambda f: f.write(buffer.getbuffer()))

    def load_checkpoint(self) -> dict[str, Any]:
        """Load the checkpoint with weights_only=True: tensors and primitives, never code."""
        path = self.checkpoint_file
        if not path.exists():
            raise RunError(f"{path}: no checkpoint (was the run trained?)")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise RunError(_unloadable(path, exc)) from None
        if not isinstance(state, dict) or state.get("schema_version") != SCHEMA_VERSION:
            raise RunError(f"{path}: not a cnnreport checkpoint of schema version {SCHEMA_VERSION}")
        for key, kind in CHECKPOINT_TYPES.items():
            if key not in state:
                raise RunError(f"{path}: checkpoint lacks {key!r}")
            if not isinstance(state[key], kind) or isinstance(state[key], bool):
                raise RunError(f"{path}: checkpoint's {key!r} is not a {kind.__name__}")
        if not all(isinstance(v, torch.Tensor) for v in state["model"].values()):
            raise RunError(f"{path}: checkpoint's 'model' holds something other than tensors")
        _check_metrics(path, state["metrics"])
        if not 1 <= state["epoch"] == len(state["metrics"]):
            raise RunError(f"{path}: checkpoint's epoch {state['epoch']} disagrees with its metrics")
        if len(state["normalization"]) != 2 or not all(_is_number(v) for v in state["normalization"]):
            raise RunError(f"{path}: checkpoint's 'normalization' is not a (mean, std) pair")
        return state

    def remove_stale_temps(self) -> None:
        """Delete temp files a killed writer of the training files left behind (hold the lock)."""
        for target in (self.config_file, self.status_file, self.metrics_file, self.checkpoint_file):
            for temp in self.path.glob(f".{target.name}.*.tmp"):
                with contextlib.suppress(OSError):
                    temp.unlink()

    # ---- locking --------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's lock for the duration; refuse if another live process holds it."""
        try:
            handle = open(self.lock_file, "a+b", buffering=0)  # noqa: SIM115 - closed in finally
        except OSError as exc:
            raise _write_failure(self.lock_file, exc) from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().decode(errors="replace").strip() or "another process"
                raise RunError(f"run {self.name!r} is in use by {holder}; wait for it or pick another --name") from None
            with contextlib.suppress(OSError):  # the holder's name is a courtesy; a full disk may refuse it
                handle.truncate(0)
                handle.write(f"process {os.getpid()}".encode())
            yield
        finally:
            handle.close()

    def is_locked(self) -> bool:
        if not self.lock_file.exists():
            return False
        with open(self.lock_file) as handle:  # read-only: works on a read-only runs dir too
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once at import: os.umask can only be read by setting it


def atomic_write(path: Path, write: Any) -> None:
    """Write via a temp file in the same folder, fsync, then rename over the target."""
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes files private; run files are meant to be shared
    except OSError as exc:
        raise _write_failure(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if os.environ.get(PAUSE_BEFORE_RENAME):
            time.sleep(float(os.environ[PAUSE_BEFORE_RENAME]))
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise _write_failure(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _check_metrics(path: Path, epochs: Any) -> list[dict[str, float]]:
    """Metrics are a list of rows numbered 1, 2, ... holding a number for each METRIC_FIELDS."""
    if not isinstance(epochs, list) or not all(isinstance(row, dict) for row in epochs):
        raise RunError(f"{path}: metrics must be a list of objects, one per epoch")
    for number, row in enumerate(epochs, 1):
        if not all(_is_number(row.get(field)) for field in METRIC_FIELDS) or row["epoch"] != number:
            raise RunError(f"{path}: metrics of epoch {number} need numbers {', '.join(METRIC_FIELDS)}")
    return epochs


def _unloadable(path: Path, exc: Exception) -> str:
    """One line on why torch.load refused a checkpoint, without torch's advice to load it unsafely."""
    text = str(exc)
    if "WeightsUnpickler error:" in text:
        detail = text.split("WeightsUnpickler error:", 1)[1].strip().splitlines()[0].split(". ")[0]
        return f"{path}: refused: it holds more than tensors and plain data ({detail}); loading it could run code"
    first_line = (text.strip().splitlines() or [""])[0]
    return f"{path}: unreadable checkpoint ({type(exc).__name__}: {first_line[:200]})"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _write_failure(path: Path, exc: OSError) -> WorkFailed:
    reason = {errno.ENOSPC: "disk full", errno.EROFS: "read-only file system", errno.EACCES: "permission denied"}
    why = reason.get(exc.errno or 0, exc.strerror or str(exc))
    return WorkFailed(f"cannot write {path}: {why}; the previous version is untouched")


def resolve_run(run: str, runs_dir: Path) -> RunDir:
    """A run given by name (inside runs_dir) or by path; it must hold a config."""
    candidates = [runs_dir / run, Path(run)]
    for candidate in candidates:
        if (candidate / "config.json").is_file():
            return RunDir(candidate)
    raise RunError(f"unknown run {run!r}: no run directory with a config.json at {runs_dir / run} or {run}")


def list_runs(runs_dir: Path) -> list[RunDir]:
    """All run directories under runs_dir, sorted by name."""
    if not runs_dir.is_dir():
        return []
    return [RunDir(p) for p in sorted(runs_dir.iterdir()) if (p / "config.json").is_file()]


def create_run(runs_dir: Path, name: str) -> RunDir:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise RunError(f"invalid run name {name!r}")
    try:
        (runs_dir / name).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_failure(runs_dir / name, exc) from None
    return RunDir(runs_dir / name)
