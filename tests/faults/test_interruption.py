"""kill -9 or Ctrl-C at any moment of `cnnreport train`, then `--resume`: the exact result of an
uninterrupted run, and a run dir whose every file is complete in between."""

from __future__ import annotations

import random
import shlex
import signal
import time
from pathlib import Path

import pytest

from cnnreport.ml.checkpoint import load_checkpoint
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import (
    EPOCHS,
    assert_intact,
    assert_same_training,
    cli,
    epochs_saved,
    error_line,
    train_command,
    writing,
)

PAUSE = 0.5  # seconds each atomic write waits before its rename: the poller cannot miss it
WRITES_AFTER_LOCK = 2 + 2 * EPOCHS + 1  # config, 'running', checkpoint + metrics per epoch, 'finished'

KILL_MOMENTS = {
    "after epoch 1 is saved": lambda run: epochs_saved(run) >= 1,
    "after epoch 3 is saved": lambda run: epochs_saved(run) >= 3,
    "while epoch 2's checkpoint is written": lambda run: epochs_saved(run) == 1 and writing(run, "checkpoint.pt"),
    "after the last checkpoint, before metrics.json": (
        lambda run: epochs_saved(run) == EPOCHS - 1 and writing(run, "metrics.json")
    ),
    "while the finished status is written": lambda run: epochs_saved(run) == EPOCHS and writing(run, "run.json"),
}


def resume(runs_dir: Path, data_dir: Path, name: str) -> None:
    result = cli(*train_command(runs_dir, data_dir, name, "--resume"))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("moment", KILL_MOMENTS)
def test_kill_9_then_resume_gives_the_uninterrupted_result(
    tmp_path: Path, fault_data: Path, reference: RunDir, start_training, moment: str
) -> None:
    training = start_training(tmp_path, fault_data, "run", pause=PAUSE)
    training.wait_until(KILL_MOMENTS[moment])
    training.kill()
    assert_intact(training.run)
    assert training.run.read_status()["status"] == "interrupted"  # 'running' with a free lock
    resume(tmp_path, fault_data, "run")
    assert_same_training(training.run, reference)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_a_random_moment_then_resume_gives_the_uninterrupted_result(
    tmp_path: Path, fault_data: Path, reference: RunDir, start_training, seed: int
) -> None:
    # From taking its lock the process needs at least WRITES_AFTER_LOCK pauses to finish, so a
    # delay below that lands while it still runs, however fast or loaded the machine is.
    pause = 0.15
    training = start_training(tmp_path, fault_data, "run", pause=pause)
    training.wait_until(lambda run: training.holds_lock())
    time.sleep(random.Random(seed).uniform(0, WRITES_AFTER_LOCK * pause))
    training.kill()
    assert_intact(training.run)
    assert training.run.read_status()["status"] in ("missing", "interrupted")  # never 'running'
    resume(tmp_path, fault_data, "run")
    assert_same_training(training.run, reference)


CTRL_C_MOMENTS = {
    "during training": lambda run: epochs_saved(run) >= 1,
    "during a checkpoint write": lambda run: epochs_saved(run) == 1 and writing(run, "checkpoint.pt"),
}


@pytest.mark.parametrize("moment", CTRL_C_MOMENTS)
def test_ctrl_c_saves_the_last_complete_epoch_and_prints_the_resume_command(
    tmp_path: Path, fault_data: Path, reference: RunDir, start_training, moment: str
) -> None:
    training = start_training(tmp_path, fault_data, "run", pause=PAUSE)
    training.wait_until(CTRL_C_MOMENTS[moment])
    training.process.send_signal(signal.SIGINT)
    assert training.finish() == 130
    message = error_line(training.stderr, "--resume", str(training.run.path))
    status = training.run.read_status()
    assert status["status"] == "interrupted"
    assert load_checkpoint(training.run)["epoch"] == status["epochs_done"] == epochs_saved(training.run) >= 1
    command = shlex.split(message.split("resume with: ", 1)[1])
    assert command[0] == "cnnreport" and command.count("--resume") == 1
    assert cli(*command[1:]).exit_code == 0
    assert_same_training(training.run, reference)
