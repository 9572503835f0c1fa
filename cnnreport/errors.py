"""The error types the CLI turns into one-line messages and exit codes.

Exit codes: 0 success, 1 failure during work, 2 bad usage or bad input.
"""

import errno


class CnnReportError(Exception):
    """Base class: a failure the user should see as one line, never a traceback."""

    exit_code = 1


class BadInput(CnnReportError):
    """The user asked for something impossible, or a file we read is not valid."""

    exit_code = 2


class DataError(BadInput):
    """A dataset file is missing, truncated or malformed."""


class RunError(BadInput):
    """A run directory is missing, locked, or holds files we cannot trust."""


class WorkFailed(CnnReportError):
    """The work itself failed (disk full, read-only folder, ...)."""

    exit_code = 1


# What an OSError nobody caught means to a user; a name or place the user chose is bad input.
_OS_REASONS = {
    errno.ENAMETOOLONG: ("name too long for the file system", BadInput),
    errno.ENOTDIR: ("a file stands where a folder is needed", BadInput),
    errno.EEXIST: ("already exists", BadInput),
    errno.EISDIR: ("is a folder, not a file", BadInput),
    errno.ENOENT: ("no such file or folder", BadInput),
    errno.ELOOP: ("too many symbolic links", BadInput),
    errno.EACCES: ("permission denied", WorkFailed),
    errno.EPERM: ("operation not permitted", WorkFailed),
    errno.ENOSPC: ("no space left on the device", WorkFailed),
    errno.EDQUOT: ("disk quota exceeded", WorkFailed),
    errno.EROFS: ("read-only file system", WorkFailed),
    errno.EIO: ("input/output error", WorkFailed),
}


def os_reason(exc: OSError) -> str:
    """The cause of an OSError in a few plain words."""
    known = _OS_REASONS.get(exc.errno or 0)
    return known[0] if known else (exc.strerror or str(exc)).lower()


def from_os_error(exc: OSError, doing: str = "") -> CnnReportError:
    """An OSError as cnnreport's one line: what was being done, the file, the cause; exit 2 or 1."""
    kind = _OS_REASONS.get(exc.errno or 0, ("", WorkFailed))[1]
    if exc.filename is None:
        return kind(f"{doing or 'the operating system refused'}: {os_reason(exc)}")
    where = f"{doing or 'cannot use'} {exc.filename}"
    return kind(f"{where}: {os_reason(exc)}")
