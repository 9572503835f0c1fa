"""Issue 12's training recipe: the optimizer, the learning-rate schedule, and the held-out scoring."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from cnnreport.config import ExperimentConfig
from cnnreport.errors import BadInput
from cnnreport.ml.data import StudyData
from cnnreport.ml.inference import split_metrics, test_metrics


def make_optimizer(model: nn.Module, config: ExperimentConfig, device: torch.device) -> torch.optim.Optimizer:
    """Adam as the write-up used it; AdamW when --weight-decay is positive."""
    # Fused Adam does the update in one kernel per step: about a tenth faster here.
    fused = device.type in ("cpu", "cuda")
    if config.weight_decay > 0:
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    return torch.optim.Adam(model.parameters(), lr=config.lr, fused=fused)


Scheduler = torch.optim.lr_scheduler.LRScheduler


def make_scheduler(optimizer: torch.optim.Optimizer, config: ExperimentConfig, train_images: int) -> Scheduler | None:
    """The per-batch learning-rate schedule of --schedule; None keeps --lr constant (the write-up)."""
    total_steps = config.epochs * math.ceil(train_images / config.batch_size)
    if config.schedule == "onecycle":
        # torch's defaults: warm up over 30 % from lr/25, anneal to lr/25e4, cycle Adam's beta1.
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


# ---- the validation split, and the test set scored once ------------------------------------
def check_training_size(config: ExperimentConfig, data: StudyData) -> None:
    """Refuse a --validation that leaves less than one batch to train on (the data's true size)."""
    if config.validation and len(data.train_labels) < config.batch_size:
        raise BadInput(
            f"--validation {config.validation} leaves {len(data.train_labels)} training images, less than one batch"
        )


def held_out_metrics(
    model: nn.Module, data: StudyData, config: ExperimentConfig, epoch: int, normalization: tuple[float, float]
) -> dict[str, Any]:
    """Test metrics each epoch (the write-up); with --validation, validation metrics each epoch and test once.

    Scoring the test set only after the last epoch keeps it out of any choice made on the curves.
    Rows before it hold null (JSON has no NaN) test fields.
    """
    if not config.validation:
        return test_metrics(model, data, normalization)
    row: dict[str, Any] = split_metrics(
        model, data.validation_images, data.validation_labels, normalization, "validation"
    )
    if epoch == config.epochs:
        return row | test_metrics(model, data, normalization)
    return row | {"test_loss": None, "test_accuracy": None}


def rates_per_epoch(config: ExperimentConfig, steps_per_epoch: int, epochs: int) -> list[float]:
    """The rate --schedule leaves in force at the end of each of the first `epochs` epochs.

    Replays the training's own scheduler on a stand-in parameter, so exports show the rates
    training used without storing them per epoch.
    """
    stand_in = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([stand_in], lr=config.lr)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch * config.batch_size)
    rates = []
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            optimizer.step()  # no gradient: nothing moves, but the scheduler sees the step it expects
            if scheduler is not None:
                scheduler.step()
        rates.append(float(optimizer.param_groups[0]["lr"]))
    return rates
