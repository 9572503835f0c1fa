"""Write small synthetic IDX datasets: learnable class patterns, in the real file format."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from cnnreport.ml.data import SPLIT_FILES, TORCHVISION_FOLDERS


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: two zero bytes, type 0x08, ndim, big-endian sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def synthetic_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images where each label lights its own 6x6 square on a noisy background."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 40, size=(n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 4)
        images[i, 2 + 8 * row : 8 + 8 * row, 2 + 6 * col : 8 + 6 * col] = 220
    return images, labels.astype(np.uint8)


def write_dataset(
    folder: Path, train: int = 400, test: int = 200, gz: bool = False, layout: str = "flat", dataset: str = "mnist"
) -> Path:
    """Write the four IDX files; layout 'flat' or 'torchvision' (<folder>/MNIST/raw, FashionMNIST/raw, ...)."""
    target = folder if layout == "flat" else folder / TORCHVISION_FOLDERS[dataset] / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", train, 1), ("test", test, 2)):
        images, labels = synthetic_split(n, seed)
        for stem, array in zip(SPLIT_FILES[split], (images, labels), strict=True):
            data = idx_bytes(array)
            if gz:
                (target / f"{stem}.gz").write_bytes(gzip.compress(data))
            else:
                (target / stem).write_bytes(data)
    return folder
