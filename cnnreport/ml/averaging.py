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
        # Which tensors are averaged (floats) and which copied (counters) never changes: found once.
        tensors = _state(self.model)
        self._floats = [i for i, tensor in enumerate(tensors) if tensor.is_floating_point()]
        self._counters = [i for i, tensor in enumerate(tensors) if not tensor.is_floating_point()]

    @torch.no_grad()
    def update(self, trained: nn.Module) -> None:
        """Move the average one step towards the trained model (after each optimizer step)."""
        averaged, live = _state(self.model), _state(trained)
        # One fused call for all tensors (about 70 µs a step on CPU, under 0.5 % of a tuned step).
        torch._foreach_lerp_([averaged[i] for i in self._floats], [live[i] for i in self._floats], 1 - self.decay)
        for i in self._counters:  # BatchNorm's step counters
            averaged[i].copy_(live[i])


def _state(model: nn.Module) -> list[torch.Tensor]:
    return [*model.parameters(), *model.buffers()]
