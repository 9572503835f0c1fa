"""Reading files cnnreport did not necessarily write: regular files only, never more than a limit.

A run folder, a sweep folder or a file named on the command line may hold a FIFO (whose read
waits forever for a writer) or a device such as /dev/zero (whose read never ends, while its
size says 0). So a file is checked to be a regular file before it is opened and again on the
open handle (it may be swapped in between), opened without waiting for a writer, and read no
further than the limit: what is read is counted, not what `st_size` claims.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from cnnreport.errors import RunError

KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
         stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}  # fmt: skip


def open_regular(path: Path) -> BinaryIO:
    """`path` open for reading when it is a regular file (a link to one is fine); RunError otherwise.

    OSErrors of the open itself (missing, permission denied) are the caller's to word.
    """
    _refuse_special(path, os.stat(path).st_mode)  # before opening: opening a device can have effects
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO opens without waiting
    try:
        _refuse_special(path, os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file `path`; RunError when it holds more than `limit` bytes."""
    with open_regular(path) as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise RunError(f"{path}: larger than the {limit:,} bytes cnnreport reads from such a file")
    return content


def _refuse_special(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise RunError(f"{path} is {kind}, not a regular file; cnnreport reads only regular files")
