"""Ctrl-C in a terminal during `reproduce --jobs 2`: everything stops, nothing is lost, the
same command continues."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.faults.helpers import assert_intact
from tests.faults.reproducing import assert_the_same_command_finishes, reproducing_with_an_epoch_saved


def test_ctrl_c_stops_every_worker_and_the_same_command_continues(tmp_path: Path) -> None:
    with reproducing_with_an_epoch_saved(tmp_path) as stopped:
        os.killpg(stopped.process.pid, signal.SIGINT)  # what the terminal does: the whole foreground group
        assert stopped.process.wait(60) == 130, stopped.log.read_text()
        assert "run the same command again" in stopped.log.read_text()
        time.sleep(1)
        assert stopped.members() == [], "a worker outlived the interrupted reproduce"
    started = [run for run in stopped.runs if run.path.exists() and run.config_file.exists()]
    assert started and not all(run.read_status()["status"] == "finished" for run in stopped.runs)
    for run in started:
        assert_intact(run)
    assert_the_same_command_finishes(tmp_path, stopped)
    assert (tmp_path / "report.html").is_file()
