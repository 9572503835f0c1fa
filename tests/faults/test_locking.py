"""Two `train` commands into one run name: the second refuses at once, the first is unharmed,
and the lock dies with its holder."""

from __future__ import annotations

from pathlib import Path

from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import assert_same_training, cli, error_line, train_command


def test_a_second_train_into_a_running_run_is_refused_and_the_first_is_unharmed(
    tmp_path: Path, fault_data: Path, reference: RunDir, start_training
) -> None:
    first = start_training(tmp_path, fault_data, "shared", pause=0.2)
    first.wait_until(lambda run: first.holds_lock())
    second = start_training(tmp_path, fault_data, "shared", "--resume")  # would train alongside, unlocked
    assert second.finish() == 2
    error_line(second.stderr, "'shared' is in use by process", str(first.process.pid))
    assert first.finish() == 0, first.stderr
    assert_same_training(first.run, reference)


def test_the_lock_of_a_killed_training_is_free_for_resume(
    tmp_path: Path, fault_data: Path, reference: RunDir, start_training
) -> None:
    training = start_training(tmp_path, fault_data, "run", pause=0.2)
    training.wait_until(lambda run: training.holds_lock())
    training.kill()
    assert not training.run.is_locked()
    assert cli(*train_command(tmp_path, fault_data, "run", "--resume")).exit_code == 0
    assert_same_training(training.run, reference)
