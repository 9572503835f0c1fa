"""Efficiency counts, the saved first-layer kernels, and the efficiency figure's axes."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch

from cnnreport.analyses.efficiency import efficiency
from cnnreport.analyses.filters import first_layer_kernels
from cnnreport.analyses.seeds import Spread
from cnnreport.ml.model import StudyCNN
from cnnreport.report.figures.study import Point, efficiency_figure


def conv_mult_adds(model: StudyCNN) -> int:
    """Multiply-adds by hand, counted torchinfo's way: every weight and bias once per output position."""
    outputs = {"conv1": 16 * 28 * 28, "conv2": 8 * 14 * 14, "conv3": 4 * 4 * 4}
    total = 0
    for name, elements in outputs.items():
        conv = getattr(model, name)
        total += elements * (conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1] + 1)
    return total + (model.fc.in_features + 1) * model.fc.out_features


@pytest.mark.parametrize("classes, params", [(10, 4470), (4, 4368)])
def test_counts_match_the_write_up_and_a_hand_count(classes, params):
    model = StudyCNN(classes=classes).to(memory_format=torch.channels_last)
    metrics = [{"seconds": 1.5}, {"seconds": 2.5}]
    result = efficiency(model, metrics)
    assert result["params"] == params
    assert result["mult_adds"] == conv_mult_adds(model)
    assert result["train_seconds"] == pytest.approx(4.0)
    assert result["seconds_per_epoch"] == pytest.approx(2.0)
    assert result["epochs"] == 2
    assert next(model.parameters()).is_contiguous(memory_format=torch.channels_last)  # caller's model untouched


def test_first_layer_kernels_are_conv1_weights():
    model = StudyCNN()
    kernels = first_layer_kernels(model)
    assert kernels.shape == (16, 7, 7) and kernels.dtype == np.float32
    np.testing.assert_array_equal(kernels, model.conv1.weight.detach()[:, 0].numpy())


def test_efficiency_figure_tick_labels_do_not_collide():
    """The write-up's runs against the tuned recipe: 1.11 to 1.26 million multiply-adds, 4,368 to 4,942 params."""
    costs = [(4470, 1_260_810, 112.8, 0.9831), (4368, 1_260_708, 108.9, 0.9899), (4942, 1_113_742, 189.8, 0.9927)]
    points = [
        Point(f"run {n}", Spread(params, 0, 1), Spread(mult_adds, 0, 1), Spread(seconds, 1.0, 3), Spread(acc, 0.001, 3))
        for n, (params, mult_adds, seconds, acc) in enumerate(costs)
    ]
    figure = efficiency_figure(points)
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for ax in figure.axes:
        boxes = [label.get_window_extent(renderer) for label in ax.get_xticklabels() if label.get_text()]
        assert len(boxes) >= 2, ax.get_xlabel()
        assert all(left.x1 < right.x0 for left, right in pairwise(boxes)), ax.get_xlabel()
