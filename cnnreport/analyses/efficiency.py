"""Efficiency: what a run cost (parameters, multiply-adds, training time) next to what it scored."""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from cnnreport.analyses.anatomy import architecture


def efficiency(model: nn.Module, metrics: list[dict[str, float]]) -> dict[str, Any]:
    """evaluate's 'efficiency' field: torchinfo's counts for one image and the summed epoch times."""
    # architecture() moves the model to the CPU in place; a copy leaves the caller's model alone.
    summary = architecture(copy.deepcopy(model))
    seconds = sum(float(row.get("seconds", 0.0)) for row in metrics)
    return {
        "params": summary["params_total"],
        "mult_adds": summary["mult_adds"],
        "train_seconds": seconds,
        "epochs": len(metrics),
        "seconds_per_epoch": seconds / len(metrics) if metrics else 0.0,
    }
