"""Batched augmentation: independent per-image draws that match torchvision's definition."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from cnnreport.config import ExperimentConfig
from cnnreport.ml.augment import WRITEUP_RANGES, AffineParams, Ranges, apply, augment, ranges_of, sample_params


def blob_image() -> torch.Tensor:
    image = torch.zeros(1, 28, 28)
    image[0, 5:12, 8:20] = 0.9
    image[0, 14:24, 17:19] = 0.6
    return image


@pytest.mark.parametrize(("degrees", "dx", "dy", "brightness"), [(10, 0, 0, 1.0), (0, 2.8, -1.5, 1.0), (-7, 2, 1, 1.4)])
def test_matches_torchvision_affine_and_brightness(degrees: float, dx: float, dy: float, brightness: float) -> None:
    image = blob_image()
    params = AffineParams(torch.tensor([float(degrees)]), torch.tensor([[dx, dy]]), torch.tensor([brightness]))
    ours = apply(image[None], params)[0]
    moved = TF.affine(image, angle=degrees, translate=[dx, dy], scale=1.0, shear=[0.0, 0.0],
                      interpolation=InterpolationMode.BILINEAR)  # fmt: skip
    reference = TF.adjust_brightness(moved, brightness)
    assert torch.allclose(ours, reference, atol=1e-5)


def test_each_image_of_a_batch_gets_its_own_transform() -> None:
    batch = blob_image().expand(8, 1, 28, 28).contiguous()
    out = augment(batch, torch.Generator().manual_seed(0))
    assert not torch.allclose(out[0], out[1])
    params = sample_params(8, 28, torch.Generator().manual_seed(0))
    assert len(set(params.degrees.tolist())) == 8 and len(set(params.brightness.tolist())) == 8


def test_parameters_stay_within_the_write_up_ranges() -> None:
    params = sample_params(10_000, 28, torch.Generator().manual_seed(1))
    assert params.degrees.abs().max() <= 10 and params.degrees.abs().max() > 0.99 * 10
    assert params.shift.abs().max() <= 0.1 * 28 and params.shift.abs().max() > 0.99 * 0.1 * 28
    assert params.brightness.min() >= 0.5 and params.brightness.max() <= 1.5


def test_rotate_and_shift_draw_within_their_ranges_and_keep_brightness() -> None:
    ranges = ranges_of(ExperimentConfig(rotate=8, shift=0.08))
    assert ranges == Ranges(degrees=8, translate=0.08, brightness=0)
    params = sample_params(10_000, 28, torch.Generator().manual_seed(1), ranges)
    assert 0.99 * 8 < params.degrees.abs().max() <= 8
    assert 0.99 * 0.08 * 28 < params.shift.abs().max() <= 0.08 * 28
    assert torch.equal(params.brightness, torch.ones(10_000))


def test_which_augmentation_a_config_trains_with() -> None:
    assert ranges_of(ExperimentConfig()) is None
    assert ranges_of(ExperimentConfig(augment=True)) == WRITEUP_RANGES
    assert ranges_of(ExperimentConfig(rotate=5)) == Ranges(degrees=5, translate=0, brightness=0)


def test_same_generator_state_gives_the_same_batch() -> None:
    batch = blob_image().expand(4, 1, 28, 28)
    first = augment(batch, torch.Generator().manual_seed(3))
    second = augment(batch, torch.Generator().manual_seed(3))
    assert torch.equal(first, second) and first.min() >= 0 and first.max() <= 1
