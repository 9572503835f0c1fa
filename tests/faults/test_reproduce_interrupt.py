"""Ctrl-C in a terminal during `reproduce --jobs 2`: everything stops, nothing is lost, the
same command continues."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cnnreport.jobs.reproduce import plan
from cnnreport.storage.atomic import PAUSE_BEFORE_RENAME
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import assert_intact, epochs_saved
from tests.idx_files import write_dataset


def reproduce_command(folder: Path, data: Path) -> list[str]:
    return [
        sys.executable, "-m", "cnnreport", "reproduce", "--quick", "--jobs", "2", "--tsne-samples", "30",
        "--runs-dir", str(folder / "runs"), "--data-dir", str(data), "-o", str(folder / "report.html"),
    ]  # fmt: skip


def living_members(group: int) -> list[str]:
    """Processes of the group that still run (zombies have ended; only their parent is gone)."""
    listing = subprocess.run(["ps", "-o", "stat=,args=", "-g", str(group)], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if line.strip() and not line.strip().startswith("Z")]


def test_ctrl_c_stops_every_worker_and_the_same_command_continues(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", train=400, test=100)
    runs = [RunDir(tmp_path / "runs" / job.name) for job in plan(quick=True)]
    env = {**os.environ, "CNNREPORT_OFFLINE": "1", PAUSE_BEFORE_RENAME: "0.3"}  # slow writes: time to interrupt
    log = tmp_path / "stderr.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(reproduce_command(tmp_path, data), stderr=stderr, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while not any(run.path.exists() and epochs_saved(run) for run in runs):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does: the whole foreground group
    assert process.wait(60) == 130, log.read_text()
    assert "run the same command again" in log.read_text()
    time.sleep(1)
    assert living_members(process.pid) == [], "a worker outlived the interrupted reproduce"
    started = [run for run in runs if run.path.exists() and run.config_file.exists()]
    assert started and not all(run.read_status()["status"] == "finished" for run in runs)
    for run in started:
        assert_intact(run)
    again = subprocess.run(
        reproduce_command(tmp_path, data), capture_output=True, env={**os.environ, "CNNREPORT_OFFLINE": "1"}
    )
    assert again.returncode == 0, again.stderr.decode()
    assert all(run.read_status()["status"] == "finished" for run in runs)
    assert (tmp_path / "report.html").is_file()
