"""kill -9 of a `reproduce` parent: its workers stop within seconds (no orphan trains on or idles
holding memory and run locks), and the same command then resumes and finishes every run."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from cnnreport.jobs.reproduce import plan
from cnnreport.storage.atomic import PAUSE_BEFORE_RENAME
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import assert_intact, epochs_saved
from tests.faults.test_reproduce_interrupt import living_members, reproduce_command
from tests.idx_files import write_dataset

ORPHAN_GRACE_SECONDS = 10


def test_workers_of_a_killed_reproduce_stop_and_every_run_resumes(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", train=400, test=100)
    runs = [RunDir(tmp_path / "runs" / job.name) for job in plan(quick=True)]
    env = {**os.environ, "CNNREPORT_OFFLINE": "1", PAUSE_BEFORE_RENAME: "0.3"}  # slow writes: time to kill
    log = tmp_path / "stderr.log"
    with open(log, "wb") as stderr:
        parent = subprocess.Popen(reproduce_command(tmp_path, data), stderr=stderr, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not any(run.path.exists() and epochs_saved(run) for run in runs):
            assert parent.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert len(living_members(parent.pid)) >= 3, "the parent and its two workers should be running"
        parent.send_signal(signal.SIGKILL)  # no handler runs: only the workers themselves can notice
        assert parent.wait(10) == -signal.SIGKILL
        deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
        while living_members(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert living_members(parent.pid) == [], "workers outlived their killed reproduce"
    finally:
        with_group_stopped(parent.pid)
    started = [run for run in runs if run.config_file.exists()]
    assert started and not all(run.read_status()["status"] == "finished" for run in runs)
    for run in started:
        assert_intact(run)
        assert not run.is_locked(), f"{run.name} is still locked by a dead worker's orphan"
    again = subprocess.run(
        reproduce_command(tmp_path, data), capture_output=True, env={**os.environ, "CNNREPORT_OFFLINE": "1"}
    )
    assert again.returncode == 0, again.stderr.decode()
    assert all(run.read_status()["status"] == "finished" for run in runs)


def with_group_stopped(group: int) -> None:
    """Kill whatever of the test's process group is left, so a failing test leaves nothing behind."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
