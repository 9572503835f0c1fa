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
import math
import os
import pickle
import pickletools
import secrets
import time
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnreport.config import ExperimentConfig
from cnnreport.errors import BadInput, RunError, WorkFailed

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
MAX_JSON_BYTES = 64 * 1024**2  # our largest document is well under 1 MB
MAX_JSON_DEPTH = 32  # our documents nest 5 deep; deeper ones are not ours
NAME_MAX = 255  # bytes in one file name on every common Linux file system
TEMP_MARK = ".cnnreport-"  # temp files are named .<target>.cnnreport-<random>.tmp


def default_runs_dir() -> Path:
    return Path(os.environ.get("CNNREPORT_RUNS_DIR", "runs"))


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
        data = _parse_json(path)
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
        nulls: dict[str, str] = {}
        clean = _finite_only({"schema_version": SCHEMA_VERSION, **data}, "", nulls)
        if nulls:
            clean["nulls"] = {where: f"was {value}, which JSON cannot hold" for where, value in nulls.items()}
        text = json.dumps(clean, indent=2, allow_nan=False)
        self._write(path, lambda f: f.write(text.encode()))

    def _write(self, path: Path, write: Any) -> None:
        """atomic_write into this run dir, which must not be a symbolic link either."""
        _refuse_link(self.path)
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
        self._write(path, lambda f: np.savez_compressed(f, **arrays))  # type: ignore[arg-type]

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
        self._write(self.checkpoint_file, lambda f: f.write(buffer.getbuffer()))

    def load_checkpoint(self) -> dict[str, Any]:
        """Load the checkpoint with weights_only=True: tensors and primitives, never code."""
        path = self.checkpoint_file
        if not path.exists():
            raise RunError(f"{path}: no checkpoint (was the run trained?)")
        try:
            with warnings.catch_warnings():  # torch's advice is not for our users; our line says it all
                warnings.simplefilter("ignore")
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
        mean, std = state["normalization"]
        if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
            raise RunError(f"{path}: checkpoint's normalization (mean {mean}, std {std}) needs finite values, std > 0")
        if not all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point()):
            raise RunError(f"{path}: checkpoint's weights hold NaN or infinite values")
        return state

    def check_checkpoint(self, state: dict[str, Any]) -> None:
        """Refuse a checkpoint whose config is not the one in this run's config.json."""
        ours = self.read_config().to_dict()
        theirs = state.get("config", {})
        differences = [f"{k} {theirs.get(k)!r} vs {ours[k]!r}" for k in ours if theirs.get(k) != ours[k]]
        differences += [f"{k} {theirs[k]!r} vs none" for k in theirs if k not in ours]
        if differences:
            raise RunError(
                f"{self.checkpoint_file} does not belong to this run: its config differs from "
                f"{self.config_file} in {', '.join(differences)}"
            )

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

    # ---- locking --------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's lock for the duration; refuse if another live process holds it."""
        _refuse_link(self.path)
        try:
            fd = _open_no_follow(self.lock_file, os.O_RDWR | os.O_CREAT)
        except OSError as exc:
            raise _write_failure(self.lock_file, exc, self.lock_file.exists()) from None
        handle = os.fdopen(fd, "r+b", buffering=0)
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
        try:  # read-only: works on a read-only runs dir too; a symbolic link is never our lock
            fd = os.open(self.lock_file, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False


def atomic_write(path: Path, write: Any) -> None:
    """Write via a fresh temp file in the same folder, fsync, then rename over the target.

    The target may not be a symbolic link, and stale temps of killed writers are removed first.
    """
    _refuse_link(path)
    remove_stale_temps(path.parent)
    existed = path.exists()
    try:
        fd, temp = _create_temp(path)
    except OSError as exc:
        raise _write_failure(path, exc, existed) from None
    try:
        with os.fdopen(fd, "wb") as handle:  # closing it also drops the temp's liveness lock
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
            if os.environ.get(PAUSE_BEFORE_RENAME):
                time.sleep(float(os.environ[PAUSE_BEFORE_RENAME]))
            os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise _write_failure(path, exc, existed) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new temp file beside `path`, locked while its writer lives.

    A random name created with O_EXCL and O_NOFOLLOW: a planted file or link of any name
    makes the open fail instead of redirecting the write. The lock tells stale temps
    (writer killed) from live ones; a cleaner that took an unlocked new temp is detected.
    """
    for _attempt in range(16):
        temp = path.parent / f".{path.name}{TEMP_MARK}{secrets.token_hex(6)}.tmp"
        try:
            fd = _open_new(temp)
        except FileExistsError:
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        with contextlib.suppress(OSError):
            if os.stat(temp, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                return fd, temp
        os.close(fd)
    raise OSError(errno.EEXIST, "no free temp file name")


def _open_new(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)


def remove_stale_temps(folder: Path) -> None:
    """Delete temp files of atomic writes whose writer died (a live writer holds its temp's lock)."""
    with contextlib.suppress(OSError):
        for temp in folder.glob(f".*{TEMP_MARK}*.tmp"):
            try:
                fd = os.open(temp, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(temp)
            except OSError:  # locked by a live writer, or already renamed into place
                pass
            finally:
                os.close(fd)


def _open_no_follow(path: Path, flags: int) -> int:
    """os.open that refuses a symbolic link at `path` with one clear line."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            _refuse_link(path)
        raise


def _refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise RunError(f"{path} is a symbolic link; cnnreport never writes through one (remove it and retry)")


def _parse_json(path: Path) -> Any:
    """The parsed document, or a RunError naming the file for anything we would not trust."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise RunError(f"{path}: too large for a cnnreport file ({path.stat().st_size:,} bytes)")
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: bad JSON, 5000-digit numbers
        raise RunError(f"{path}: not valid JSON ({str(exc)[:200]})") from None
    except (RecursionError, MemoryError):
        raise RunError(f"{path}: not a cnnreport file (nested too deeply or too large to read)") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise RunError(f"{path}: not a cnnreport file (nested more than {MAX_JSON_DEPTH} levels deep)")
    return data


def _depth(data: Any) -> int:
    """How deeply lists and objects nest, found without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _finite_only(value: Any, where: str, nulls: dict[str, str]) -> Any:
    """A copy with every NaN or infinity replaced by None; `nulls` records where and what."""
    if isinstance(value, float) and not math.isfinite(value):
        nulls[where or "/"] = str(value)
        return None
    if isinstance(value, dict):
        return {k: _finite_only(v, f"{where}/{k}", nulls) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_only(v, f"{where}/{i}", nulls) for i, v in enumerate(value)]
    return value


def _check_metrics(path: Path, epochs: Any) -> list[dict[str, float]]:
    """Metrics are a list of rows numbered 1, 2, ... holding a number for each METRIC_FIELDS."""
    if not isinstance(epochs, list) or not all(isinstance(row, dict) for row in epochs):
        raise RunError(f"{path}: metrics must be a list of objects, one per epoch")
    for number, row in enumerate(epochs, 1):
        if not all(_is_number(row.get(field)) for field in METRIC_FIELDS) or row["epoch"] != number:
            raise RunError(f"{path}: metrics of epoch {number} need numbers {', '.join(METRIC_FIELDS)}")
    return epochs


def _unloadable(path: Path, exc: Exception) -> str:
    """One line on why torch.load refused a checkpoint, told by the exception's type, not its text."""
    if isinstance(exc, pickle.UnpicklingError):  # the weights-only unpickler met something else
        foreign = _foreign_globals(path)
        if foreign is None:
            return f"{path}: unreadable checkpoint (damaged, or not a torch checkpoint)"
        detail = f" (it would import {', '.join(foreign[:3])})" if foreign else ""
        return f"{path}: refused: it holds more than tensors and plain data{detail}; loading it could run code"
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{path}: unreadable checkpoint ({type(exc).__name__}: {first_line[:200]})"


def _foreign_globals(path: Path) -> list[str] | None:
    """The Python objects a checkpoint's pickle would import beyond torch's; None if unparsable."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                member = next(n for n in archive.namelist() if n.endswith("data.pkl"))
                data = archive.read(member)
        else:
            data = path.read_bytes()
        strings: list[str] = []
        names = []
        for opcode, arg, _pos in pickletools.genops(data):
            if isinstance(arg, str):
                strings.append(arg)
            if opcode.name == "GLOBAL":
                names.append(str(arg).replace(" ", "."))
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
    except Exception:  # noqa: BLE001 - any failure to parse means "damaged"
        return None
    plain = ("torch.", "collections.OrderedDict", "_codecs.encode")
    return [name for name in dict.fromkeys(names) if not name.startswith(plain)]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _write_failure(path: Path, exc: OSError, existed: bool = True) -> WorkFailed:
    reason = {errno.ENOSPC: "disk full", errno.EROFS: "read-only file system", errno.EACCES: "permission denied"}
    why = reason.get(exc.errno or 0, exc.strerror or str(exc))
    if not existed:
        return WorkFailed(f"cannot create {path}: {why}")
    return WorkFailed(f"cannot write {path}: {why}; the previous version is untouched")


def check_output(path: Path) -> None:
    """Refuse, before any work, an output file that could not be written (bad input, exit 2)."""
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a directory; give a file name")
    _refuse_link(path)
    if not path.parent.is_dir():
        raise BadInput(f"cannot write {path}: folder {path.parent} does not exist")
    if len(path.name.encode()) > NAME_MAX:
        raise BadInput(f"cannot write {path}: the file name is longer than {NAME_MAX} bytes")
    try:
        fd, temp = _create_temp(path)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(temp)


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
    """The run dir `name` in runs_dir, made if absent; names and places that cannot hold one are bad input."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise RunError(f"invalid run name {name!r}")
    if len(name.encode()) > NAME_MAX:
        raise RunError(f"invalid run name: {len(name.encode())} bytes, longer than the {NAME_MAX} a file name may have")
    if runs_dir.exists() and not runs_dir.is_dir():
        raise BadInput(f"--runs-dir {runs_dir} is a file, not a folder")
    path = runs_dir / name
    _refuse_link(path)
    if path.exists() and not path.is_dir():
        raise BadInput(f"{path} exists and is not a run directory; choose another --name")
    fresh = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG):
            raise BadInput(f"cannot make run directory {path}: {exc.strerror}") from None
        raise WorkFailed(f"cannot create {path}: {exc.strerror or exc}") from None
    return RunDir(path, fresh=fresh)
