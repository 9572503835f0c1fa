"""The advisory lock a run holds while it trains (flock: the kernel drops it when the process dies)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from cnnreport.errors import RunError
from cnnreport.storage.atomic import write_failure


@contextlib.contextmanager
def hold(lock_file: Path, run_name: str) -> Iterator[None]:
    """Hold the lock for the duration; refuse if another live process holds it."""
    try:
        handle = open(lock_file, "a+b", buffering=0)  # noqa: SIM115 - closed in finally
    except OSError as exc:
        raise write_failure(lock_file, exc) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().decode(errors="replace").strip() or "another process"
            raise RunError(f"run {run_name!r} is in use by {holder}; wait for it or pick another --name") from None
        with contextlib.suppress(OSError):  # the holder's name is a courtesy; a full disk may refuse it
            handle.truncate(0)
            handle.write(f"process {os.getpid()}".encode())
        yield
    finally:
        handle.close()


def is_held(lock_file: Path) -> bool:
    """Whether a live process holds the lock (a killed holder's lock is free)."""
    if not lock_file.exists():
        return False
    with open(lock_file) as handle:  # read-only: works on a read-only runs dir too
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
