"""Datasets in the IDX format (MNIST and friends): find, read, validate, group, batch."""

from __future__ import annotations

import gzip
import math
import os
import shutil
import socket
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cnnreport import config
from cnnreport.errors import DataError
from cnnreport.storage.folders import folder_from_environment
from cnnreport.storage.reading import read_regular

# torchvision's folder name for each dataset.
TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_UBYTE = 0x08
MAX_IDX_BYTES = 256 * 1024**2  # MNIST's largest file is 47 MB
IMAGE_SIDE = 28


@dataclass(frozen=True)
class Split:
    """One split held in memory: images as uint8 [N, 28, 28], labels as int64 [N]."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def default_data_dir() -> Path:
    return folder_from_environment("CNNREPORT_DATA_DIR", "data")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file of unsigned bytes (plain or gzipped) into an array, validating it."""
    try:
        content = read_regular(path, MAX_IDX_BYTES)
        raw = gzip.decompress(content) if path.suffix == ".gz" else content
    except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a gzip stream with corrupt data
        raise DataError(f"{path}: cannot read ({exc})") from None
    return parse_idx(raw, path.name)


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Parse IDX bytes; raise DataError for anything that is not a well-formed ubyte IDX."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{name}: not an IDX file (wrong magic number)")
    if raw[2] != IDX_UBYTE:
        raise DataError(f"{name}: IDX element type 0x{raw[2]:02x} is not unsigned bytes (0x08)")
    ndim = raw[3]
    if ndim not in (1, 3):
        raise DataError(f"{name}: IDX file has {ndim} dimensions; expected 1 (labels) or 3 (images)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)  # Python ints: np.prod would wrap sizes past 2**63 around to small ones
    if len(raw) - header != expected:
        raise DataError(f"{name}: IDX payload is {len(raw) - header} bytes; its header {shape} says {expected}")
    try:
        return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
    except ValueError:  # an empty array whose other sizes are too large for numpy
        raise DataError(f"{name}: IDX sizes {shape} are too large for an array") from None


def find_idx_file(data_dir: Path, dataset: str, stem: str) -> Path | None:
    """The file for `stem`, plain or .gz, flat in data_dir or in torchvision's layout."""
    folders = (data_dir, data_dir / TORCHVISION_FOLDERS[dataset] / "raw")
    for folder in folders:
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
    return None


def load_split(data_dir: Path, dataset: str, split: str) -> Split:
    """Load one split from disk, downloading it through torchvision first when absent."""
    if dataset not in TORCHVISION_FOLDERS:
        raise DataError(f"--dataset must be one of {', '.join(TORCHVISION_FOLDERS)}, not {dataset!r}")
    paths = _locate(data_dir, dataset, split)
    images, labels = (read_idx(p) for p in paths)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(f"{paths[0]}: expected images of shape [N, 28, 28], got {list(images.shape)}")
    if labels.ndim != 1:
        raise DataError(f"{paths[1]}: expected a 1-dimensional label file, got {list(labels.shape)}")
    if len(images) == 0:
        raise DataError(f"{paths[0]}: holds no images")
    if len(images) != len(labels):
        raise DataError(f"{paths[0].name} holds {len(images)} images but {paths[1].name} {len(labels)} labels")
    if labels.size and labels.max() >= 10:
        raise DataError(f"{paths[1]}: label {int(labels.max())} is outside 0..9")
    return Split(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


def require_files(data_dir: Path, dataset: str) -> None:
    """Fail now, with the one clear message, when a split's files cannot be found, fetched or read.

    Each file is read and checked in full: a truncated one must stop a sweep before it makes
    anything, not fail each of its runs.
    """
    for split in SPLIT_FILES:
        load_split(data_dir, dataset, split)


def _locate(data_dir: Path, dataset: str, split: str) -> tuple[Path, Path]:
    stems = SPLIT_FILES[split]
    found = [find_idx_file(data_dir, dataset, s) for s in stems]
    if None in found and _try_download(data_dir, dataset):
        found = [find_idx_file(data_dir, dataset, s) for s in stems]
    if found[0] is None or found[1] is None:
        folder = TORCHVISION_FOLDERS[dataset]
        raise DataError(
            f"{dataset} data not found in {data_dir}: expected {' and '.join(stems)} (plain or .gz) "
            f"there or in {data_dir / folder / 'raw'}; set --data-dir or CNNREPORT_DATA_DIR"
        )
    return found[0], found[1]


def _try_download(data_dir: Path, dataset: str) -> bool:
    """Let torchvision fetch the files; False when offline or forbidden (CNNREPORT_OFFLINE=1)."""
    if os.environ.get("CNNREPORT_OFFLINE") == "1":
        return False
    import torchvision.datasets as tvd

    loader = {"mnist": tvd.MNIST, "fashion-mnist": tvd.FashionMNIST, "kmnist": tvd.KMNIST}[dataset]
    made = _first_missing(data_dir, data_dir / TORCHVISION_FOLDERS[dataset] / "raw")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)
    try:
        for train in (True, False):
            loader(str(data_dir), train=train, download=True)
        return True
    except Exception:  # any network or disk failure: report the missing files instead
        if made is not None:  # what the failed download made holds nothing of use
            shutil.rmtree(made, ignore_errors=True)
        return False
    finally:
        socket.setdefaulttimeout(previous)


def _first_missing(top: Path, inner: Path) -> Path | None:
    """The outermost folder from `top` down to `inner` that does not exist yet, if any."""
    chain = [inner, *inner.parents]
    missing = [folder for folder in chain[: chain.index(top) + 1] if not folder.exists()]
    return missing[-1] if missing else None


def group_labels(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """Map 0..9 labels to the model's classes (identity for 10, DIGIT_GROUPS for 4)."""
    if classes == 10:
        return labels
    return GROUP_OF_LABEL.to(labels.device)[labels]


GROUP_OF_LABEL = torch.tensor(config.GROUP_OF_LABEL)  # label 0..9 -> its group, as a tensor


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 28, 28] -> float32 [N, 1, 28, 28] in [0, 1]."""
    return images.unsqueeze(1).float().div_(255.0)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Unit-float images [N, 1, 28, 28] back to uint8 [N, 28, 28], as stored for the report."""
    return images[:, 0].mul(255).round().to(torch.uint8).numpy()


def batches(n: int, batch_size: int, generator: torch.Generator | None = None):
    """Index tensors for one pass over n items: shuffled when a generator is given."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return order.split(batch_size)


@dataclass(frozen=True)
class StudyData:
    """Both splits as model-ready tensors: unit-float images, labels mapped to the classes."""

    train_images: torch.Tensor  # float32 [N, 1, 28, 28] in [0, 1]
    train_labels: torch.Tensor  # int64 [N], model classes
    test_images: torch.Tensor
    test_labels: torch.Tensor
    test_digits: torch.Tensor  # int64 [N], the original 0..9 labels
    # The held-out end of the training images (--validation); empty when none is held out.
    validation_images: torch.Tensor = torch.empty(0, 1, IMAGE_SIDE, IMAGE_SIDE)
    validation_labels: torch.Tensor = torch.empty(0, dtype=torch.int64)


def load_study_data(
    data_dir: Path, dataset: str, classes: int, limit: int | None = None, validation: int = 0
) -> StudyData:
    """Both splits; the last `validation` of the first `limit` training images are held out, never trained on."""
    train, test = load_split(data_dir, dataset, "train"), load_split(data_dir, dataset, "test")
    kept = len(train.images[:limit])
    if validation >= kept:
        raise DataError(f"--validation {validation} would hold out all {kept} training images")
    cut = kept - validation
    return StudyData(
        train_images=to_unit_float(train.images[:cut]),
        train_labels=group_labels(train.labels[:cut], classes),
        test_images=to_unit_float(test.images),
        test_labels=group_labels(test.labels, classes),
        test_digits=test.labels,
        validation_images=to_unit_float(train.images[cut:kept]),
        validation_labels=group_labels(train.labels[cut:kept], classes),
    )


def normalization_of(images: torch.Tensor) -> tuple[float, float]:
    """Mean and std of the training images, so inputs are normalised to mean 0, std 1."""
    return float(images.mean()), float(images.std())
