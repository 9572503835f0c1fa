"""`report -o` and `reproduce -o` never write over a run's or a sweep's files, nor into a pipe or a
device: such a place is refused (exit 2) before any work, and every file stays as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import copy_run, snapshot
from tests.faults.hostile_user import SWEEP, SWEEP_RUN, assert_refused, cnnreport, runs_with_a_sweep

# Places inside the runs dir's run and sweep folders, as paths relative to the runs dir.
INSIDE_RUNS = {
    "a run's metrics.json": "reference/metrics.json",
    "a run's checkpoint.pt": "reference/checkpoint.pt",
    "a run's config.json": "reference/config.json",
    "a new file in a run folder": "reference/report.html",
    "a sweep's sweep.json": f"{SWEEP}/sweep.json",
    "a new file in a sweep folder": f"{SWEEP}/report.html",
    "a run of a sweep": f"{SWEEP}/{SWEEP_RUN}/metrics.json",
    "through '..' back into a run": f"{SWEEP}/../reference/run.json",
}


@pytest.mark.parametrize("place", INSIDE_RUNS.values(), ids=INSIDE_RUNS.keys())
def test_report_refuses_to_write_into_a_run_or_sweep(tmp_path: Path, reference: RunDir, place: str) -> None:
    runs = runs_with_a_sweep(reference, tmp_path / "runs")
    before = snapshot(runs)
    done = cnnreport("report", "--runs-dir", runs, "-o", runs / place)
    assert_refused(done, 2, "cannot write", "a run's or sweep's folder")
    assert snapshot(runs) == before  # nothing replaced, nothing added


def test_reproduce_refuses_before_training(tmp_path: Path, reference: RunDir, fault_data: Path) -> None:
    runs = runs_with_a_sweep(reference, tmp_path / "runs")
    before = snapshot(runs)
    done = cnnreport("reproduce", "--runs-dir", runs, "--data-dir", fault_data, "-o", runs / "reference/metrics.json")
    assert_refused(done, 2, "a run's or sweep's folder")
    assert snapshot(runs) == before


def test_a_run_named_by_path_outside_the_runs_dir_is_protected(tmp_path: Path, reference: RunDir) -> None:
    run = copy_run(reference, tmp_path / "elsewhere")
    before = snapshot(run.path)
    done = cnnreport("report", run.path, "--runs-dir", tmp_path / "runs", "-o", run.metrics_file)
    assert_refused(done, 2, str(run.path))
    assert snapshot(run.path) == before


def test_a_named_pipe_is_refused_without_being_opened(tmp_path: Path, reference: RunDir) -> None:
    runs = runs_with_a_sweep(reference, tmp_path / "runs")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    done = cnnreport("report", "--runs-dir", runs, "-o", pipe)  # opening the pipe to write would block: timeout
    assert_refused(done, 2, "named pipe, not a regular file")


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_a_device_is_refused(tmp_path: Path, reference: RunDir, device: str) -> None:
    runs = runs_with_a_sweep(reference, tmp_path / "runs")
    assert_refused(cnnreport("report", "--runs-dir", runs, "-o", device), 2, "a device, not a regular file")


def test_a_link_into_a_run_is_refused(tmp_path: Path, reference: RunDir) -> None:
    """A folder outside the runs dir that is a link to a run folder is that run folder."""
    runs = runs_with_a_sweep(reference, tmp_path / "runs")
    (tmp_path / "shortcut").symlink_to(runs / "reference")
    before = snapshot(runs)
    done = cnnreport("report", "--runs-dir", runs, "-o", tmp_path / "shortcut" / "metrics.json")
    assert_refused(done, 2, "a run's or sweep's folder")
    assert snapshot(runs) == before


def test_a_report_beside_the_runs_is_still_written(tmp_path: Path, reference: RunDir) -> None:
    """The guard is about run and sweep folders, not the runs dir: a report may sit next to the runs."""
    runs = tmp_path / "runs"
    copy_run(reference, runs)
    done = cnnreport("report", "--runs-dir", runs, "-o", runs / "report.html", "--tsne-samples", "10")
    assert done.returncode == 0, done.stderr
    assert (runs / "report.html").read_bytes().startswith(b"<!doctype html>")
