"""Learned filters: the first convolution's kernels, the only ones that can be read as images."""

from __future__ import annotations

import numpy as np
from torch import nn


def first_layer_kernels(model: nn.Module) -> np.ndarray:
    """float32 [out_channels, kh, kw] weights of model.conv1 (one input channel: grey pixels)."""
    conv = model.get_submodule("conv1")
    assert isinstance(conv, nn.Conv2d)
    weight = conv.weight.detach().cpu().float()
    return weight[:, 0].contiguous().numpy()
