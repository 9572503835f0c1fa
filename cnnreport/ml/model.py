"""The write-up's CNN, built from an ExperimentConfig or rebuilt from a run's checkpoint."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnreport.config import WRITEUP_WIDTHS, ExperimentConfig
from cnnreport.errors import RunError
from cnnreport.ml.checkpoint import load_checkpoint
from cnnreport.storage.rundir import RunDir
from cnnreport.system import pick_device


class StudyCNN(nn.Module):
    """conv7 -> pool -> conv5 -> pool -> conv3/2 -> avgpool -> linear: 4,470 params for 10 classes.

    `widths` are the three convolutions' output channels (the write-up's 16, 8, 4 by default);
    the output layer reads the 2x2 pooled map of the last one, 4 * widths[2] features.
    ReLU is applied functionally so the architecture table lists exactly the write-up's
    layers. Optional BatchNorm2d sits between each convolution and its ReLU. Dropout,
    when asked for, acts on the pooled features just before the output layer, the one
    place where it cannot be confused with spatial dropout; it shows as its own row.
    """

    def __init__(
        self,
        classes: int = 10,
        dropout: float = 0.0,
        batch_norm: bool = False,
        widths: tuple[int, int, int] = WRITEUP_WIDTHS,
    ) -> None:
        super().__init__()
        c1, c2, c3 = widths
        self.conv1 = nn.Conv2d(1, c1, kernel_size=7, padding=3)
        self.bn1 = nn.BatchNorm2d(c1) if batch_norm else nn.Identity()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=5, padding=2)
        self.bn2 = nn.BatchNorm2d(c2) if batch_norm else nn.Identity()
        self.pool2 = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(c2, c3, kernel_size=3, stride=2, padding=1)
        self.bn3 = nn.BatchNorm2d(c3) if batch_norm else nn.Identity()
        self.pool3 = nn.AvgPool2d(2)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(4 * c3, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate representation, 4 * widths[2] numbers (used for t-SNE)."""
        # In eval mode ReLU works in place: evaluating 70,000 images a run, that saves a
        # fifth of the time spent writing large activations. (Forward hooks that keep a
        # layer's output must copy it.) Training keeps the plain ReLU autograd expects.
        inplace = not self.training
        x = self.pool1(F.relu(self.bn1(self.conv1(x)), inplace=inplace))
        x = self.pool2(F.relu(self.bn2(self.conv2(x)), inplace=inplace))
        x = self.pool3(F.relu(self.bn3(self.conv3(x)), inplace=inplace))
        return torch.flatten(x, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.features(x)))


def build_model(config: ExperimentConfig) -> StudyCNN:
    return StudyCNN(config.classes, config.dropout, config.batch_norm, config.widths)


def load_model(run: RunDir, device: str = "cpu") -> tuple[nn.Module, ExperimentConfig, dict[str, Any]]:
    """Rebuild a run's model from its checkpoint alone, in eval mode."""
    state = load_checkpoint(run)
    if run.config_file.exists():  # a checkpoint copied in from another run is refused
        run.check_checkpoint(state)
    try:
        config = ExperimentConfig.from_dict(state["config"])
    except Exception as exc:
        raise RunError(f"{run.checkpoint_file}: bad config inside ({exc})") from None
    target = pick_device(device)
    model = build_model(config)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as exc:
        raise RunError(f"{run.checkpoint_file}: weights do not fit the model ({str(exc).splitlines()[0]})") from None
    model = model.to(target).to(memory_format=torch.channels_last).eval()
    return model, config, state
