"""A Ctrl-C'd sweep on Ray leaves nothing in the system temp dir: each cancelled task removes the
temporary run folder it trained in (workers here share this machine's temp dir)."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from tests.cluster.conftest import MARKER, task_pids
from tests.cluster.test_ray_sweep import sweeping_on_ray

pytestmark = pytest.mark.cluster

TEMP_RUNS = "cnnreport-ray-run-*"  # ray_runner.train_on_worker's temporary run folders


def temp_run_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob(TEMP_RUNS))


def test_ctrl_c_leaves_no_temporary_run_folder(ray_address: str, cluster_data: Path, tmp_path: Path) -> None:
    before = temp_run_folders()
    with sweeping_on_ray(tmp_path, cluster_data, ray_address, "--seeds", "6") as sweep:
        deadline = time.monotonic() + 180
        while not temp_run_folders() - before and time.monotonic() < deadline and sweep.poll() is None:
            time.sleep(0.05)
        assert temp_run_folders() - before, "no task started training in a temporary folder"
        sweep.send_signal(signal.SIGINT)
        output, _ = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, output
    deadline = time.monotonic() + 30
    while task_pids(os.environ[MARKER], "train_on_worker") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert temp_run_folders() - before == set()
