"""Run folders as a hostile or unlucky user leaves them: names that look like terminal markup,
checkpoints copied in from other runs, absurd JSON, and temp files of killed commands."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import assert_fails, cli, copy_run, error_line, run_command, temp_files
from tests.faults.slowed_cli import PAUSE_BEFORE_RENAME, slowed_command

MARKUP_NAMES = ["[red]alarm", "[bold]b[i]", "x[link=y]"]  # a run name cannot hold "/": "[/x]" is in the runs dir


def cnnreport(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "cnnreport", *map(str, args)]
    environment = {**os.environ, "CNNREPORT_OFFLINE": "1", **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)


# ---- 3: user text is printed literally, never as markup -------------------------------------
@pytest.mark.parametrize("name", MARKUP_NAMES)
def test_names_and_paths_that_look_like_markup_are_printed_literally(
    tmp_path: Path, fault_data: Path, reference: RunDir, name: str
) -> None:
    runs = tmp_path / "[/x]" / name  # the runs dir's path holds markup too
    shutil.copytree(reference.path, runs / name, ignore=shutil.ignore_patterns(".lock"))
    common = ["--runs-dir", runs, "--data-dir", fault_data]
    for command in (["evaluate", name, *common], ["inspect", name, *common]):
        done = cnnreport(*command)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    output = runs / f"{name}.html"
    done = cnnreport("report", name, "--runs-dir", runs, "-o", output, "--tsne-samples", "30")
    assert done.returncode == 0, done.stderr
    assert f"report written to {output}" in done.stderr
    evaluation = cnnreport("evaluate", name, *common)
    assert f"{name}:testaccuracy" in "".join(evaluation.stdout.split())  # the title may wrap


def test_a_missing_runs_dir_with_markup_in_its_path_is_named_exactly(tmp_path: Path) -> None:
    runs = tmp_path / "[red]gone[/]"
    done = cnnreport("report", "--runs-dir", runs, "-o", tmp_path / "r.html")
    assert done.returncode == 2
    error_line(done.stderr, f"runs dir {runs} does not exist")


def test_a_new_run_named_like_markup_trains_and_says_so_literally(tmp_path: Path, fault_data: Path) -> None:
    done = cnnreport(
        "train", "--epochs", "1", "--threads", "1", "--name", "[red]x", "--runs-dir", tmp_path / "[/x]",
        "--data-dir", fault_data,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = "".join(done.stderr.split("\n"))
    assert f"saved in {tmp_path / '[/x]' / '[red]x'}" in said
    assert "[red]x: 1 epoch, running train accuracy" in said


# ---- 4: a checkpoint of another run is refused by every command ----------------------------
@pytest.fixture
def four_class_run(tmp_path_factory: pytest.TempPathFactory, fault_data: Path) -> RunDir:
    runs = tmp_path_factory.mktemp("four")
    common = ["--runs-dir", runs, "--data-dir", fault_data, "--threads", "1"]
    assert cli("train", "--classes", "4", "--epochs", "1", "--name", "four", *common).exit_code == 0
    return RunDir(runs / "four")


@pytest.mark.parametrize("command", ["evaluate", "inspect", "report", "train --resume"])
def test_a_checkpoint_from_another_run_is_refused_naming_both_files(
    tmp_path: Path, fault_data: Path, reference: RunDir, four_class_run: RunDir, command: str
) -> None:
    run = copy_run(reference, tmp_path / "runs")
    shutil.copyfile(four_class_run.checkpoint_file, run.checkpoint_file)
    if command == "report":
        args = ["report", "reference", "--runs-dir", tmp_path / "runs", "-o", tmp_path / "r.html"]
    else:
        args = run_command(command, tmp_path / "runs", fault_data)
    result = cli(*args)
    if command == "train --resume":
        assert_fails(result, 2, str(run.checkpoint_file))
    else:
        assert_fails(result, 2, str(run.checkpoint_file), str(run.config_file), "classes 4 vs 10")
    assert not run.evaluation_file.exists() and not (tmp_path / "r.html").exists()


# ---- 7: absurd JSON is bad input naming the file ------------------------------------------
ABSURD = {
    "nested 300000 deep": "[" * 300_000 + "]" * 300_000,
    "nested 100 deep inside a document": '{"schema_version": 1, "config": ' + "[" * 100 + "]" * 100 + "}",
    "a number of 100000 digits": '{"schema_version": 1, "config": ' + "9" * 100_000 + "}",
    "not UTF-8": b"\xff\xfe{".decode("latin-1"),
}


@pytest.mark.parametrize("absurd", ABSURD)
@pytest.mark.parametrize("command", ["evaluate", "inspect", "report", "train --resume"])
def test_absurd_json_in_a_run_file_is_exit_2_naming_it(
    tmp_path: Path, fault_data: Path, reference: RunDir, absurd: str, command: str
) -> None:
    run = copy_run(reference, tmp_path / "runs")
    run.config_file.write_bytes(ABSURD[absurd].encode("latin-1"))
    if command == "report":
        args = ["report", "--runs-dir", tmp_path / "runs", "-o", tmp_path / "r.html"]
    else:
        args = run_command(command, tmp_path / "runs", fault_data)
    assert_fails(cli(*args), 2, str(run.config_file))


def test_deeply_nested_status_json_in_a_real_process_is_one_line(tmp_path: Path, reference: RunDir) -> None:
    run = copy_run(reference, tmp_path / "runs")
    run.status_file.write_text("{" + '"a":{' * 200_000 + "}" * 200_001)
    done = cnnreport("report", "--runs-dir", tmp_path / "runs", "-o", tmp_path / "r.html")
    assert done.returncode == 2, done.stderr
    error_line(done.stderr, str(run.status_file))


# ---- 10: unsafe checkpoints are refused in cnnreport's words, nothing else on stderr -------
def test_an_unsafe_checkpoint_is_refused_in_our_words_only(tmp_path: Path, reference: RunDir) -> None:
    from tests.faults.test_untrusted_files import plant

    run = copy_run(reference, tmp_path / "runs")
    marker = tmp_path / "pwned"
    plant(run.checkpoint_file, marker, "torch.save")
    done = cnnreport("evaluate", "reference", "--runs-dir", tmp_path / "runs", "--data-dir", tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        error_line(done.stderr, "refused: it holds more than tensors", "exec", "loading it could run code")
    ]
    assert "weights_only" not in done.stderr and "Warning" not in done.stderr
    assert not marker.exists()


# ---- 11: leftovers of killed commands are cleaned by the next one ---------------------------
def start_paused(*args: object, log: Path) -> subprocess.Popen[bytes]:
    """A cnnreport process whose every atomic write waits 30 s before its rename."""
    env = {**os.environ, "CNNREPORT_OFFLINE": "1", PAUSE_BEFORE_RENAME: "30"}
    with open(log, "wb") as stderr:
        return subprocess.Popen(slowed_command(*args), stderr=stderr, env=env)


def kill_when(process: subprocess.Popen[bytes], moment, log: Path) -> None:
    try:
        deadline = time.monotonic() + 120
        while not moment():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)


def test_temps_of_a_killed_evaluate_are_removed_by_the_next_evaluate(
    tmp_path: Path, fault_data: Path, reference: RunDir
) -> None:
    run = copy_run(reference, tmp_path / "runs")
    args = run_command("evaluate", tmp_path / "runs", fault_data)
    killed = start_paused(*args, log=tmp_path / "log")
    kill_when(killed, lambda: bool(temp_files(run)), tmp_path / "log")
    assert temp_files(run), "the kill should have left a temp file"
    assert cli(*args).exit_code == 0
    assert temp_files(run) == []


def test_temps_of_a_killed_report_are_removed_by_the_next_report(tmp_path: Path, reference: RunDir) -> None:
    copy_run(reference, tmp_path / "runs")
    out = tmp_path / "out"
    out.mkdir()
    args = ["report", "--runs-dir", tmp_path / "runs", "-o", out / "report.html", "--tsne-samples", "30"]
    killed = start_paused(*args, log=tmp_path / "log")
    kill_when(killed, lambda: any(out.glob(".report.html.*.tmp")), tmp_path / "log")
    assert any(out.glob(".report.html.*.tmp"))
    assert cli(*args).exit_code == 0
    assert list(out.glob(".*.tmp")) == [] and (out / "report.html").is_file()


def test_a_train_that_fails_before_its_first_epoch_leaves_no_run_dir(tmp_path: Path) -> None:
    empty = tmp_path / "no-data"
    empty.mkdir()
    result = cli("train", "--name", "new", "--runs-dir", tmp_path / "runs", "--data-dir", empty)
    assert_fails(result, 2, "mnist data not found")
    assert not (tmp_path / "runs" / "new").exists()


def test_a_run_without_a_checkpoint_is_reused_by_a_plain_train(tmp_path: Path, fault_data: Path) -> None:
    run = RunDir(tmp_path / "runs" / "again")
    run.path.mkdir(parents=True)
    run.write_json(run.config_file, {"config": {"epochs": 7}, "command": "an earlier failed try"})
    run.write_status("failed", error="diverged")
    common = ["--runs-dir", tmp_path / "runs", "--data-dir", fault_data, "--threads", "1"]
    assert cli("train", "--epochs", "1", "--name", "again", *common).exit_code == 0
    assert run.read_status()["status"] == "finished" and run.read_config().epochs == 1
    assert torch.load(run.checkpoint_file, weights_only=True)["epoch"] == 1
    assert json.loads(run.config_file.read_text())["threads"] == 1


# ---- 8: Ctrl-C in evaluate, inspect and report is exit 130 and one line --------------------
@pytest.mark.parametrize("command", ["evaluate", "inspect", "report"])
def test_ctrl_c_in_a_reading_command_exits_130_with_one_line(
    tmp_path: Path, fault_data: Path, reference: RunDir, command: str
) -> None:
    run = copy_run(reference, tmp_path / "runs")
    if command == "report":
        args = ["report", "--runs-dir", tmp_path / "runs", "-o", tmp_path / "r.html", "--tsne-samples", "30"]
        writing = lambda: any(tmp_path.glob(".r.html.*.tmp")) or bool(temp_files(run))  # noqa: E731
    else:
        args = run_command(command, tmp_path / "runs", fault_data)
        writing = lambda: bool(temp_files(run))  # noqa: E731
    log = tmp_path / "log"
    process = start_paused(*args, log=log)
    try:
        deadline = time.monotonic() + 120
        while not writing():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 130, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    error_line(log.read_text(), "interrupted:")
    assert temp_files(run) == [] and not list(tmp_path.glob(".*.tmp"))
