"""Perturbations against independent tensor operations; curves against a plain loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnreport.analyses import robustness
from cnnreport.analyses.perturbations import PERTURBATIONS
from cnnreport.analyses.robustness import Draws


def pattern_images(n: int = 6, side: int = 28) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(n, 1, side, side)
    images[:, :, 4:20, 6:14] = torch.rand(n, 1, 16, 8, generator=generator)  # off-centre, so moves show
    return images


def fixed_draws(n: int, side: int = 28) -> Draws:
    signs = torch.tensor([1.0, -1.0] * (n // 2))
    return Draws(signs, torch.stack([signs, -signs], dim=1), torch.randn(n, 1, side, side))


def test_shared_subset_is_the_same_for_every_call_and_sorted():
    first, second = robustness.shared_subset(10_000), robustness.shared_subset(10_000)
    assert torch.equal(first, second)
    assert len(first) == robustness.IMAGES
    assert torch.equal(first, first.sort().values)
    assert len(robustness.shared_subset(50)) == 50


def test_draws_are_deterministic():
    a, b = robustness.draw(8, 28), robustness.draw(8, 28)
    assert torch.equal(a.rotation_sign, b.rotation_sign) and torch.equal(a.noise, b.noise)
    assert set(a.rotation_sign.tolist()) <= {-1.0, 1.0}


@pytest.mark.parametrize("perturbation", PERTURBATIONS, ids=lambda p: p.kind)
def test_first_strength_leaves_images_unchanged(perturbation):
    images = pattern_images()
    out = robustness.perturb(images, perturbation.kind, perturbation.strengths[0], fixed_draws(len(images)))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)


def test_rotation_by_90_degrees_matches_rot90_in_each_drawn_direction():
    images = pattern_images()
    out = robustness.perturb(images, "rotation", 90, fixed_draws(len(images)))
    clockwise, anticlockwise = torch.rot90(images, -1, dims=(2, 3)), torch.rot90(images, 1, dims=(2, 3))
    torch.testing.assert_close(out[0::2], clockwise[0::2], atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1::2], anticlockwise[1::2], atol=1e-5, rtol=0)


def shifted(image: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Move pixels right by dx and down by dy, filling with zeros."""
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        ..., max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)
    ]
    return out


def test_translation_by_whole_pixels_matches_a_shift():
    images = pattern_images()
    draws = fixed_draws(len(images))
    out = robustness.perturb(images, "translation", 3 / 28, draws)  # 3 pixels along each axis
    for i in range(len(images)):
        dx, dy = (int(v) * 3 for v in draws.shift_sign[i])
        torch.testing.assert_close(out[i], shifted(images[i], dx, dy), atol=1e-5, rtol=0)


def test_brightness_and_noise_match_arithmetic():
    images = pattern_images()
    draws = fixed_draws(len(images))
    torch.testing.assert_close(robustness.perturb(images, "brightness", 0.4, draws), images * 0.4, atol=1e-6, rtol=0)
    noisy = robustness.perturb(images, "noise", 0.3, draws)
    torch.testing.assert_close(noisy, (images + 0.3 * draws.noise).clamp(0, 1))


def brightest_half(images: torch.Tensor) -> np.ndarray:
    """A stand-in classifier: 0 when the left half is brighter, else 1."""
    half = images.shape[-1] // 2
    return (images[..., half:].sum((1, 2, 3)) > images[..., :half].sum((1, 2, 3))).long().numpy()


def test_accuracy_curves_match_a_loop():
    generator = torch.Generator().manual_seed(5)
    images = torch.rand(40, 1, 28, 28, generator=generator) * (torch.arange(28) / 27)
    labels = np.array([0, 1] * 20)
    curves = robustness.accuracy_curves(brightest_half, images, labels)
    draws = robustness.draw(len(images), 28)
    for p in PERTURBATIONS:
        expected = [
            float(np.mean(brightest_half(robustness.perturb(images, p.kind, s, draws)) == labels)) for s in p.strengths
        ]
        assert curves[p.kind] == pytest.approx(expected)


def test_robustness_result_is_json_shaped():
    images = pattern_images(30)
    result = robustness.robustness(brightest_half, images, np.zeros(30, dtype=int))
    assert result["images"] == 30 and result["seed"] == robustness.SEED
    for p in PERTURBATIONS:
        entry = result["kinds"][p.kind]
        assert entry["strengths"] == list(p.strengths)
        assert len(entry["accuracy"]) == len(p.strengths)
        assert all(0.0 <= a <= 1.0 for a in entry["accuracy"])


def test_examples_show_the_evaluated_images():
    images = pattern_images(30)
    shown = robustness.examples(images, count=2)
    assert shown.shape == (len(PERTURBATIONS), 2, 6, 28, 28) and shown.dtype == np.uint8
    index = robustness.shared_subset(30)[:2]
    draws = robustness.draw(30, 28)
    rotated = robustness.perturb(images[robustness.shared_subset(30)], "rotation", 45, draws)[:2, 0]
    assert np.abs(shown[0, :, -1].astype(int) - rotated.mul(255).round().numpy()).max() <= 1
    assert np.abs(shown[0, :, 0].astype(int) - images[index, 0].mul(255).round().numpy()).max() <= 1
