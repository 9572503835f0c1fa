"""The write-up's augmentation, and a milder one, done for a whole batch of tensors at once.

With the write-up's ranges each image gets its own random rotation (up to +-10 degrees),
translation (up to 10 % of the side each way) and brightness factor (0.5 to 1.5), the same
distributions as the notebook's per-image torchvision transforms, but drawn and applied with
one grid_sample call per batch instead of a PIL round trip per image. Translation is
continuous (sub-pixel, bilinear), where torchvision's RandomAffine rounds to whole pixels.
`--rotate` and `--shift` choose other ranges, with brightness left alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cnnreport.config import ExperimentConfig


@dataclass(frozen=True)
class AffineParams:
    """Per-image parameters: angle in degrees (clockwise), shift in pixels, brightness factor."""

    degrees: torch.Tensor  # [N]
    shift: torch.Tensor  # [N, 2] as (x, y) pixels, positive = right, down
    brightness: torch.Tensor  # [N]


@dataclass(frozen=True)
class Ranges:
    """How far augmentation may change an image; each parameter is drawn uniformly within +-its range."""

    degrees: float  # rotation
    translate: float  # shift along each axis, as a fraction of the image side
    brightness: float  # factor drawn from [1 - brightness, 1 + brightness]

    def params(self, uniform: torch.Tensor, side: int) -> AffineParams:
        """Map uniform draws in [-1, 1), shape [N, 4], to parameters within these ranges."""
        return AffineParams(
            degrees=uniform[:, 0] * self.degrees,
            shift=uniform[:, 1:3] * self.translate * side,
            brightness=1 + uniform[:, 3] * self.brightness,
        )


WRITEUP_RANGES = Ranges(degrees=10.0, translate=0.1, brightness=0.5)  # --augment


def ranges_of(config: ExperimentConfig) -> Ranges | None:
    """The augmentation a run trains with: the write-up's (--augment), --rotate/--shift's, or none."""
    if config.augment:
        return WRITEUP_RANGES
    if config.mild_augment:
        return Ranges(degrees=config.rotate, translate=config.shift, brightness=0.0)
    return None


def sample_params(n: int, side: int, generator: torch.Generator, ranges: Ranges = WRITEUP_RANGES) -> AffineParams:
    """Draw independent parameters for n images."""
    return ranges.params(torch.rand(n, 4, generator=generator) * 2 - 1, side)  # uniform in [-1, 1)


def apply(images: torch.Tensor, params: AffineParams) -> torch.Tensor:
    """Rotate about the centre, shift, scale brightness: images [N, C, H, W] in [0, 1]."""
    n, _, height, width = images.shape
    radians = (params.degrees * (math.pi / 180)).to(images).view(n, 1, 1)
    cos, sin = torch.cos(radians), torch.sin(radians)
    # grid_sample wants, for each output pixel, the input location it samples, in
    # coordinates normalised to [-1, 1]: the inverse transform of the pixel's centre (undo
    # the shift, then rotate back). Written out, this is what F.affine_grid computes, but
    # cheaper on batches of 20, where its tiny batched matrix product dominates
    # (benchmarks/kernels.py measures both side by side).
    shift = params.shift.to(images)
    dx = _pixel_centres(width, images).view(1, 1, width) - (shift[:, 0] * (2 / width)).view(n, 1, 1)
    dy = _pixel_centres(height, images).view(1, height, 1) - (shift[:, 1] * (2 / height)).view(n, 1, 1)
    # Written straight into the two interleaved halves of the grid: on the CPU, stacking them
    # along the last axis cost twice as much as everything else here together.
    grid = torch.empty(n, height, width, 2, dtype=images.dtype, device=images.device)
    x, y = grid.unbind(-1)
    torch.add(cos * dx, sin * dy, out=x)
    torch.sub(cos * dy, sin * dx, out=y)
    moved = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (moved * params.brightness.to(images).view(n, 1, 1, 1)).clamp_(0, 1)


def _pixel_centres(size: int, like: torch.Tensor) -> torch.Tensor:
    """Pixel centres along one axis in [-1, 1] coordinates (align_corners=False)."""
    return (torch.arange(size, dtype=like.dtype, device=like.device) * 2 + 1) / size - 1


def augment(images: torch.Tensor, generator: torch.Generator, ranges: Ranges = WRITEUP_RANGES) -> torch.Tensor:
    """Augment a batch [N, C, H, W] in [0, 1] with fresh parameters for every image."""
    return apply(images, sample_params(len(images), images.shape[-1], generator, ranges))
