"""Helpers for the fault tests: real `cnnreport train` processes, the moments to stop them,
checks that a run dir is intact, the CLI in-process, and tiny tmpfs mounts (fixtures: conftest.py)."""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner, Result

from cnnreport.cli import app
from cnnreport.errors import RunError
from cnnreport.ml.checkpoint import load_checkpoint
from cnnreport.storage.rundir import RunDir

EPOCHS = 4
# Augmentation, dropout and batch norm draw on every random stream a resume must restore.
TRAIN_OPTIONS = (
    *("--epochs", str(EPOCHS), "--augment", "--dropout", "0.2", "--batch-norm"),
    *("--batch-size", "20", "--threads", "1", "--device", "cpu"),
)
POLL_SECONDS = 0.005
runner = CliRunner()
log_numbers = itertools.count()


# ---- the CLI in-process -----------------------------------------------------------------
def cli(*args: Any) -> Result:
    """Run the CLI in this process; an exception it did not turn into an exit is a test failure."""
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}: a user would see a traceback") from result.exception
    return result


def train_command(runs_dir: Path, data_dir: Path, name: str, *extra: str) -> list[str]:
    return ["train", *TRAIN_OPTIONS, "--name", name, "--runs-dir", str(runs_dir), "--data-dir", str(data_dir), *extra]


RUN_COMMANDS = ("evaluate", "inspect", "train --resume")


def run_command(command: str, runs_dir: Path, data_dir: Path, name: str = "reference") -> list[Any]:
    """The command line of one of RUN_COMMANDS on the existing run `name`."""
    if command == "train --resume":
        return train_command(runs_dir, data_dir, name, "--resume")
    return [command, name, "--runs-dir", runs_dir, "--data-dir", data_dir]


def error_line(stderr: str, *fragments: str) -> str:
    """The one line of the error message (after any progress output); no traceback anywhere."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith(("error:", "interrupted:"))]
    assert len(errors) == 1 and stderr.rstrip().endswith(errors[0]), stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def assert_fails(result: Result, exit_code: int, *fragments: str) -> None:
    """The CLI exited with `exit_code` and one clear error line holding every fragment."""
    assert result.exit_code == exit_code, result.output
    error_line(result.stderr, *fragments)


# ---- training subprocesses --------------------------------------------------------------
@dataclass
class Training:
    """One `python -m cnnreport train` process and the run directory it writes."""

    process: subprocess.Popen[bytes]
    run: RunDir
    log: Path

    @property
    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until(self, condition: Callable[[RunDir], bool], timeout: float = 120) -> None:
        """Poll until `condition(run)` holds; fail if the process ends first."""
        deadline = time.monotonic() + timeout
        while not condition(self.run):
            if self.process.poll() is not None:
                pytest.fail(f"training ended (exit {self.process.returncode}) before the moment came:\n{self.stderr}")
            if time.monotonic() > deadline:
                pytest.fail(f"the moment did not come within {timeout}s")
            time.sleep(POLL_SECONDS)

    def holds_lock(self) -> bool:
        """The lock file names this process (read without touching the lock itself)."""
        lock = self.run.lock_file
        return lock.exists() and lock.read_text() == f"process {self.process.pid}"

    def finish(self, timeout: float = 180) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL, and check it really cut the run short."""
        self.process.send_signal(signal.SIGKILL)
        assert self.finish() == -signal.SIGKILL, f"training had already ended:\n{self.stderr}"


# ---- moments in a run, read from outside --------------------------------------------------
def epochs_saved(run: RunDir) -> int:
    """Epochs in metrics.json (0 before the first one)."""
    try:
        return len(run.read_metrics())
    except RunError:
        return 0


def writing(run: RunDir, file_name: str) -> bool:
    """True while an atomic write of `file_name` has its temp file in the run dir."""
    return any(run.path.glob(f".{file_name}.*.tmp"))


def temp_files(run: RunDir) -> list[Path]:
    return sorted(run.path.glob(".*.tmp"))


# ---- what a run dir must look like ----------------------------------------------------
def assert_intact(run: RunDir) -> None:
    """Every file a reader opens is complete: each JSON parses, the checkpoint loads, and the
    metrics lag the checkpoint by at most the one epoch whose write was cut."""
    for path in run.path.glob("*.json"):
        json.loads(path.read_text())
    metrics = run.read_metrics() if run.metrics_file.exists() else []
    if run.checkpoint_file.exists():
        assert load_checkpoint(run)["epoch"] - len(metrics) in (0, 1)
    else:
        assert metrics == []


def without_seconds(rows: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def assert_same_tree(ours: Any, theirs: Any, where: str = "") -> None:
    """Nested dicts/lists of tensors and numbers, equal bit for bit."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, torch.Tensor) and torch.equal(ours, theirs), where
    elif isinstance(theirs, dict):
        assert ours.keys() == theirs.keys(), where
        for key in theirs:
            assert_same_tree(ours[key], theirs[key], f"{where}/{key}")
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same_tree(a, b, f"{where}/{i}")
    else:
        assert ours == theirs, where


def assert_same_training(run: RunDir, reference: RunDir) -> None:
    """The run finished with exactly the reference's weights, optimizer state and metrics."""
    ours, theirs = load_checkpoint(run), load_checkpoint(reference)
    assert ours["epoch"] == theirs["epoch"] == EPOCHS
    assert_same_tree(ours["model"], theirs["model"], "model")
    assert_same_tree(ours["optimizer"], theirs["optimizer"], "optimizer")
    assert without_seconds(ours["metrics"]) == without_seconds(theirs["metrics"])
    assert without_seconds(run.read_metrics()) == without_seconds(reference.read_metrics())
    assert run.read_status()["status"] == "finished"
    assert temp_files(run) == []


def copy_run(run: RunDir, runs_dir: Path) -> RunDir:
    """A copy of a run (without its lock file) to damage or plant things in."""
    shutil.copytree(run.path, runs_dir / run.name, ignore=shutil.ignore_patterns(".lock"))
    return RunDir(runs_dir / run.name)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (lock files aside), to prove nothing changed."""
    files = (p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock")
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


# ---- tiny file systems --------------------------------------------------------------------
def remount(point: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(point)], check=True)
