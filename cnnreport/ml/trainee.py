"""What training changes, in one object: the model, its optimizer and learning-rate schedule, and
the moving average of its weights (--ema); and how they go into a checkpoint and come back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnnreport.config import ExperimentConfig
from cnnreport.ml.averaging import PAST_WARM_UP, WeightAverage
from cnnreport.ml.model import build_model
from cnnreport.ml.recipe import Scheduler, make_optimizer, make_scheduler


@dataclass
class Trainee:
    """One run's model, optimizer, schedule and weight average, as training and its checkpoint see them."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Scheduler | None
    average: WeightAverage | None

    @classmethod
    def fresh(cls, config: ExperimentConfig, train_images: int, device: torch.device) -> Trainee:
        """Seeded initial weights, the optimizer, the schedule (at its first step's LR), the average."""
        torch.manual_seed(config.seed)
        model = build_model(config).to(device).to(memory_format=torch.channels_last)
        optimizer = make_optimizer(model, config, device)
        scheduler = make_scheduler(optimizer, config, train_images)
        return cls(model, optimizer, scheduler, WeightAverage(model, config.ema) if config.ema else None)

    @property
    def scored(self) -> nn.Module:
        """The model each epoch scores and the checkpoint's "model": the average when there is one."""
        return self.average.model if self.average is not None else self.model

    def checkpoint_fields(self) -> dict[str, Any]:
        """Weights and optimizer (and schedule) state; with --ema the trained weights ride beside the average."""
        return {
            "model": _weights(self.scored),  # what evaluate, inspect and report load
            **(
                {"trained_model": _weights(self.model), "average_updates": self.average.updates}
                if self.average is not None
                else {}
            ),
            "optimizer": self.optimizer.state_dict(),
            **({"scheduler": self.scheduler.state_dict()} if self.scheduler is not None else {}),
        }

    def load(self, state: dict[str, Any]) -> None:
        """Put a checkpoint's fields back (the inverse of checkpoint_fields)."""
        if self.average is not None:
            self.average.model.load_state_dict(state["model"])
            self.model.load_state_dict(state["trained_model"])
            # A checkpoint from before the warm-up existed averaged without one: resume it so.
            self.average.updates = int(state.get("average_updates", PAST_WARM_UP))
        else:
            self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
