"""Atomic writes: a temp file in the same folder, fsync, rename; and cleanup of what a kill left.

Every file is either its old complete version or its new complete one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from cnnreport.errors import WorkFailed

# Tests set this to hold every atomic write between fsync and rename, so a kill lands there.
PAUSE_BEFORE_RENAME = "CNNREPORT_TEST_PAUSE_BEFORE_RENAME"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once at import: os.umask can only be read by setting it


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write via a temp file in the same folder, fsync, then rename over the target."""
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes files private; run files and reports are meant to be shared
    except OSError as exc:
        raise write_failure(path, exc) from None
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
        raise write_failure(path, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def remove_stale_temps(targets: Iterable[Path]) -> None:
    """Delete the temp files a killed atomic_write of these targets left behind (hold their lock)."""
    for target in targets:
        for temp in target.parent.glob(f".{target.name}.*.tmp"):
            with contextlib.suppress(OSError):
                temp.unlink()


def write_failure(path: Path, exc: OSError) -> WorkFailed:
    """The one-line error for a failed write, naming the cause a user can act on."""
    reason = {errno.ENOSPC: "disk full", errno.EROFS: "read-only file system", errno.EACCES: "permission denied"}
    why = reason.get(exc.errno or 0, exc.strerror or str(exc))
    return WorkFailed(f"cannot write {path}: {why}; the previous version is untouched")
