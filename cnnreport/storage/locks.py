"""The advisory lock a run holds while it trains (flock: the kernel drops it when the process dies)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from cnnreport.errors import RunError
from cnnreport.storage.atomic import open_no_follow, refuse_link, write_failure


@contextlib.contextmanager
def hold(folder: Path, lock_file: Path, run_name: str) -> Iterator[None]:
    """Hold the lock for the duration; refuse if another live process holds it, or if either is a link."""
    refuse_link(folder)
    try:
        fd = open_no_follow(lock_file, os.O_RDWR | os.O_CREAT)
    except OSError as exc:
        raise write_failure(lock_file, exc, lock_file.exists()) from None
    handle = os.fdopen(fd, "r+b", buffering=0)
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
    try:  # read-only: works on a read-only runs dir too; a symbolic link is never our lock, and a
        # planted FIFO must not keep the open waiting for a writer (O_NONBLOCK)
        fd = os.open(lock_file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
