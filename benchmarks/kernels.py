"""Two small choices the README states as measured, each side by side with its alternative.

1. Augmentation's sampling grid written out versus F.affine_grid (batches of 20, as in training).
2. Evaluation in batches of 128 versus batches of 1,000 (one thread, the 10,000 test images).

    python benchmarks/kernels.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from cnnreport.config import ExperimentConfig
from cnnreport.ml import inference
from cnnreport.ml.augment import AffineParams, apply, sample_params
from cnnreport.ml.data import default_data_dir, load_study_data, normalization_of
from cnnreport.ml.model import build_model
from cnnreport.system import machine_facts


def with_affine_grid(images: torch.Tensor, params: AffineParams) -> torch.Tensor:
    """The same transform as augment.apply, its grid made by F.affine_grid."""
    n, _, height, width = images.shape
    radians = params.degrees * (torch.pi / 180)
    cos, sin = torch.cos(radians), torch.sin(radians)
    sx, sy = params.shift[:, 0] * (2 / width), params.shift[:, 1] * (2 / height)
    theta = torch.stack(
        (torch.stack((cos, sin, -(cos * sx + sin * sy)), 1), torch.stack((-sin, cos, -(cos * sy - sin * sx)), 1)), 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    moved = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (moved * params.brightness.view(n, 1, 1, 1)).clamp_(0, 1)


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The fastest of `repeats` timings, in seconds: the least disturbed by other load."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def grid_versus_affine_grid(images: torch.Tensor, batches: int = 500) -> None:
    generator = torch.Generator().manual_seed(0)
    drawn = [(images[i * 20 : i * 20 + 20], sample_params(20, 28, generator)) for i in range(batches)]
    first, params = drawn[0]
    assert torch.allclose(apply(first, params), with_affine_grid(first, params), atol=1e-5)  # the same transform
    ours = best_of(5, lambda: [apply(x, p) for x, p in drawn])
    theirs = best_of(5, lambda: [with_affine_grid(x, p) for x, p in drawn])
    print(f"augmentation, {batches} batches of 20: grid written out {ours * 1e3:.0f} ms, "
          f"affine_grid {theirs * 1e3:.0f} ms; written out costs {ours / theirs:.2f} of affine_grid")  # fmt: skip


def evaluation_batches(images: torch.Tensor) -> None:
    torch.manual_seed(0)
    model = build_model(ExperimentConfig()).to(memory_format=torch.channels_last)
    normalization = normalization_of(images)
    rates = {}
    for size in (128, 1000):
        inference.EVAL_BATCH = size  # what predict() reads
        rates[size] = len(images) / best_of(3, lambda: inference.predict(model, images, normalization))
    print(f"evaluation of {len(images):,} images, one thread: batches of 128 {rates[128]:,.0f} images/s, "
          f"of 1,000 {rates[1000]:,.0f} images/s; ratio {rates[128] / rates[1000]:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    args = parser.parse_args()
    facts = machine_facts()
    print(f"machine: {facts['processor']}, {facts['cores']} cores, torch {facts['versions']['torch']}")
    torch.set_num_threads(1)
    images = load_study_data(args.data_dir, "mnist", 10).test_images
    grid_versus_affine_grid(images)
    evaluation_batches(images)


if __name__ == "__main__":
    main()
