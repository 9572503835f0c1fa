"""A real full disk and a real read-only runs dir (tiny tmpfs mounts; tests run as root, where
chmod does not stop writes): one clear error, exit 1, and the run dir as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cnnreport.errors import WorkFailed
from cnnreport.ml.checkpoint import load_checkpoint, save_checkpoint
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import (
    RUN_COMMANDS,
    assert_fails,
    assert_intact,
    assert_same_training,
    cli,
    copy_run,
    remount,
    run_command,
    snapshot,
    temp_files,
    train_command,
)

PAGE = 4096


def test_a_disk_that_fills_up_mid_run_keeps_the_last_checkpoint_and_resume_finishes(
    tmpfs, fault_data: Path, reference: RunDir
) -> None:
    # Room for one checkpoint and the small files, but not for a second checkpoint beside it,
    # which the atomic write of epoch 2 needs before it can replace the first.
    checkpoint = reference.checkpoint_file.stat().st_size
    runs_dir = tmpfs(int(1.5 * checkpoint) + 6 * PAGE)
    assert_fails(cli(*train_command(runs_dir, fault_data, "run")), 1, "checkpoint.pt", "disk full")
    run = RunDir(runs_dir / "run")
    assert_intact(run)
    assert load_checkpoint(run)["epoch"] == len(run.read_metrics()) == 1
    assert run.read_status()["status"] == "failed" and temp_files(run) == []
    remount(runs_dir, "size=64m")  # the user frees some space
    assert cli(*train_command(runs_dir, fault_data, "run", "--resume")).exit_code == 0
    assert_same_training(run, reference)


@pytest.mark.parametrize("command", RUN_COMMANDS)
def test_a_read_only_runs_dir_gives_one_error_and_stays_unchanged(
    tmpfs, fault_data: Path, reference: RunDir, command: str
) -> None:
    runs_dir = tmpfs(16 * 2**20)
    copy_run(reference, runs_dir)
    remount(runs_dir, "ro")
    before = snapshot(runs_dir)
    assert_fails(cli(*run_command(command, runs_dir, fault_data)), 1, "read-only file system")
    assert snapshot(runs_dir) == before


def test_a_checkpoint_bigger_than_the_free_space_is_a_disk_full_error(tmpfs) -> None:
    run = RunDir(tmpfs(16 * PAGE))
    save_checkpoint(run, {"epoch": 1})
    before = run.checkpoint_file.read_bytes()
    with pytest.raises(WorkFailed, match="checkpoint.pt: disk full"):  # not torch's opaque RuntimeError
        save_checkpoint(run, {"epoch": 2, "model": {"weights": torch.zeros(2**18)}})
    assert run.checkpoint_file.read_bytes() == before and temp_files(run) == []


def test_the_status_of_a_run_on_a_read_only_disk_can_be_read(tmpfs, reference: RunDir) -> None:
    runs_dir = tmpfs(16 * 2**20)
    run = copy_run(reference, runs_dir)
    run.write_status("running")  # read_status then checks whether the lock is held
    run.lock_file.touch()
    remount(runs_dir, "ro")
    assert run.read_status()["status"] == "interrupted"
