"""Grad-CAM against a case computed by hand and against autograd on a hand-split forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnreport.analyses import gradcam
from cnnreport.ml.model import StudyCNN


def tiny_model() -> tuple[nn.Module, nn.Conv2d]:
    """1x1 conv with weights (2, -1), global average pool, linear layer [[1, 3], [0.5, -1]]."""
    conv = nn.Conv2d(1, 2, kernel_size=1, bias=False)
    linear = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([2.0, -1.0]).view(2, 1, 1, 1))
        linear.weight.copy_(torch.tensor([[1.0, 3.0], [0.5, -1.0]]))
    return nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear), conv


def test_hand_computed_case():
    # A = (2x, -x); y_c = sum_k w_ck mean(A_k), so alpha_k = w_ck / 4 (four positions).
    # class 0: alpha = (1/4, 3/4): map = ReLU(0.5x - 0.75x) = ReLU(-0.25x)
    # class 1: alpha = (1/8, -1/4): map = ReLU(0.25x + 0.25x) = ReLU(0.5x)
    model, conv = tiny_model()
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0]]).view(1, 1, 2, 2)
    maps = gradcam.grad_cam(model, conv, x.repeat(2, 1, 1, 1), torch.tensor([0, 1]))
    torch.testing.assert_close(maps[0], torch.tensor([[0.0, 0.0], [0.0, 0.25]]))
    torch.testing.assert_close(maps[1], torch.tensor([[0.5, 1.0], [1.5, 0.0]]))


def by_hand(model: StudyCNN, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Grad-CAM on conv3 with the forward pass written out and autograd on the split point."""
    h = model.pool1(F.relu(model.bn1(model.conv1(x))))
    h = model.pool2(F.relu(model.bn2(model.conv2(h))))
    a = model.conv3(h)
    a.retain_grad()
    logits = model.fc(torch.flatten(model.pool3(F.relu(model.bn3(a))), 1))
    logits[torch.arange(len(x)), targets].sum().backward()
    weights = a.grad.mean(dim=(2, 3))
    return F.relu((weights[:, :, None, None] * a).sum(1)).detach()


@pytest.mark.parametrize("batch_norm", [False, True])
def test_study_cnn_matches_a_hand_split_forward(batch_norm):
    torch.manual_seed(0)
    model = StudyCNN(batch_norm=batch_norm, dropout=0.3).eval()
    if batch_norm:  # non-trivial running statistics, so eval-mode BatchNorm matters
        for bn in (model.bn1, model.bn2, model.bn3):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    x, targets = torch.randn(5, 1, 28, 28), torch.tensor([0, 3, 9, 3, 1])
    expected = by_hand(model, x, targets)
    model.zero_grad(set_to_none=True)
    maps = gradcam.grad_cam(model, model.conv3, x, targets)
    assert maps.shape == (5, 4, 4)
    torch.testing.assert_close(maps, expected, atol=1e-6, rtol=1e-5)


def test_leaves_the_model_untouched():
    model = StudyCNN(dropout=0.3).train()
    gradcam.grad_cam(model, model.conv3, torch.randn(2, 1, 28, 28), torch.tensor([1, 2]))
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    assert not model.conv3._forward_hooks


def test_upsample_scales_each_map_to_its_peak():
    maps = torch.tensor([[[0.0, 2.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    large = gradcam.upsample(maps, 8)
    assert large.shape == (2, 8, 8)
    assert large[0].max() == pytest.approx(1.0) and large[0].min() >= 0
    assert np.all(large[1] == 0)


def test_correct_examples_takes_the_first_hits_of_each_class():
    labels = np.array([0, 1, 0, 0, 1, 2, 0])
    predictions = np.array([0, 1, 1, 0, 1, 0, 0])
    assert gradcam.correct_examples(predictions, labels, 3, per_class=2).tolist() == [0, 3, 1, 4]
