"""`python -m tests.cluster.shipping_cli ARGS`: cnnreport as the driver of a cluster whose nodes
share no file system with it, so every worker sends its run folder back when the run is done.

On one machine every worker could read the runs dir; this launcher (and `no_token`, patched in
by tests that run the CLI in-process) takes away the driver's token that tells them so. It is the
tests' hook, not a setting: cnnreport itself reads no environment variable for it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from cnnreport.jobs import ray_runner


@contextlib.contextmanager
def no_token(runs_dir: Path) -> Iterator[None]:
    yield None


def shipping_command(*args: object) -> list[str]:
    """The command line of `cnnreport ARGS` as the driver of a cluster without a shared file system."""
    return [sys.executable, "-m", "tests.cluster.shipping_cli", *map(str, args)]


if __name__ == "__main__":
    from cnnreport.cli import main

    ray_runner.driver_token = no_token  # type: ignore[assignment]
    main()
