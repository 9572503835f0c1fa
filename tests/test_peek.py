"""Reading a checkpoint's plain fields without torch: the same values torch reads, and never code."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from cnnreport.storage.peek import plain_fields
from cnnreport.storage.rundir import RunDir


def test_plain_fields_are_what_torch_reads(trained_runs: Path):
    run = RunDir(trained_runs / "tiny4")
    ours, torchs = plain_fields(run.checkpoint_file), torch.load(run.checkpoint_file, weights_only=True)
    assert ours is not None
    assert {k: ours[k] for k in ("config", "epoch", "metrics", "normalization")} == {
        k: torchs[k] for k in ("config", "epoch", "metrics", "normalization")
    }


class Planted:
    """Pickles as a call to os.system: what a hostile checkpoint would hide."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_hostile_pickle_is_unreadable_and_runs_nothing(tmp_path: Path):
    marker = tmp_path / "ran"
    path = tmp_path / "checkpoint.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"config": Planted(marker)}))
    assert plain_fields(path) is None and not marker.exists()
    path.write_bytes(b"not a zip at all")
    assert plain_fields(path) is None
