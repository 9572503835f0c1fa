"""Extreme options, training that diverges, bad output places and thread counts on resume:
each is a clear line and the documented exit code, before any folder is made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import (
    TRAIN_OPTIONS,
    assert_fails,
    assert_same_training,
    cli,
    copy_run,
    train_command,
)
from tests.idx_files import idx_bytes, write_dataset

# ---- 5: every numeric option has a range -------------------------------------------------
OUT_OF_RANGE = {
    "train --seed 2**32": (["train", "--seed", str(2**32)], "at most 4294967295 (range 0..4294967295)"),
    "train --seed 1e13": (
        ["train", "--seed", "10000000000000"],
        "at most 4294967295 (range 0..4294967295)",
    ),
    "train --threads 100000": (["train", "--threads", "100000"], "--threads must be at most"),
    "train --threads 0": (["train", "--threads", "0"], "--threads must be at least 1 (range 1.."),
    "train --epochs 0": (["train", "--epochs", "0"], "--epochs must be at least 1 (range 1..1000)"),
    "train --epochs 1001": (["train", "--epochs", "1001"], "--epochs must be at most 1000 (range 1..1000)"),
    "train --batch-size 0": (["train", "--batch-size", "0"], "--batch-size must be at least 1 (range 1..60000)"),
    "train --limit 0": (["train", "--limit", "0"], "--limit must be at least 1 (range 1..60000)"),
    "train --lr inf": (["train", "--lr", "inf"], "--lr must be in (0, 10]"),
    "train --lr nan": (["train", "--lr", "nan"], "--lr must be in (0, 10]"),
    "train --lr 0": (["train", "--lr", "0"], "--lr must be in (0, 10]"),
    "train --dropout nan": (["train", "--dropout", "nan"], "--dropout must be in [0, 1)"),
    "inspect --index -1": (["inspect", "--index", "-1"], "--index must be at least 0 (range 0..9999)"),
    "reproduce --jobs 65": (["reproduce", "--jobs", "65"], "--jobs must be at most 64 (range 1..64)"),
    "reproduce --seeds 0": (["reproduce", "--seeds", "0"], "--seeds must be at least 1 (range 1..100)"),
    "sweep --seeds 101": (
        ["sweep", "--grid", "lr=0.01", "--seeds", "101"],
        "--seeds must be at most 100 (range 1..100)",
    ),
    "reproduce --tsne-samples 5": (
        ["reproduce", "--tsne-samples", "5"],
        "--tsne-samples must be at least 10 (range",
    ),
    "report --tsne-samples 10001": (
        ["report", "--tsne-samples", "10001"],
        "--tsne-samples must be at most 10000",
    ),
}


@pytest.mark.parametrize("case", OUT_OF_RANGE)
def test_an_option_out_of_range_is_bad_input_before_any_folder(tmp_path: Path, fault_data: Path, case: str) -> None:
    args, message = OUT_OF_RANGE[case]
    runs = tmp_path / "runs"
    result = cli(*args, "--runs-dir", runs, *(["--data-dir", fault_data] if args[0] != "report" else []))
    assert_fails(result, 2, message)
    assert not runs.exists()


def test_help_states_the_ranges() -> None:
    text = " ".join(cli("train", "--help").stdout.split())
    for fragment in ("0..4294967295", "1..1000", "(0, 10]", "[0, 1)", "1..60000"):
        assert fragment in text, fragment
    assert "1..64" in " ".join(cli("reproduce", "--help").stdout.split())


def test_the_largest_seed_trains(tmp_path: Path, fault_data: Path) -> None:
    common = ["--runs-dir", tmp_path, "--data-dir", fault_data, "--threads", "1", "--epochs", "1"]
    assert cli("train", "--seed", str(2**32 - 1), "--name", "big", *common).exit_code == 0


# ---- 6: divergence stops the run and says so -------------------------------------------------
def no_bare_nan(run: RunDir) -> None:
    for path in run.path.glob("*.json"):
        assert not {"NaN", "Infinity", "-Infinity"} & set(json_constants(path.read_text())), path.name


def json_constants(text: str) -> list[str]:
    """The non-JSON constants (NaN, Infinity) Python's reader accepts in `text`."""
    found: list[str] = []
    json.loads(text, parse_constant=lambda token: found.append(token))
    return found


