"""Looking into a runs dir: what it holds, and places where a folder must be but something else is.

A runs dir may hold folders we may not read (another user's, a chmod gone wrong): they are
reported as unreadable by whoever reads them, never a crash while listing.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnnreport.errors import BadInput, RunError, os_reason


def runs_dir_entries(runs_dir: Path) -> list[Path]:
    """What runs_dir holds, sorted ([] when it does not exist); a file there is bad input."""
    refuse_non_folder(runs_dir, "runs dir")
    if not runs_dir.is_dir():
        return []
    try:
        return sorted(runs_dir.iterdir())
    except OSError as exc:
        raise RunError(f"cannot read runs dir {runs_dir}: {os_reason(exc)}") from None


def holds_file(folder: Path, name: str) -> bool | None:
    """Whether `folder` holds the file `name`; None when the folder cannot be looked into."""
    try:
        return (folder / name).is_file()
    except OSError:  # permission denied: a run or sweep we may not read
        return None


def refuse_non_folder(path: Path, what: str) -> None:
    """A file (or anything but a folder) where a folder must be is bad input, said before any work."""
    if path.exists() and not path.is_dir():
        raise BadInput(f"{what} {path} is a file, not a folder; give a folder")


def folder_from_environment(variable: str, default: str) -> Path:
    """The folder an environment variable names, or `default` when it is unset.

    Set but empty (`CNNREPORT_RUNS_DIR=`) is refused: read as a path it would silently mean the
    current folder, and a command would then write run folders wherever it was started.
    """
    value = os.environ.get(variable)
    if value is None:
        return Path(default)
    if not value.strip():
        raise BadInput(f"{variable} is set but empty; unset it (for ./{default}) or set it to a folder")
    return Path(value)
