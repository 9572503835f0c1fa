"""Sweeps on a real Ray cluster: the same results as locally, and a killed worker costs only time."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnreport.jobs import ray_runner
from cnnreport.jobs.reproduce import needs_work
from cnnreport.storage.rundir import list_runs
from tests.cluster.conftest import MARKER, task_pids
from tests.cluster.shipping_cli import no_token, shipping_command
from tests.helpers import invoke

pytestmark = pytest.mark.cluster
GRID = ["--grid", "lr=0.001,0.003", "--seeds", "2", "--epochs", "1", "--threads", "1", "--device", "cpu"]


def sweep_args(runs: Path, data: Path, *extra: str) -> list[str]:
    return ["sweep", *GRID, "--name", "tiny", "--runs-dir", str(runs), "--data-dir", str(data), *extra]


def outcome(runs: Path) -> dict[str, tuple]:
    """Per run: the metrics but wall time, the evaluation's accuracy, and the final weights."""
    found = {}
    for run in list_runs(runs / "tiny"):
        metrics = [{k: v for k, v in row.items() if k != "seconds"} for row in run.read_metrics()]
        accuracy = run.read_json(run.evaluation_file)["test_accuracy"]
        weights = torch.load(run.checkpoint_file, weights_only=True)["model"]
        found[run.name] = (metrics, accuracy, {k: v.numpy() for k, v in weights.items()})
    return found


@pytest.fixture(scope="module")
def local_result(tmp_path_factory: pytest.TempPathFactory, cluster_data: Path) -> dict[str, tuple]:
    runs = tmp_path_factory.mktemp("local")
    result = invoke(*sweep_args(runs, cluster_data, "--jobs", "1"))
    assert result.exit_code == 0, result.output
    return outcome(runs)


@pytest.mark.parametrize("shared", [False, True], ids=["runs-sent-back", "shared-runs-dir"])
def test_ray_sweep_equals_local_sweep(
    shared: bool, ray_address: str, cluster_data: Path, local_result: dict, tmp_path: Path, monkeypatch
) -> None:
    if not shared:
        monkeypatch.setattr(ray_runner, "driver_token", no_token)  # as on a cluster without a shared file system
    result = invoke(*sweep_args(tmp_path, cluster_data, "--ray", ray_address))
    assert result.exit_code == 0, result.output
    on_ray = outcome(tmp_path)
    assert sorted(on_ray) == sorted(local_result) and len(on_ray) == 4
    for name, (metrics, accuracy, weights) in local_result.items():
        assert on_ray[name][0] == metrics and on_ray[name][1] == accuracy, name
        assert all(np.array_equal(on_ray[name][2][key], value) for key, value in weights.items()), name
    assert not any(p.name.startswith(".") for p in (tmp_path / "tiny").iterdir())  # no staging or token left


@contextlib.contextmanager
def sweeping_on_ray(tmp_path: Path, data: Path, address: str, *extra: str) -> Iterator[subprocess.Popen[str]]:
    """`cnnreport sweep --ray` as a process (stdout and stderr together); killed on the way out if still running."""
    command = shipping_command(*sweep_args(tmp_path, data, "--ray", address, *extra))  # a run folder appears
    sweep = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # once finished
    try:
        yield sweep
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()


def test_killed_worker_costs_only_time(ray_address: str, cluster_data: Path, tmp_path: Path) -> None:
    with sweeping_on_ray(tmp_path, cluster_data, ray_address) as sweep:
        victim = wait_for_task(os.environ[MARKER], sweep)
        os.kill(victim, 9)
        output, _ = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, output
    runs = list_runs(tmp_path / "tiny")
    assert len(runs) == 4 and not any(needs_work(run) for run in runs), output
    assert "4 of 4 runs finished" in output


def wait_for_task(marker: str, sweep: subprocess.Popen) -> int:
    """The pid of a worker running a sweep task, once one has run for a moment."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sweep.poll() is None:
        pids = task_pids(marker, "train_on_worker")
        if pids:
            time.sleep(1.0)  # let it get into training
            if pids[0] in task_pids(marker, "train_on_worker"):
                return pids[0]
        time.sleep(0.1)
    raise AssertionError(f"no Ray task seen running; sweep exited with {sweep.poll()}")


def test_reproduce_runs_on_ray_and_renders_the_report(ray_address: str, cluster_data: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    args = ["--quick", "--tsne-samples", "60", "--runs-dir", tmp_path / "runs", "--data-dir", cluster_data]
    result = invoke("reproduce", *args, "--device", "cpu", "-o", report, "--ray", ray_address)
    assert result.exit_code == 0, result.output
    assert len(re.findall(r" (\d+)/\1 done", result.output)) == 5  # Ray's own "done" keeps the images counted
    runs = list_runs(tmp_path / "runs")
    assert len(runs) == 5 and not any(needs_work(run) for run in runs)
    assert all(f'id="run-{position}-quick-' in report.read_text() for position in range(1, 6))


def test_ctrl_c_cancels_the_tasks_and_keeps_finished_runs(ray_address: str, cluster_data: Path, tmp_path: Path) -> None:
    # 12 runs on the cluster's 2 CPUs: Ctrl-C lands after the first finishes, long before the last.
    with sweeping_on_ray(tmp_path, cluster_data, ray_address, "--seeds", "6") as sweep:  # the last --seeds wins
        deadline = time.monotonic() + 180
        while not list_runs(tmp_path / "tiny") and time.monotonic() < deadline and sweep.poll() is None:
            time.sleep(0.1)
        sweep.send_signal(signal.SIGINT)
        output, _ = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, output
    finished = list_runs(tmp_path / "tiny")
    assert 1 <= len(finished) < 12 and not any(needs_work(run) for run in finished), output
    deadline = time.monotonic() + 30
    while task_pids(os.environ[MARKER], "train_on_worker") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not task_pids(os.environ[MARKER], "train_on_worker"), "a cancelled task is still running"


def test_more_threads_than_any_node_has_is_bad_input(ray_address: str, cluster_data: Path, tmp_path: Path) -> None:
    result = invoke(*sweep_args(tmp_path, cluster_data, "--ray", ray_address, "--threads", "2"))
    assert result.exit_code == 2 and "largest node" in result.output, result.output
    assert not (tmp_path / "tiny").exists()
