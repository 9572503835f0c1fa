"""Exit codes scripts can rely on, for every command: 0 success, 1 failure during the work,
2 bad usage or bad input; and never a traceback."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnreport.config import ExperimentConfig
from cnnreport.ml.checkpoint import load_checkpoint
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import (
    RUN_COMMANDS,
    assert_fails,
    cli,
    copy_run,
    error_line,
    run_command,
    snapshot,
    train_command,
)


@pytest.fixture
def runs(tmp_path: Path, reference: RunDir) -> Path:
    """A runs dir holding a copy of the trained reference run."""
    copy_run(reference, tmp_path / "runs")
    return tmp_path / "runs"


def test_each_command_exits_0_and_writes_what_it_promises(tmp_path: Path, fault_data: Path) -> None:
    common = ["--runs-dir", tmp_path, "--data-dir", fault_data]
    run = RunDir(tmp_path / "ok")
    assert cli("train", "--epochs", "1", "--threads", "1", "--name", "ok", *common).exit_code == 0
    assert run.read_status()["status"] == "finished" and load_checkpoint(run)["epoch"] == 1
    assert [row["epoch"] for row in run.read_metrics()] == [1] and run.read_config().epochs == 1
    assert cli("train", "--epochs", "1", "--threads", "1", "--name", "ok", "--resume", *common).exit_code == 0
    assert load_checkpoint(run)["epoch"] == 1 and run.read_status()["status"] == "finished"
    evaluated = cli("evaluate", "ok", "--json", *common)
    assert evaluated.exit_code == 0
    assert json.loads(evaluated.stdout)["test_accuracy"] == run.read_json(run.evaluation_file)["test_accuracy"]
    assert set(run.read_arrays(run.predictions_file)) >= {"logits", "features", "labels"}
    assert run.read_arrays(run.analysis_file)
    assert cli("inspect", "ok", *common).exit_code == 0
    assert run.read_json(run.anatomy_file)["params_total"] == 4470
    assert "output:Conv2d-1" in run.read_arrays(run.layer_outputs_file)
    untrained = cli("inspect", "--json")
    assert untrained.exit_code == 0 and json.loads(untrained.stdout)["params_total"] == 4470
    report = ["report", "ok", "--runs-dir", tmp_path, "--output", tmp_path / "report.html", "--tsne-samples", "50"]
    assert cli(*report).exit_code == 0
    assert 'id="run-1-ok"' in (tmp_path / "report.html").read_text() and run.tsne_file.is_file()


BAD_INPUT = {
    "train: an impossible option value": (["train", "--classes", "3"], "--classes must be 10 or 4"),
    "train: threads below 1": (["train", "--threads", "0"], "--threads must be at least 1"),
    "train: an unknown device": (["train", "--device", "tpu"], "--device must be auto, cpu or cuda"),
    "train: no data in the data dir": (["train", "--data-dir", "{empty}"], "mnist data not found"),
    "train: a run that exists, without --resume": (["train", "--name", "reference"], "already exists"),
    "train --resume with other options": (
        ["train", "--name", "reference", "--resume", "--lr", "0.01"],
        "--epochs 4, not --epochs 10; --lr 0.001, not --lr 0.01; resume it with the same options",
    ),
    "train: a run name with a slash": (["train", "--name", "a/b"], "invalid run name"),
    "evaluate: an unknown run": (["evaluate", "nope"], "unknown run 'nope'"),
    "evaluate: a name that looks like markup": (["evaluate", "[/bold]"], "unknown run '[/bold]'"),
    "evaluate: a run without a checkpoint": (["evaluate", "{untrained}"], "no checkpoint"),
    "inspect: an unknown run": (["inspect", "nope"], "unknown run 'nope'"),
    "inspect: an image index out of range": (
        ["inspect", "reference", "--index", "100", "--data-dir", "{data}"],
        "0..99",
    ),
    "inspect: an impossible untrained model": (["inspect", "--classes", "7"], "--classes must be 10 or 4"),
    "report: an unknown run": (["report", "nope"], "unknown run 'nope'"),
    "reproduce: no parallel jobs": (["reproduce", "--jobs", "0"], "--jobs must be at least 1 (range 1..64)"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, runs: Path, fault_data: Path, case: str) -> None:
    untrained = RunDir(tmp_path / "untrained")  # a config, no checkpoint
    untrained.path.mkdir()
    untrained.write_config(ExperimentConfig(), command="")
    args, message = BAD_INPUT[case]
    result = cli(
        *[a.format(empty=tmp_path, untrained=untrained.path, data=fault_data) for a in args], "--runs-dir", runs
    )
    assert_fails(result, 2, message)
    assert len(result.stderr.strip().splitlines()) == 1


def work_command(command: str, runs: Path, data: Path) -> list:
    """A command line that has real work to write: a new training, the run commands, a report."""
    if command == "train":
        return train_command(runs, data, "new")
    if command == "report":
        return ["report", "--runs-dir", runs, "--output", runs / "report.html", "--tsne-samples", "50"]
    return run_command(command, runs, data)


@pytest.mark.parametrize("command", ["train", *RUN_COMMANDS, "report"])
def test_a_failure_during_the_work_exits_1_and_changes_nothing(
    runs: Path, fault_data: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    def disk_full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    before = snapshot(runs)
    monkeypatch.setattr(os, "replace", disk_full)
    # Only a file that existed has a previous version to speak of; the others were never created.
    message = "the previous version is untouched" if command == "train --resume" else "cannot create"
    assert_fails(cli(*work_command(command, runs, fault_data)), 1, "disk full", message)
    assert snapshot(runs) == before


def run_cnnreport(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cnnreport", *args], capture_output=True, text=True)


def test_a_real_process_exits_2_with_one_line_on_bad_input(tmp_path: Path) -> None:
    done = run_cnnreport("evaluate", "no-such-run", "--runs-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [error_line(done.stderr, "unknown run 'no-such-run'")]


BAD_USAGE = {
    "an unknown option": (["train", "--no-such-option"], "No such option: --no-such-option"),
    "an unknown command": (["bogus"], "No such command 'bogus'"),
    "a missing argument": (["evaluate"], "Missing argument"),
    "a value of the wrong type": (["train", "--epochs", "many"], "Invalid value for '--epochs'"),
}


@pytest.mark.parametrize("case", BAD_USAGE)
def test_a_real_process_exits_2_with_one_line_on_bad_usage(case: str) -> None:
    args, message = BAD_USAGE[case]
    done = run_cnnreport(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [error_line(done.stderr, message, "--help")]
