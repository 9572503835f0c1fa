"""Atomic writes: a fresh temp file in the same folder, fsync, rename; and cleanup of what a kill left.

Every file is either its old complete version or its new complete one, never half of one.
No write goes through a symbolic link: a planted link or file makes the write fail instead
of redirecting it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from cnnreport.errors import BadInput, RunError, WorkFailed, os_reason

# Seconds every atomic write waits between fsync and rename, so a test's kill lands there. Only
# tests set it (tests/faults/slowed_cli.py): no environment variable reaches it in production.
pause_before_rename = 0.0
NAME_MAX = 255  # bytes in one file name on every common Linux file system
TEMP_MARK = ".cnnreport-"  # temp files are named .<target>.cnnreport-<random>.tmp


def is_entry_name(name: object) -> bool:
    """Whether `name` can only name an entry of a folder: not a path, not '.' or '..', not too long."""
    return (
        isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\0" not in name
        and len(name.encode(errors="replace")) <= NAME_MAX
    )  # fmt: skip


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write via a fresh temp file in the same folder, fsync, then rename over the target.

    The target may not be a symbolic link, and stale temps of killed writers are removed first.
    """
    refuse_link(path)
    remove_stale_temps(path.parent)
    existed = path.exists()
    try:
        fd, temp = _create_temp(path)
    except OSError as exc:
        raise write_failure(path, exc, existed) from None
    try:
        with os.fdopen(fd, "wb") as handle:  # closing it also drops the temp's liveness lock
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
            if pause_before_rename:
                time.sleep(pause_before_rename)
            os.replace(temp, path)
    except OSError as exc:
        _discard(temp)
        raise write_failure(path, exc, existed) from None
    except BaseException:
        _discard(temp)
        raise


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new temp file beside `path`, locked while its writer lives.

    A random name created with O_EXCL and O_NOFOLLOW: a planted file or link of any name
    makes the open fail instead of redirecting the write. The lock tells stale temps
    (writer killed) from live ones; a cleaner that took an unlocked new temp is detected.
    A Ctrl-C can land right after the open made the file, so every step past the open
    removes the temp when it is interrupted: the random name is known to be ours.
    """
    for _attempt in range(16):
        temp = path.parent / f".{path.name}{TEMP_MARK}{secrets.token_hex(6)}.tmp"
        try:
            fd = _open_new(temp)
        except FileExistsError:
            continue
        except BaseException:
            _discard(temp)
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _still_named(temp, fd):
                return fd, temp
        except BaseException:
            os.close(fd)
            _discard(temp)
            raise
        os.close(fd)
    raise OSError(errno.EEXIST, "no free temp file name")


def _still_named(temp: Path, fd: int) -> bool:
    """Whether `temp` still names the file open as `fd` (a cleaner may have removed it before the lock)."""
    try:
        return os.stat(temp, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except OSError:
        return False


def _discard(temp: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temp)


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


def open_no_follow(path: Path, flags: int) -> int:
    """os.open that refuses a symbolic link at `path` with one clear line."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            refuse_link(path)
        raise


def refuse_link(path: Path) -> None:
    """Bad input when `path` is a symbolic link: cnnreport never writes through one."""
    if path.is_symlink():
        raise RunError(f"{path} is a symbolic link; cnnreport never writes through one (remove it and retry)")


def write_failure(path: Path, exc: OSError, existed: bool = True) -> WorkFailed:
    """The one-line error for a failed write, naming the cause a user can act on."""
    reason = {errno.ENOSPC: "disk full", errno.EROFS: "read-only file system", errno.EACCES: "permission denied"}
    why = reason.get(exc.errno or 0, exc.strerror or str(exc))
    if not existed:
        return WorkFailed(f"cannot create {path}: {why}")
    return WorkFailed(f"cannot write {path}: {why}; the previous version is untouched")


def check_output(path: Path) -> None:
    """Refuse, before any work, an output file that could not be written (bad input, exit 2)."""
    try:
        _check_writable_file(path)
    except OSError as exc:  # a name longer than the system allows, a folder that is a file, ...
        raise BadInput(f"cannot write {path}: {os_reason(exc)}") from None


def _check_writable_file(path: Path) -> None:
    if path.is_dir():
        raise BadInput(f"cannot write {path}: it is a directory; give a file name")
    refuse_link(path)
    if path.exists() and not path.is_file():  # a named pipe would block, a device would take the report
        raise BadInput(f"cannot write {path}: it is {_special_kind(path)}, not a regular file")
    if not path.parent.is_dir():
        raise BadInput(f"cannot write {path}: folder {path.parent} does not exist")
    if len(path.name.encode()) > NAME_MAX:
        raise BadInput(f"cannot write {path}: the file name is longer than {NAME_MAX} bytes")
    fd, temp = _create_temp(path)
    try:
        os.close(fd)
    finally:
        _discard(temp)


def _special_kind(path: Path) -> str:
    mode = path.stat().st_mode
    kinds = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))
    return next((name for test, name in kinds if test(mode)), "a socket or other special file")