def test_constant_training_images_are_bad_input_and_leave_no_run(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data", train=100, test=20)
    (data / "train-images-idx3-ubyte").write_bytes(idx_bytes(torch.full((100, 28, 28), 7, dtype=torch.uint8).numpy()))
    result = cli("train", "--name", "flat", "--epochs", "1", "--runs-dir", tmp_path / "runs", "--data-dir", data)
    assert_fails(result, 2, "training images all have the same value")
    assert not (tmp_path / "runs" / "flat").exists()


def test_a_loss_that_stops_being_finite_fails_the_run_with_its_reason(
    tmp_path: Path, fault_data: Path, reference: RunDir
) -> None:
    run = copy_run(reference, tmp_path)
    state = torch.load(run.checkpoint_file, weights_only=True)
    state["epoch"], state["metrics"] = 1, state["metrics"][:1]  # as if killed after epoch 1...
    state["model"] = {k: v * 1e30 if v.is_floating_point() else v for k, v in state["model"].items()}  # ...blown up
    torch.save(state, run.checkpoint_file)
    result = cli(*train_command(tmp_path, fault_data, "reference", "--resume"))
    assert_fails(result, 1, "training diverged", "the loss became")
    status = run.read_status()
    assert status["status"] == "failed" and "diverged" in status["error"]
    no_bare_nan(run)


def test_a_checkpoint_with_std_0_is_bad_input(tmp_path: Path, fault_data: Path, reference: RunDir) -> None:
    run = copy_run(reference, tmp_path)
    state = torch.load(run.checkpoint_file, weights_only=True)
    torch.save(state | {"normalization": [0.1, 0.0]}, run.checkpoint_file)
    for command in (["evaluate", "reference"], ["inspect", "reference"]):
        assert_fails(cli(*command, "--runs-dir", tmp_path, "--data-dir", fault_data), 2, "std 0.0")


def test_non_finite_values_are_written_as_null_with_the_reason(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.write_json(run.evaluation_file, {"ece": float("nan"), "rows": [1.0, float("inf")]})
    document = json.loads(run.evaluation_file.read_text(), parse_constant=lambda t: pytest.fail(t))
    assert document["ece"] is None and document["rows"] == [1.0, None]
    assert set(document["nulls"]) == {"/ece", "/rows/1"} and "nan" in document["nulls"]["/ece"]


# ---- 8: exit codes for names and places that cannot be written ----------------------------
def test_bad_names_and_places_are_bad_input_before_any_work(tmp_path: Path, fault_data: Path) -> None:
    common = ["--data-dir", fault_data, "--threads", "1", "--epochs", "1"]
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    cases = [
        (["--name", "x" * 300, "--runs-dir", tmp_path / "runs"], "longer than the 255"),
        (["--name", "a-file", "--runs-dir", tmp_path], "is not a run directory"),
        (["--name", "ok", "--runs-dir", a_file], "is a file, not a folder"),
    ]
    for args, message in cases:
        result = cli("train", *args, *common)
        assert_fails(result, 2, message)
        assert "previous version" not in result.stderr
    assert a_file.read_text() == "mine" and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", ["report", "reproduce"])
def test_an_output_that_cannot_be_written_is_refused_before_training(
    tmp_path: Path, fault_data: Path, reference: RunDir, command: str
) -> None:
    copy_run(reference, tmp_path / "runs")
    before = sorted(p.name for p in (tmp_path / "runs").iterdir())
    for output, message in ((tmp_path, "it is a directory"), (tmp_path / "no" / "r.html", "does not exist")):
        args = ["--runs-dir", tmp_path / "runs", "-o", output]
        extra = ["--quick", "--data-dir", fault_data] if command == "reproduce" else []
        assert_fails(cli(command, *args, *extra), 2, message)
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == before  # reproduce trained nothing


# ---- 9: resume keeps the run's thread count, or says results may differ -------------------
def test_resume_reuses_the_recorded_thread_count(
    tmp_path: Path, fault_data: Path, reference: RunDir, start_training
) -> None:
    training = start_training(tmp_path, fault_data, "run")  # TRAIN_OPTIONS train with --threads 1
    training.wait_until(lambda run: run.checkpoint_file.exists())
    training.kill()
    assert json.loads(training.run.config_file.read_text())["threads"] == 1
    without_threads = [a for a in TRAIN_OPTIONS if a not in ("--threads", "1")]
    assert len(without_threads) == len(TRAIN_OPTIONS) - 2
    args = ["train", *without_threads, "--name", "run", "--runs-dir", tmp_path, "--data-dir", fault_data, "--resume"]
    env = {**os.environ, "CNNREPORT_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "cnnreport", *map(str, args)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert training.run.read_status()["threads"] == 1 and "note:" not in done.stderr
    assert_same_training(training.run, reference)


def test_resuming_with_another_thread_count_says_results_may_differ(
    tmp_path: Path, fault_data: Path, reference: RunDir
) -> None:
    run = copy_run(reference, tmp_path)
    state = torch.load(run.checkpoint_file, weights_only=True)
    torch.save(state | {"epoch": 3, "metrics": state["metrics"][:3]}, run.checkpoint_file)
    args = train_command(tmp_path, fault_data, "reference", "--resume")
    args[args.index("--threads") + 1] = "2"  # within 1..4x the cores on any machine
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "started with 1 CPU threads and resumes with 2" in result.stderr
    assert "may differ in the last digits" in result.stderr
    assert run.read_status()["threads"] == 2
