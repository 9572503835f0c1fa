"""Environment values: an empty folder variable is refused instead of meaning the current folder,
--threads 0 is refused wherever it is taken, and no variable meant for tests changes (or crashes)
what cnnreport does for its users."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import copy_run, snapshot
from tests.faults.hostile_user import assert_refused, cnnreport
from tests.faults.slowed_cli import PAUSE_BEFORE_RENAME

PACKAGE = Path(__file__).resolve().parents[2] / "cnnreport"


@pytest.mark.parametrize("value", ["", " "], ids=["empty", "blank"])
@pytest.mark.parametrize(
    ("variable", "command"),
    [
        ("CNNREPORT_RUNS_DIR", ["list"]),
        ("CNNREPORT_RUNS_DIR", ["train", "--epochs", "1", "--name", "here"]),
        ("CNNREPORT_RUNS_DIR", ["sweep", "--grid", "lr=0.001"]),
        ("CNNREPORT_DATA_DIR", ["train", "--epochs", "1", "--runs-dir", "runs"]),
    ],
    ids=["list", "train", "sweep", "train data"],
)
def test_an_empty_folder_variable_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, command: list[str], value: str
) -> None:
    monkeypatch.chdir(tmp_path)  # where an empty value would have put run folders
    done = cnnreport(*command, env={variable: value})
    assert_refused(done, 2, f"{variable} is set but empty")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_runs_dir_variable_is_not_the_current_folder_for_report(
    tmp_path: Path, reference: RunDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run in the current folder must not be picked up (or written beside) by an empty value."""
    copy_run(reference, tmp_path)
    monkeypatch.chdir(tmp_path)
    done = cnnreport("report", "-o", tmp_path / "report.html", env={"CNNREPORT_RUNS_DIR": ""})
    assert_refused(done, 2, "CNNREPORT_RUNS_DIR is set but empty")
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    "command", [["train", "--threads", "0"], ["sweep", "--grid", "lr=0.001", "--threads", "0"]], ids=["train", "sweep"]
)
def test_zero_threads_is_refused(tmp_path: Path, command: list[str]) -> None:
    assert_refused(cnnreport(*command, "--runs-dir", tmp_path), 2, "--threads must be at least 1")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["abc", "1e9", "-1", "nan"])
def test_the_tests_pause_variable_changes_nothing(
    tmp_path: Path, reference: RunDir, fault_data: Path, value: str
) -> None:
    """Set by mistake (or with a value that is no number), it neither crashes nor slows a write:
    with 1e9 honoured, evaluate would never finish; the process's timeout would fail the test."""
    run = copy_run(reference, tmp_path / "runs")
    before = snapshot(run.path)
    done = cnnreport("evaluate", run.name, "--runs-dir", run.path.parent, "--data-dir", fault_data,
                     env={PAUSE_BEFORE_RENAME: value})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert run.evaluation_file.exists() and snapshot(run.path) != before


def test_cnnreport_reads_no_test_variable() -> None:
    """Test hooks live in the tests (tests/faults/slowed_cli.py), never in cnnreport's own code."""
    readers = [
        f"{path.relative_to(PACKAGE.parent)}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in path.read_text().splitlines()
        if re.search(r"CNNREPORT_TEST|_TEST_", line)
    ]
    assert readers == []
