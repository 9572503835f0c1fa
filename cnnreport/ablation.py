"""The tuned recipe's ingredients, and the ablation runs that put one back to the write-up's value.

Ground floor, like presets.py: `reproduce --ablation` plans these runs and the report's
"How far the same budget goes" section finds them, both from this one list. The ingredients
are read off presets.TUNED, so a change of the recipe there changes the ablation with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnnreport.config import ExperimentConfig
from cnnreport.presets import TUNED

WRITEUP = ExperimentConfig()  # Experiment 1: the write-up's training recipe


@dataclass(frozen=True)
class Ingredient:
    """One part of the tuned recipe and the write-up's values that remove it."""

    id: str  # in run names: tuned-no-<id>
    title: str
    writeup_values: dict[str, Any]


INGREDIENTS = (
    Ingredient(
        "schedule", "one-cycle schedule (back to a constant LR of 0.001)", {"schedule": "constant", "lr": 0.001}
    ),
    Ingredient("batchnorm", "batch normalisation", {"batch_norm": False}),
    Ingredient("widths", "channel widths (back to 16, 8, 4)", {"widths": WRITEUP.widths}),
    Ingredient("batchsize", "batch size (back to 20)", {"batch_size": WRITEUP.batch_size}),
    Ingredient("smoothing", "label smoothing", {"label_smoothing": 0.0}),
    Ingredient("weightdecay", "weight decay (back to plain Adam)", {"weight_decay": 0.0}),
    Ingredient("augment", "augmentation", {"augment": False, "rotate": 0.0, "shift": 0.0}),
    Ingredient("ema", "weight averaging (EMA)", {"ema": 0.0}),
)


def feature_count(config: ExperimentConfig) -> int:
    """The features the output layer reads: the last convolution's channels, pooled to 2x2."""
    return 4 * config.widths[2]


def batch_norm_count(config: ExperimentConfig) -> int:
    """The parameters batch norm adds: a scale and a shift per channel (0 without it)."""
    return 2 * sum(config.widths) if config.batch_norm else 0


def parameter_count(config: ExperimentConfig) -> int:
    """The network's parameters, counted by hand (the report must not build a torch model for it)."""
    c1, c2, c3 = config.widths
    convolutions = (1 * 7 * 7 + 1) * c1 + (c1 * 5 * 5 + 1) * c2 + (c2 * 3 * 3 + 1) * c3
    return convolutions + batch_norm_count(config) + (feature_count(config) + 1) * config.classes


def used_ingredients(recipe: ExperimentConfig = TUNED.config) -> list[Ingredient]:
    """The ingredients in which the recipe differs from the write-up's training."""
    return [i for i in INGREDIENTS if recipe.replace(**i.writeup_values) != recipe]


def without(ingredient: Ingredient, recipe: ExperimentConfig = TUNED.config) -> ExperimentConfig:
    """The recipe with this one ingredient put back to the write-up's value."""
    return recipe.replace(**ingredient.writeup_values)


def run_name(ingredient: Ingredient, seed: int) -> str:
    """tuned-no-<ingredient>, with -seedN for seeds other than 0 (as reproduce names runs)."""
    return f"{TUNED.id}-no-{ingredient.id}" + (f"-seed{seed}" if seed else "")
