"""The real MNIST copy through the real loading code (skipped where the copy is absent)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cnnreport.ml.checkpoint import load_checkpoint
from cnnreport.ml.data import load_split, load_study_data, normalization_of
from cnnreport.storage.rundir import RunDir
from tests.helpers import REAL_MNIST, invoke

RAW = REAL_MNIST / "MNIST" / "raw"
pytestmark = pytest.mark.skipif(
    not (RAW / "t10k-labels-idx1-ubyte").exists() and not (RAW / "t10k-labels-idx1-ubyte.gz").exists(),
    reason=f"no MNIST copy at {RAW} (set CNNREPORT_DATA_DIR to a folder holding MNIST/raw)",
)


def test_copy_matches_its_checksums() -> None:
    sums = REAL_MNIST / "MNIST" / "SHA256SUMS"
    if not sums.exists():
        pytest.skip("the copy has no SHA256SUMS file")
    for line in sums.read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((RAW / Path(name).name).read_bytes()).hexdigest() == digest, name


def test_official_sizes_and_class_counts() -> None:
    train, test = load_split(REAL_MNIST, "mnist", "train"), load_split(REAL_MNIST, "mnist", "test")
    assert train.images.shape == (60_000, 28, 28) and test.images.shape == (10_000, 28, 28)
    assert test.labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_normalisation_constants_are_the_training_sets_own() -> None:
    """docs/findings.md's 0.1307 / 0.3081: mean and std of the 60,000 training images, in [0, 1] units."""
    data = load_study_data(REAL_MNIST, "mnist", 10)
    mean, std = normalization_of(data.train_images)
    assert (round(mean, 4), round(std, 4)) == (0.1307, 0.3081)


@pytest.mark.slow
def test_one_short_epoch_on_real_mnist_learns(tmp_path: Path) -> None:
    common = ["--runs-dir", tmp_path, "--data-dir", REAL_MNIST]
    result = invoke("train", "--limit", "10000", "--epochs", "1", "--name", "real", *common)
    assert result.exit_code == 0, result.output
    result = invoke("evaluate", "real", "--json", *common)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["test_accuracy"] > 0.85
    first_images = load_study_data(REAL_MNIST, "mnist", 10, limit=10000).train_images
    stored = load_checkpoint(RunDir(tmp_path / "real"))["normalization"]
    assert stored == pytest.approx(normalization_of(first_images))  # of the images it trained on
