"""What reaches stdout and the terminal: `list --json` is valid JSON whatever a run's files hold,
a closed pipe ends a command quietly, and terminal escape codes in run and sweep names are shown
escaped, never sent to the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnreport.console import printable
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import copy_run

ESC = "\x1b"
HOSTILE = f"evil{ESC}]0;owned{chr(7)}{ESC}[2J{ESC}[31m"  # sets the window title, clears the screen, turns red


def cnnreport(*args: object, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CNNREPORT_OFFLINE": "1"}
    command = [sys.executable, "-m", "cnnreport", *map(str, args)]
    return subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, text=True, env=env, timeout=120)


def refuse_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


# ---- 8. list --json and closed pipes ------------------------------------------------------------
@pytest.mark.parametrize("written", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_list_json_is_valid_json_when_a_metric_is_not_finite(tmp_path: Path, reference: RunDir, written: str) -> None:
    run = copy_run(reference, tmp_path / "runs")
    document = json.loads(run.metrics_file.read_text())
    document["epochs"][-1]["test_accuracy"] = "PLANTED"
    run.metrics_file.write_text(json.dumps(document).replace('"PLANTED"', written))  # what a hand edit may leave
    done = cnnreport("list", "--runs-dir", tmp_path / "runs", "--json")
    assert done.returncode == 0, done.stderr
    (line,) = json.loads(done.stdout, parse_constant=refuse_constant)["runs"]
    assert line["name"] == run.name and line["test_accuracy"] is None


@pytest.mark.parametrize("json_output", [False, True])
def test_a_closed_pipe_ends_list_without_an_error(tmp_path: Path, reference: RunDir, json_output: bool) -> None:
    copy_run(reference, tmp_path / "runs")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| true`) has gone before the first line is written
    as_json = ["--json"] if json_output else []
    try:
        done = cnnreport("list", "--runs-dir", tmp_path / "runs", *as_json, stdout=write_end)
    finally:
        os.close(write_end)
    assert done.stderr == "", done.stderr
    assert done.returncode == 141  # as a shell reports a tool that SIGPIPE ended


def test_list_piped_to_true_in_a_shell_prints_nothing_on_stderr(tmp_path: Path, reference: RunDir) -> None:
    copy_run(reference, tmp_path / "runs")
    command = f"{sys.executable} -m cnnreport list --runs-dir {tmp_path / 'runs'} | true"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr


# ---- 3. escape codes in names -------------------------------------------------------------------
def test_printable_escapes_control_characters_and_keeps_the_rest() -> None:
    assert printable(HOSTILE) == "evil\\x1b]0;owned\\x07\\x1b[2J\\x1b[31m"
    assert printable("a\nb\u202ec") == "a\\nb\\u202ec"
    assert printable("lr0.001-seed0 é 日本 [red]") == "lr0.001-seed0 é 日本 [red]"


def test_list_shows_escape_codes_in_run_names_escaped(tmp_path: Path, reference: RunDir) -> None:
    run = copy_run(reference, tmp_path / "runs")
    run.path.rename(tmp_path / "runs" / HOSTILE)
    done = cnnreport("list", "--runs-dir", tmp_path / "runs")
    assert done.returncode == 0, done.stderr
    assert ESC not in done.stdout and chr(7) not in done.stdout
    assert "evil\\x1b]0;owned\\x07" in done.stdout


def test_progress_and_error_lines_show_escape_codes_escaped(tmp_path: Path, fault_data: Path) -> None:
    sweep = [
        "sweep", "--grid", "lr=0.001", "--epochs", "1", "--limit", "100", "--jobs", "1", "--threads", "1",
        "--device", "cpu", "--name", HOSTILE, "--runs-dir", tmp_path / "runs", "--data-dir", fault_data,
    ]  # fmt: skip
    done = cnnreport(*sweep)
    assert done.returncode == 0, done.stderr
    assert ESC not in done.stderr and f"sweep {printable(HOSTILE)}: 1 runs" in done.stderr
    refused = cnnreport("evaluate", HOSTILE, "--runs-dir", tmp_path / "runs", "--data-dir", fault_data)
    assert refused.returncode == 2 and ESC not in refused.stderr and printable(HOSTILE) in refused.stderr
