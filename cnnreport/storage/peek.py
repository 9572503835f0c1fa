"""A checkpoint's plain fields (config, epoch), read without torch.

The report checks that a run's checkpoint belongs to its config.json, but must not load torch
to do so. A torch checkpoint is a zip archive whose `data.pkl` holds the state dict; this
unpickler rebuilds only plain Python values from it. Every torch object (tensors, storages)
comes back as an inert placeholder and any other class is refused, so no code of the file's
choosing runs.
"""

from __future__ import annotations

import collections
import pickle
import zipfile
from pathlib import Path
from typing import Any

from cnnreport.storage.reading import open_regular


class _Inert:
    """Stands in for a tensor or storage: takes any arguments or state, does nothing."""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def __setstate__(self, _state: Any) -> None:
        pass


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module.split(".")[0] == "torch":
            return _Inert
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a checkpoint")

    def persistent_load(self, _pid: Any) -> Any:
        return None  # tensor data lives in other members of the archive; never read


def plain_fields(path: Path) -> dict[str, Any] | None:
    """The checkpoint's top-level dict with tensors as placeholders; None when it cannot be read so."""
    try:
        with open_regular(path) as handle, zipfile.ZipFile(handle) as archive:
            member = next(name for name in archive.namelist() if name.endswith("/data.pkl") or name == "data.pkl")
            with archive.open(member) as pickled:
                state = _PlainUnpickler(pickled).load()
    except Exception:  # noqa: BLE001 - damaged, foreign or hostile: the caller treats it as unreadable
        return None
    return state if isinstance(state, dict) else None
