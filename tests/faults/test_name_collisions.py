"""A sweep and a plain run never share one folder, and `train --resume` never starts a run under a
name that has no folder:
each is refused in one line, exit 2, with nothing in the runs dir changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import assert_fails, cli, copy_run, snapshot, train_command


def sweep_command(runs_dir: Path, data_dir: Path, name: str) -> list[object]:
    return [
        "sweep", "--grid", "lr=0.001", "--epochs", "1", "--limit", "100", "--jobs", "1", "--threads", "1",
        "--device", "cpu", "--name", name, "--runs-dir", runs_dir, "--data-dir", data_dir,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def with_sweep(tmp_path_factory: pytest.TempPathFactory, fault_data: Path) -> Path:
    runs_dir = tmp_path_factory.mktemp("with-sweep")
    assert cli(*sweep_command(runs_dir, fault_data, "grid")).exit_code == 0
    return runs_dir


def test_sweep_refuses_a_name_that_is_a_run(tmp_path: Path, fault_data: Path, reference: RunDir) -> None:
    run = copy_run(reference, tmp_path)
    before = snapshot(tmp_path)
    result = cli(*sweep_command(tmp_path, fault_data, run.name))
    assert_fails(result, 2, str(run.path), "is a run's folder, not a sweep's", "--name")
    assert snapshot(tmp_path) == before and not (run.path / "sweep.json").exists()


def test_train_refuses_a_name_that_is_a_sweep(with_sweep: Path, fault_data: Path) -> None:
    before = snapshot(with_sweep)
    result = cli(*train_command(with_sweep, fault_data, "grid"))
    assert_fails(result, 2, str(with_sweep / "grid"), "is a sweep's folder, not a run's", "--name")
    assert snapshot(with_sweep) == before and not (with_sweep / "grid" / "config.json").exists()


def test_train_resume_of_a_run_that_does_not_exist_is_refused_and_makes_nothing(
    tmp_path: Path, fault_data: Path
) -> None:
    result = cli(*train_command(tmp_path / "runs", fault_data, "typo", "--resume"))
    assert_fails(result, 2, "--resume", "'typo'", "leave out --resume")
    assert not (tmp_path / "runs" / "typo").exists()


def test_train_resume_of_a_run_killed_before_its_first_epoch_still_starts_it(
    tmp_path: Path, fault_data: Path, reference: RunDir
) -> None:
    run = copy_run(reference, tmp_path)
    for path in (run.checkpoint_file, run.metrics_file, run.status_file):
        path.unlink()  # config.json alone: started, then killed before epoch 1 was saved
    assert cli(*train_command(tmp_path, fault_data, run.name, "--resume")).exit_code == 0
    assert run.read_status()["status"] == "finished"


def test_train_resume_of_a_run_killed_before_its_config_was_written_starts_it(tmp_path: Path, fault_data: Path) -> None:
    (tmp_path / "early").mkdir()  # the folder alone: killed between making it and writing config.json
    assert cli(*train_command(tmp_path, fault_data, "early", "--resume")).exit_code == 0
    assert RunDir(tmp_path / "early").read_status()["status"] == "finished"
