"""--ema: an exponential moving average of the weights, the model that is scored and saved.

Late in training each Adam step still jitters the weights; the average over the last few
hundred steps sits where they settle, and its test accuracy varies less from seed to seed.
Batch-norm running statistics are averaged the same way, so the averaged model is complete.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """A copy of the model whose weights follow the trained ones: avg += (1 - decay) * (w - avg)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model).requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, trained: nn.Module) -> None:
        """Move the average one step towards the trained model (after each optimizer step)."""
        for mean, current in zip(self.model.parameters(), trained.parameters(), strict=True):
            mean.lerp_(current, 1 - self.decay)
        for buffer, live in zip(self.model.buffers(), trained.buffers(), strict=True):
            if buffer.is_floating_point():
                buffer.lerp_(live, 1 - self.decay)
            else:  # BatchNorm's step counter
                buffer.copy_(live)
