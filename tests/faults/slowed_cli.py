"""`python -m tests.faults.slowed_cli ARGS`: cnnreport with every atomic write held before its rename.

The pause is the tests' hook, not a setting: cnnreport itself reads no environment variable for
it, so a stray or malformed value in a user's environment changes nothing. Its length comes from
PAUSE_BEFORE_RENAME in the environment and is set when this module is imported, so worker
processes, which `spawn` starts by importing their parent's main module, are slowed too.
"""

from __future__ import annotations

import os
import sys

from cnnreport.storage import atomic

PAUSE_BEFORE_RENAME = "CNNREPORT_TEST_PAUSE_BEFORE_RENAME"
if PAUSE_BEFORE_RENAME in os.environ:
    atomic.pause_before_rename = float(os.environ[PAUSE_BEFORE_RENAME])


def slowed_command(*args: object) -> list[str]:
    """The command line of `cnnreport ARGS` with slowed writes (set PAUSE_BEFORE_RENAME in its environment)."""
    return [sys.executable, "-m", "tests.faults.slowed_cli", *map(str, args)]


if __name__ == "__main__":
    from cnnreport.cli import main

    main()
