"""The write-up's augmentation, done for a whole batch of tensors at once.

Each image gets its own random rotation (up to +-10 degrees), translation (up to 10 % of
the side each way) and brightness factor (0.5 to 1.5), the same distributions as the
notebook's per-image torchvision transforms, but drawn and applied with one grid_sample
call per batch instead of a PIL round trip per image. Translation is
continuous (sub-pixel, bilinear), where torchvision's RandomAffine rounds to whole pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

MAX_DEGREES = 10.0
MAX_TRANSLATE = 0.1  # fraction of the image side
BRIGHTNESS = 0.5  # factor drawn from [1 - 0.5, 1 + 0.5]


@dataclass(frozen=True)
class AffineParams:
    """Per-image parameters: angle in degrees (clockwise), shift in pixels, brightness factor."""

    degrees: torch.Tensor  # [N]
    shift: torch.Tensor  # [N, 2] as (x, y) pixels, positive = right, down
    brightness: torch.Tensor  # [N]


def sample_params(n: int, side: int, generator: torch.Generator) -> AffineParams:
    """Draw independent parameters for n images."""
    uniform = torch.rand(n, 4, generator=generator) * 2 - 1  # in [-1, 1)
    return AffineParams(
        degrees=uniform[:, 0] * MAX_DEGREES,
        shift=uniform[:, 1:3] * MAX_TRANSLATE * side,
        brightness=1 + uniform[:, 3] * BRIGHTNESS,
    )


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
    grid = torch.stack((cos * dx + sin * dy, cos * dy - sin * dx), dim=-1)
    moved = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return (moved * params.brightness.to(images).view(n, 1, 1, 1)).clamp_(0, 1)


def _pixel_centres(size: int, like: torch.Tensor) -> torch.Tensor:
    """Pixel centres along one axis in [-1, 1] coordinates (align_corners=False)."""
    return (torch.arange(size, dtype=like.dtype, device=like.device) * 2 + 1) / size - 1


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Augment a batch [N, C, H, W] in [0, 1] with fresh parameters for every image."""
    return apply(images, sample_params(len(images), images.shape[-1], generator))
