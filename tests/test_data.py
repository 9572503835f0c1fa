"""IDX loading through the real reader: layouts, compression, validation, grouping."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnreport.config import class_names
from cnnreport.errors import DataError
from cnnreport.ml.data import group_labels, load_split, load_study_data, parse_idx, read_idx
from tests.idx_files import idx_bytes, synthetic_split, write_dataset


@pytest.mark.parametrize("layout", ["flat", "torchvision"])
@pytest.mark.parametrize("gz", [False, True])
def test_loads_plain_or_gzipped_in_either_layout(tmp_path: Path, layout: str, gz: bool) -> None:
    write_dataset(tmp_path, train=50, test=30, gz=gz, layout=layout)
    split = load_split(tmp_path, "mnist", "train")
    images, labels = synthetic_split(50, seed=1)
    assert split.images.dtype == torch.uint8 and split.images.shape == (50, 28, 28)
    assert np.array_equal(split.images.numpy(), images)
    assert np.array_equal(split.labels.numpy(), labels)


def test_round_trip_of_the_idx_format() -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(array)), array)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw[:-5], "payload"),
        (lambda raw: b"\x01" + raw[1:], "magic"),
        (lambda raw: raw[:2] + b"\x0d" + raw[3:], "unsigned bytes"),
        (lambda raw: raw[:6], "truncated"),
    ],
)
def test_malformed_idx_is_refused_naming_the_file(tmp_path: Path, mutate, message: str) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(mutate(idx_bytes(np.zeros((3, 28, 28), np.uint8))))
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_corrupt_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(10, np.uint8)))[:-8])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz"):
        read_idx(path)


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    write_dataset(tmp_path, train=40, test=20)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(39, np.uint8)))
    with pytest.raises(DataError, match="40 images but train-labels-idx1-ubyte 39 labels"):
        load_split(tmp_path, "mnist", "train")


def test_missing_data_names_the_folder_and_files(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_split(tmp_path, "mnist", "test")
    message = str(info.value)
    assert str(tmp_path) in message and "t10k-images-idx3-ubyte" in message and "MNIST/raw" in message


def test_four_class_grouping_follows_the_write_up() -> None:
    digits = torch.arange(10)
    assert group_labels(digits, 4).tolist() == [0, 1, 2, 2, 3, 2, 0, 1, 2, 3]
    assert group_labels(digits, 10).tolist() == digits.tolist()
    assert class_names("mnist", 4) == ["{0,6}", "{1,7}", "{2,3,5,8}", "{4,9}"]
    assert class_names("fashion-mnist", 10)[9] == "Ankle boot"


def test_limit_keeps_the_first_training_images(tmp_path: Path) -> None:
    write_dataset(tmp_path, train=50, test=20)
    data = load_study_data(tmp_path, "mnist", 10, limit=7)
    images, _ = synthetic_split(50, seed=1)
    assert data.train_images.shape == (7, 1, 28, 28)
    assert torch.allclose(data.train_images[:, 0] * 255, torch.from_numpy(images[:7]).float())
    assert len(data.test_labels) == 20
