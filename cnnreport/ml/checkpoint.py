"""The checkpoint file: self-describing, primitives and tensors only, loaded with weights_only=True."""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from cnnreport.errors import RunError
from cnnreport.storage.reading import open_regular
from cnnreport.storage.rundir import SCHEMA_VERSION, RunDir, check_metrics, is_number

CHECKPOINT_TYPES = {
    "model": dict,
    "optimizer": dict,
    "config": dict,
    "epoch": int,
    "metrics": list,
    "normalization": list,
}


def save_checkpoint(run: RunDir, state: dict[str, Any]) -> None:
    """Write the run's checkpoint atomically."""
    # Serialised in memory first: torch.save turns a failed file write (disk full) into
    # an opaque RuntimeError, while a plain write raises the OSError atomic_write reports.
    buffer = io.BytesIO()
    torch.save({"schema_version": SCHEMA_VERSION, **state}, buffer)
    run.write_file(run.checkpoint_file, lambda f: f.write(buffer.getbuffer()))


def load_checkpoint(run: RunDir) -> dict[str, Any]:
    """Load the checkpoint with weights_only=True: tensors and primitives, never code."""
    path = run.checkpoint_file
    if not path.exists():
        raise RunError(f"{path}: no checkpoint (was the run trained?)")
    try:
        with warnings.catch_warnings():  # torch's advice is not for our users; our line says it all
            warnings.simplefilter("ignore")
            with open_regular(path) as handle:
                state = torch.load(handle, map_location="cpu", weights_only=True)
    except RunError:
        raise
    except Exception as exc:
        raise RunError(_unloadable(path, exc)) from None
    if not isinstance(state, dict) or state.get("schema_version") != SCHEMA_VERSION:
        raise RunError(f"{path}: not a cnnreport checkpoint of schema version {SCHEMA_VERSION}")
    _check_fields(path, state)
    return state


def _check_fields(path: Path, state: dict[str, Any]) -> None:
    """Every field present, of its type, and consistent with the others."""
    for key, kind in CHECKPOINT_TYPES.items():
        if key not in state:
            raise RunError(f"{path}: checkpoint lacks {key!r}")
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise RunError(f"{path}: checkpoint's {key!r} is not a {kind.__name__}")
    for key in ("model", "trained_model"):  # trained_model: beside an --ema run's average
        tensors = state.get(key, {})
        if not isinstance(tensors, dict) or not all(isinstance(v, torch.Tensor) for v in tensors.values()):
            raise RunError(f"{path}: checkpoint's {key!r} holds something other than tensors")
    check_metrics(path, state["metrics"])
    if not 1 <= state["epoch"] == len(state["metrics"]):
        raise RunError(f"{path}: checkpoint's epoch {state['epoch']} disagrees with its metrics")
    if not isinstance(state.get("scheduler", {}), dict):  # absent: constant LR, or saved before schedules
        raise RunError(f"{path}: checkpoint's 'scheduler' is not a dict")
    updates = state.get("average_updates", 0)  # absent: no --ema, or saved before its warm-up
    if not isinstance(updates, int) or isinstance(updates, bool) or updates < 0:
        raise RunError(f"{path}: checkpoint's 'average_updates' is not a count")
    if len(state["normalization"]) != 2 or not all(is_number(v) for v in state["normalization"]):
        raise RunError(f"{path}: checkpoint's 'normalization' is not a (mean, std) pair")
    mean, std = state["normalization"]
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise RunError(f"{path}: checkpoint's normalization (mean {mean}, std {std}) needs finite values, std > 0")
    weights = [*state["model"].values(), *state.get("trained_model", {}).values()]
    if not all(torch.isfinite(v).all() for v in weights if v.is_floating_point()):
        raise RunError(f"{path}: checkpoint's weights hold NaN or infinite values")


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
