"""Looking inside the network: architecture table, layer outputs, activation maps."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchinfo
from torch import nn

from cnnreport.config import ExperimentConfig
from cnnreport.ml.model import build_model

INPUT_SHAPE = (1, 1, 28, 28)
MB = 1024**2  # torchsummary's (and the write-up's) megabyte


def parameter_counts(model: nn.Module) -> dict[str, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}


def architecture(model: nn.Module) -> dict[str, Any]:
    """The write-up's summary table from torchinfo: layers in order, shapes, params, sizes."""
    model = model.to("cpu").to(memory_format=torch.contiguous_format)
    stats = torchinfo.summary(model, input_size=INPUT_SHAPE, verbose=0, device="cpu")
    shown = [layer for layer in stats.summary_list if layer.depth > 0 and not isinstance(layer.module, nn.Identity)]
    layers = [
        {
            "name": f"{layer.class_name}-{position}",
            "attribute": layer.var_name,
            "output_shape": list(layer.output_size[1:]),
            "params": int(layer.num_params),
        }
        for position, layer in enumerate(shown, 1)
    ]
    counts = parameter_counts(model)
    return {
        "layers": layers,
        "params_total": counts["total"],
        "params_trainable": counts["trainable"],
        "params_non_trainable": counts["non_trainable"],
        "mult_adds": int(stats.total_mult_adds),
        "sizes_mb": _sizes_mb(layers, counts["total"]),
    }


def _sizes_mb(layers: list[dict[str, Any]], params: int) -> dict[str, float]:
    """Memory estimate the torchsummary way (float32, batch 1, outputs counted twice for grads)."""
    input_mb = int(np.prod(INPUT_SHAPE)) * 4 / MB
    outputs_mb = 2 * sum(int(np.prod(layer["output_shape"])) for layer in layers) * 4 / MB
    params_mb = params * 4 / MB
    return {
        "input": input_mb,
        "forward_backward": outputs_mb,
        "params": params_mb,
        "total": input_mb + outputs_mb + params_mb,
    }


def untrained_architecture(config: ExperimentConfig) -> dict[str, Any]:
    """The architecture table of a freshly built, untrained model."""
    return architecture(build_model(config))


@torch.no_grad()
def layer_outputs(model: nn.Module, image: torch.Tensor) -> dict[str, np.ndarray]:
    """Each shown layer's output for one normalised image [1, 28, 28], keyed by table name."""
    model = model.to("cpu").to(memory_format=torch.contiguous_format).eval()
    captured: list[tuple[str, torch.Tensor]] = []
    hooks = [
        module.register_forward_hook(lambda m, _in, out, name=name: captured.append((name, out.detach().clone())))
        for name, module in model.named_children()
        if not isinstance(module, nn.Identity)
    ]
    try:
        model(image.unsqueeze(0))
    finally:
        for hook in hooks:
            hook.remove()
    return {
        f"{type(dict(model.named_children())[name]).__name__}-{i}": out[0].numpy()
        for i, (name, out) in enumerate(captured, 1)
    }


def activation_maps(outputs: dict[str, np.ndarray], side: int = 28) -> dict[str, np.ndarray]:
    """Where each conv layer responds: channel mean of ReLU(output), upsampled to the input, in [0, 1]."""
    maps = {}
    for name, out in outputs.items():
        if not name.startswith("Conv2d"):
            continue
        strength = torch.from_numpy(out).clamp(min=0).mean(0, keepdim=True)[None]
        upsampled = F.interpolate(strength, size=(side, side), mode="bilinear", align_corners=False)[0, 0]
        peak = float(upsampled.max())
        maps[name] = (upsampled / peak if peak > 0 else upsampled).numpy()
    return maps
