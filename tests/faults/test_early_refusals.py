"""Bad input is refused before anything is made: a truncated data file stops train, reproduce
and sweep alike (one line, exit 2, no run or sweep folder); sweep's --jobs and --threads have
the bounds reproduce's and train's have; a download that fails leaves no empty folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torchvision.datasets as tvd

from cnnreport import system
from cnnreport.config import RANGES, THREADS_PER_CORE
from tests.faults.helpers import assert_fails, cli

DATA_FILE = "train-images-idx3-ubyte"


@pytest.fixture
def truncated(tmp_path: Path, fault_data: Path) -> Path:
    """The fault data with its training images cut short mid-image."""
    data = tmp_path / "data"
    shutil.copytree(fault_data, data)
    content = (data / DATA_FILE).read_bytes()
    (data / DATA_FILE).write_bytes(content[: len(content) // 2 + 5])
    return data


COMMANDS = {
    "train": ["train", "--epochs", "1", "--threads", "1", "--device", "cpu", "--name", "run"],
    "reproduce": ["reproduce", "--quick", "--jobs", "1", "--device", "cpu"],
    "sweep": ["sweep", "--grid", "lr=0.001", "--epochs", "1", "--jobs", "1", "--threads", "1", "--device", "cpu"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_truncated_data_file_is_one_line_exit_2_and_makes_nothing(
    tmp_path: Path, truncated: Path, command: str
) -> None:
    runs_dir, output = tmp_path / "runs", tmp_path / "report.html"
    args = [*COMMANDS[command], "--runs-dir", runs_dir, "--data-dir", truncated]
    result = cli(*args, *(["-o", output] if command == "reproduce" else []))
    assert_fails(result, 2, DATA_FILE, "IDX payload")
    assert not runs_dir.exists() or list(runs_dir.iterdir()) == []
    assert not output.exists()


@pytest.mark.parametrize(
    ("option", "value", "bound"),
    [
        ("--jobs", RANGES["--jobs"][1] + 1, f"at most {RANGES['--jobs'][1]}"),
        ("--jobs", 0, "at least 1"),
        ("--threads", THREADS_PER_CORE * system.available_cores() + 1, "at most"),
        ("--threads", 10**30, "at most"),
    ],
)
def test_sweep_bounds_jobs_and_threads_as_train_and_reproduce_do(
    tmp_path: Path, fault_data: Path, option: str, value: int, bound: str
) -> None:
    args = ["sweep", "--grid", "lr=0.001", option, value, "--runs-dir", tmp_path / "runs", "--data-dir", fault_data]
    assert_fails(cli(*args), 2, option, bound)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_download_leaves_no_empty_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: bool
) -> None:
    monkeypatch.delenv("CNNREPORT_OFFLINE")
    monkeypatch.setattr(tvd.MNIST, "mirrors", ["http://127.0.0.1:1/"])  # nothing listens: fails at once
    data = tmp_path / "data"
    if existing:
        data.mkdir()
        (data / "notes.txt").write_text("the user's")
    result = cli("train", "--epochs", "1", "--runs-dir", tmp_path / "runs", "--data-dir", data)
    assert_fails(result, 2, "mnist data not found", str(data))
    if existing:
        assert sorted(p.name for p in data.iterdir()) == ["notes.txt"]
    else:
        assert not data.exists()
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
