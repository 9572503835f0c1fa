"""Fixtures of the fault tests: training subprocesses, shared data, the reference run, tmpfs mounts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import Training, log_numbers, train_command
from tests.faults.slowed_cli import PAUSE_BEFORE_RENAME, slowed_command
from tests.idx_files import write_dataset


@pytest.fixture
def start_training(tmp_path: Path) -> Iterator[Callable[..., Training]]:
    """Start `cnnreport train` in a subprocess; `pause` holds each atomic write before its rename."""
    started: list[Training] = []

    def start(runs_dir: Path, data_dir: Path, name: str, *extra: str, pause: float = 0.0) -> Training:
        env = {**os.environ, "CNNREPORT_OFFLINE": "1"}
        if pause:
            env[PAUSE_BEFORE_RENAME] = str(pause)
        log = tmp_path / f"{name}-{next(log_numbers)}.stderr"
        with open(log, "wb") as stderr:
            command = slowed_command(*train_command(runs_dir, data_dir, name, *extra))
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        started.append(Training(process, RunDir(runs_dir / name), log))
        return started[-1]

    yield start
    for training in started:
        if training.process.poll() is None:
            training.process.kill()
            training.process.wait()


# ---- shared data and the uninterrupted reference ------------------------------------------
@pytest.fixture(scope="session")
def fault_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 training and 100 test images: 30 steps an epoch, enough to land kills inside one."""
    return write_dataset(tmp_path_factory.mktemp("fault-idx"), train=600, test=100)


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, fault_data: Path) -> RunDir:
    """The same training, uninterrupted, in its own process."""
    runs_dir = tmp_path_factory.mktemp("reference-runs")
    command = [sys.executable, "-m", "cnnreport", *train_command(runs_dir, fault_data, "reference")]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 0, done.stderr
    return RunDir(runs_dir / "reference")


# ---- tiny file systems --------------------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Mount a tmpfs of `size` bytes (skip where mounting is not allowed); unmount afterwards."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        point = tmp_path / f"tmpfs{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)
