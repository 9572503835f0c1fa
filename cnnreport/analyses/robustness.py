"""Robustness curves: test accuracy on one shared set of perturbed test images.

Every run sees exactly the same perturbed pixels: the image subset and every per-image
random choice (rotation sign, shift direction, noise field) come from a generator seeded
with a constant, never from the run's seed. Curves of different runs are therefore paired
comparisons, and the per-image draws are reused across strengths so each curve is smooth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cnnreport.analyses.perturbations import IMAGES, PERTURBATIONS, SEED
from cnnreport.ml.augment import AffineParams, apply

# Takes unit-float images [N, 1, H, W] and returns predicted classes [N].
Predictor = Callable[[torch.Tensor], np.ndarray]


@dataclass(frozen=True)
class Draws:
    """Per-image random choices, drawn once and scaled by each strength."""

    rotation_sign: torch.Tensor  # [N] of +-1
    shift_sign: torch.Tensor  # [N, 2] of +-1
    noise: torch.Tensor  # [N, 1, H, W] standard normal

    def head(self, count: int) -> Draws:
        return Draws(self.rotation_sign[:count], self.shift_sign[:count], self.noise[:count])


def shared_subset(total: int, count: int = IMAGES) -> torch.Tensor:
    """The same sorted test indices for every run of a dataset."""
    generator = torch.Generator().manual_seed(SEED)
    return torch.randperm(total, generator=generator)[: min(count, total)].sort().values


def draw(n: int, side: int) -> Draws:
    generator = torch.Generator().manual_seed(SEED + 1)

    def signs(*shape: int) -> torch.Tensor:
        return torch.randint(0, 2, shape, generator=generator).float() * 2 - 1

    return Draws(signs(n), signs(n, 2), torch.randn(n, 1, side, side, generator=generator))


def perturb(images: torch.Tensor, kind: str, strength: float, draws: Draws) -> torch.Tensor:
    """Images [N, 1, H, W] in [0, 1] perturbed by one kind at one strength."""
    n, side = len(images), images.shape[-1]
    if kind == "noise":
        return (images + strength * draws.noise).clamp_(0, 1)
    zeros, ones = torch.zeros(n), torch.ones(n)
    params = {
        "rotation": AffineParams(draws.rotation_sign * strength, torch.zeros(n, 2), ones),
        "translation": AffineParams(zeros, draws.shift_sign * strength * side, ones),
        "brightness": AffineParams(zeros, torch.zeros(n, 2), torch.full((n,), float(strength))),
    }[kind]
    return apply(images, params)


def accuracy_curves(predict: Predictor, images: torch.Tensor, labels: np.ndarray) -> dict[str, list[float]]:
    """Accuracy at every strength of every kind; the unperturbed images are scored once."""
    draws = draw(len(images), images.shape[-1])
    clean = float((predict(images) == labels).mean())
    curves = {}
    for p in PERTURBATIONS:
        scores = [clean] + [
            float((predict(perturb(images, p.kind, s, draws)) == labels).mean()) for s in p.strengths[1:]
        ]
        curves[p.kind] = scores
    return curves


def robustness(predict: Predictor, test_images: torch.Tensor, test_labels: np.ndarray) -> dict[str, Any]:
    """The JSON-able robustness result for one run (evaluate's 'robustness' field)."""
    index = shared_subset(len(test_images))
    curves = accuracy_curves(predict, test_images[index], np.asarray(test_labels)[index.numpy()])
    return {
        "images": len(index),
        "seed": SEED,
        "kinds": {
            p.kind: {"axis": p.axis, "strengths": list(p.strengths), "accuracy": curves[p.kind]} for p in PERTURBATIONS
        },
    }


def examples(test_images: torch.Tensor, count: int = 2) -> np.ndarray:
    """uint8 [kinds, count, strengths, H, W]: the first shared images at every strength, to show."""
    index = shared_subset(len(test_images))
    images = test_images[index[:count]]
    draws = draw(len(index), images.shape[-1]).head(count)  # the draws evaluate used for these images
    grid = [[perturb(images, p.kind, s, draws)[:, 0] for s in p.strengths] for p in PERTURBATIONS]
    stacked = torch.stack([torch.stack(row, dim=1) for row in grid])
    return stacked.mul(255).round().to(torch.uint8).numpy()
