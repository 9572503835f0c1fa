"""Grad-CAM (Selvaraju et al. 2017) on plain torch hooks.

For a class score y_c and a layer's output A (channels k, positions i, j):
    alpha_k = mean over (i, j) of d y_c / d A_kij     (how much channel k matters)
    map     = ReLU(sum over k of alpha_k * A_k)       (where the important channels fire)
A forward hook captures A; torch.autograd.grad takes the gradient with respect to it, so
no parameter's .grad is touched and the model is left exactly as it was.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CORRECT_PER_CLASS = 3  # correct test images per class shown with their maps


def grad_cam(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Grad-CAM maps [N, h, w] of `layer` for each input's target class, at the layer's resolution."""
    captured: list[torch.Tensor] = []

    def keep(_module: nn.Module, _args: object, output: torch.Tensor) -> torch.Tensor:
        captured.append(output)
        return output.clone()  # the network goes on with a copy, so in-place ReLU leaves A as it was

    handle = layer.register_forward_hook(keep)
    was_training = model.training
    model.eval()  # batch statistics and dropout would make each map depend on the batch
    try:
        with torch.enable_grad():
            logits = model(inputs.detach().requires_grad_(True))
            # Samples are independent in eval mode, so the gradient of the summed scores
            # with respect to A holds each sample's own gradient.
            score = logits.gather(1, targets.view(-1, 1).to(logits.device)).sum()
            (gradient,) = torch.autograd.grad(score, captured[-1])
    finally:
        handle.remove()
        model.train(was_training)
    activation = captured[-1].detach()
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    return F.relu((weights * activation).sum(dim=1)).cpu()


def upsample(maps: torch.Tensor, side: int) -> np.ndarray:
    """Maps [N, h, w] -> float32 [N, side, side] in [0, 1] (each scaled by its own peak) for overlays."""
    large = F.interpolate(maps[:, None].float(), size=(side, side), mode="bilinear", align_corners=False)[:, 0]
    peak = large.amax(dim=(1, 2), keepdim=True)
    return torch.where(peak > 0, large / peak.clamp(min=1e-12), torch.zeros_like(large)).numpy()


def correct_examples(
    predictions: np.ndarray, labels: np.ndarray, classes: int, per_class: int = CORRECT_PER_CLASS
) -> np.ndarray:
    """Indices of the first `per_class` correctly classified test images of each class, class by class."""
    right = predictions == labels
    chosen = [np.flatnonzero(right & (labels == c))[:per_class] for c in range(classes)]
    return np.concatenate(chosen).astype(np.int64) if chosen else np.zeros(0, dtype=np.int64)
