"""kill -9 of a `reproduce` parent: its workers stop within seconds (no orphan trains on or idles
holding memory and run locks), and the same command then resumes and finishes every run."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.faults.helpers import assert_intact
from tests.faults.reproducing import assert_the_same_command_finishes, reproducing_with_an_epoch_saved

ORPHAN_GRACE_SECONDS = 10


def test_workers_of_a_killed_reproduce_stop_and_every_run_resumes(tmp_path: Path) -> None:
    with reproducing_with_an_epoch_saved(tmp_path) as killed:
        parent = killed.process
        assert len(killed.members()) >= 3, "the parent and its two workers should be running"
        parent.send_signal(signal.SIGKILL)  # no handler runs: only the workers themselves can notice
        assert parent.wait(10) == -signal.SIGKILL
        deadline = time.monotonic() + ORPHAN_GRACE_SECONDS
        while killed.members() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert killed.members() == [], "workers outlived their killed reproduce"
    started = [run for run in killed.runs if run.config_file.exists()]
    assert started and not all(run.read_status()["status"] == "finished" for run in killed.runs)
    for run in started:
        assert_intact(run)
        assert not run.is_locked(), f"{run.name} is still locked by a dead worker's orphan"
    assert_the_same_command_finishes(tmp_path, killed)
