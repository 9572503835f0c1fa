"""The error types the CLI turns into one-line messages and exit codes.

Exit codes: 0 success, 1 failure during work, 2 bad usage or bad input.
"""


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
