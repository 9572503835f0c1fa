"""Every write into a run dir is all or nothing: when the disk refuses any step of it, the old
file is left exactly as it was, no temp file stays behind, and the error says why in one line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnreport.errors import WorkFailed
from cnnreport.ml.checkpoint import save_checkpoint
from cnnreport.storage import atomic
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import temp_files


def refuse(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    """A run dir holding an old, complete version of each kind of file."""
    run = RunDir(tmp_path)
    run.write_metrics([{"epoch": 1, "train_loss": 1.0, "train_accuracy": 0.5, "test_loss": 1.0,
                        "test_accuracy": 0.5, "seconds": 1.0}])  # fmt: skip
    run.write_arrays(run.predictions_file, logits=np.zeros((2, 10), np.float32))
    save_checkpoint(run, {"epoch": 1})
    return run


NEW_VERSIONS = {
    "metrics.json": lambda run: run.write_metrics([]),
    "predictions.npz": lambda run: run.write_arrays(run.predictions_file, logits=np.ones((5, 10), np.float32)),
    "checkpoint.pt": lambda run: save_checkpoint(run, {"epoch": 2, "model": {"w": torch.ones(1000)}}),
}
STEPS = {"creating the temp file": (atomic, "_open_new"), "fsync": (os, "fsync"), "rename": (os, "replace")}
REASONS = {errno.ENOSPC: "disk full", errno.EROFS: "read-only file system", errno.EIO: "Input/output error"}


@pytest.mark.parametrize("file_name", NEW_VERSIONS)
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("code", REASONS)
def test_a_refused_write_leaves_the_old_file_and_no_temp_file(
    run: RunDir, monkeypatch: pytest.MonkeyPatch, file_name: str, step: str, code: int
) -> None:
    old = (run.path / file_name).read_bytes()
    monkeypatch.setattr(*STEPS[step], refuse(code))
    with pytest.raises(WorkFailed) as failure:
        NEW_VERSIONS[file_name](run)
    assert str(failure.value).splitlines() == [
        f"cannot write {run.path / file_name}: {REASONS[code]}; the previous version is untouched"
    ]
    assert (run.path / file_name).read_bytes() == old
    assert temp_files(run) == []


def test_an_interrupted_write_leaves_the_old_file_and_no_temp_file(
    run: RunDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = run.metrics_file.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run.write_metrics([])
    assert run.metrics_file.read_bytes() == old and temp_files(run) == []


def test_a_successful_write_replaces_the_file_whole(run: RunDir) -> None:
    save_checkpoint(run, {"epoch": 2})
    assert torch.load(run.checkpoint_file, weights_only=True)["epoch"] == 2
    assert temp_files(run) == []
