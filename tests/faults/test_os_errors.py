"""What the operating system refuses is cnnreport's own one line, exit 2 (a name or place the user
chose) or 1 (a failure): names too long, files where folders must be, files we may not read,
and a standard output on a full device. Real processes, real files, real permissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import copy_run, snapshot
from tests.faults.hostile_user import SWEEP, SWEEP_RUN, assert_refused, cnnreport, runs_with_a_sweep


# ---- names longer than the file system allows ----------------------------------------------
def test_a_sweep_name_too_long(tmp_path: Path) -> None:
    done = cnnreport("sweep", "--grid", "lr=0.001", "--name", "s" * 300, "--runs-dir", tmp_path)
    assert_refused(done, 2, "300 bytes, more than the 255")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("output", ["r" * 300 + ".html", "/".join(["d" * 200] * 30) + "/report.html"])
def test_a_report_path_too_long(tmp_path: Path, reference: RunDir, output: str) -> None:
    copy_run(reference, tmp_path / "runs")
    assert_refused(cnnreport("report", "--runs-dir", tmp_path / "runs", "-o", tmp_path / output), 2, "cannot write")


def test_a_runs_dir_path_too_long_for_a_sweep(tmp_path: Path, fault_data: Path) -> None:
    runs = tmp_path.joinpath(*["d" * 250] * 20)
    done = cnnreport("sweep", "--grid", "lr=0.001", "--runs-dir", runs, "--data-dir", fault_data, "--device", "cpu")
    assert_refused(done, 2, "name too long")


# ---- a file where a folder must be -------------------------------------------------------------
def test_a_sweep_named_like_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("mine")
    done = cnnreport("sweep", "--grid", "lr=0.001", "--name", "notes", "--runs-dir", tmp_path)
    assert_refused(done, 2, "is a file, not a folder")
    assert (tmp_path / "notes").read_text() == "mine"


@pytest.mark.parametrize(
    "command",
    [["list"], ["report", "-o", "{tmp}/report.html"], ["sweep", "--grid", "lr=0.001"], ["train", "--epochs", "1"]],
    ids=["list", "report", "sweep", "train"],
)
def test_a_runs_dir_that_is_a_file(tmp_path: Path, command: list[str]) -> None:
    runs = tmp_path / "runs"
    runs.write_text("not a folder")
    done = cnnreport(*(word.format(tmp=tmp_path) for word in command), "--runs-dir", runs)
    assert_refused(done, 2, str(runs), "is a file, not a folder")
    assert runs.read_text() == "not a folder" and not (tmp_path / "report.html").exists()


# ---- files we may not read -------------------------------------------------------------------
@pytest.fixture
def runs(tmp_path: Path, reference: RunDir) -> Path:
    return runs_with_a_sweep(reference, tmp_path / "runs")


@pytest.mark.parametrize("locked", ["reference/config.json", "reference"], ids=["a run file", "a run folder"])
def test_list_shows_an_unreadable_run_and_goes_on(runs: Path, locked: str) -> None:
    (runs / locked).chmod(0)
    done = cnnreport("list", "--runs-dir", runs, "--json", as_user=True)
    assert done.returncode == 0, done.stderr
    lines = {line["name"]: line["status"] for line in json.loads(done.stdout)["runs"]}
    assert lines["reference"].startswith("unreadable:") and "permission denied" in lines["reference"]
    assert lines[f"{SWEEP}/{SWEEP_RUN}"] == "finished"  # the others are still listed


@pytest.mark.parametrize("named", [["reference"], []], ids=["named", "every run"])
@pytest.mark.parametrize("locked", ["reference/run.json", "reference/metrics.json", "reference"])
def test_report_names_an_unreadable_run(runs: Path, tmp_path: Path, locked: str, named: list[str]) -> None:
    (runs / locked).chmod(0)
    done = cnnreport("report", *named, "--runs-dir", runs, "-o", tmp_path / "report.html", as_user=True)
    assert_refused(done, 2, "reference", "permission denied")
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("locked", [f"{SWEEP_RUN}/config.json", SWEEP_RUN], ids=["a run file", "a run folder"])
def test_sweep_refuses_a_run_it_cannot_read(runs: Path, locked: str) -> None:
    (runs / SWEEP / locked).chmod(0)
    before = snapshot(runs / "reference")
    done = cnnreport("sweep", "--grid", "lr=0.001", "--name", SWEEP, "--runs-dir", runs, as_user=True)
    assert_refused(done, 2, SWEEP_RUN, "cannot read")
    assert snapshot(runs / "reference") == before


def test_an_unreadable_runs_dir(runs: Path) -> None:
    runs.chmod(0)
    done = cnnreport("list", env={"CNNREPORT_RUNS_DIR": str(runs)}, as_user=True)
    assert_refused(done, 2, f"cannot read runs dir {runs}: permission denied")


# ---- standard output on a full device ---------------------------------------------------------
@pytest.mark.parametrize(
    "command", [["list"], ["list", "--json"], ["evaluate", "reference", "--json", "--data-dir", "{data}"]]
)
def test_results_to_a_full_device(runs: Path, fault_data: Path, command: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = cnnreport(*(word.format(data=fault_data) for word in command), "--runs-dir", runs, stdout=full)
    assert_refused(done, 1, "cannot write the results to standard output: no space left on the device")
