"""A real `reproduce --quick --jobs 2` in a process group of its own, for the tests that stop it
(Ctrl-C, kill -9), and the same command run again to show that nothing was lost."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cnnreport.jobs.reproduce import plan
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import epochs_saved
from tests.faults.slowed_cli import PAUSE_BEFORE_RENAME, slowed_command
from tests.idx_files import write_dataset

OFFLINE = {**os.environ, "CNNREPORT_OFFLINE": "1"}


@dataclass(frozen=True)
class Reproducing:
    process: subprocess.Popen[bytes]
    runs: list[RunDir]
    data: Path
    log: Path  # the process's stderr

    def members(self) -> list[str]:
        """Processes of its group that still run (zombies have ended; only their parent is gone)."""
        listing = subprocess.run(
            ["ps", "-o", "stat=,args=", "-g", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [line for line in listing.splitlines() if line.strip() and not line.strip().startswith("Z")]


def reproduce_command(folder: Path, data: Path) -> list[str]:
    return [
        *slowed_command("reproduce"), "--quick", "--jobs", "2", "--tsne-samples", "30",
        "--runs-dir", str(folder / "runs"), "--data-dir", str(data), "-o", str(folder / "report.html"),
    ]  # fmt: skip


@contextlib.contextmanager
def reproducing_with_an_epoch_saved(folder: Path) -> Iterator[Reproducing]:
    """Start reproduce with slowed writes (time to stop it mid-work); go on once a run saved an epoch.

    Whatever of its process group is left is killed on the way out, so a failing test leaves nothing behind.
    """
    data = write_dataset(folder / "data", train=400, test=100)
    runs = [RunDir(folder / "runs" / job.name) for job in plan(quick=True)]
    log = folder / "stderr.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            reproduce_command(folder, data), stderr=stderr, env=OFFLINE | {PAUSE_BEFORE_RENAME: "0.3"},
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any(run.path.exists() and epochs_saved(run) for run in runs):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield Reproducing(process, runs, data, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def assert_the_same_command_finishes(folder: Path, stopped: Reproducing) -> None:
    again = subprocess.run(reproduce_command(folder, stopped.data), capture_output=True, env=OFFLINE)
    assert again.returncode == 0, again.stderr.decode()
    assert all(run.read_status()["status"] == "finished" for run in stopped.runs)
