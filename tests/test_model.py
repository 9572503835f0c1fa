"""The network matches the write-up's table exactly, for every variant the CLI can build."""

from __future__ import annotations

import pytest
import torch

from cnnreport.analyses.anatomy import untrained_architecture
from cnnreport.config import ExperimentConfig
from cnnreport.ml.model import build_model

# ../shared/SEED.md: layer, output shape, params.
WRITE_UP_TABLE = [
    ("Conv2d-1", [16, 28, 28], 800),
    ("MaxPool2d-2", [16, 14, 14], 0),
    ("Conv2d-3", [8, 14, 14], 3208),
    ("MaxPool2d-4", [8, 7, 7], 0),
    ("Conv2d-5", [4, 4, 4], 292),
    ("AvgPool2d-6", [4, 2, 2], 0),
    ("Linear-7", [10], 170),
]


def rows(config: ExperimentConfig) -> list[tuple[str, list[int], int]]:
    return [(r["name"], r["output_shape"], r["params"]) for r in untrained_architecture(config)["layers"]]


def test_ten_class_table_is_the_write_ups() -> None:
    summary = untrained_architecture(ExperimentConfig())
    assert rows(ExperimentConfig()) == WRITE_UP_TABLE
    assert (summary["params_total"], summary["params_trainable"], summary["params_non_trainable"]) == (4470, 4470, 0)
    sizes = summary["sizes_mb"]
    assert [f"{sizes[k]:.2f}" for k in ("input", "forward_backward", "params", "total")] == [
        "0.00",
        "0.14",
        "0.02",
        "0.16",
    ]


def test_four_class_network_has_4368_parameters() -> None:
    assert rows(ExperimentConfig(classes=4)) == [*WRITE_UP_TABLE[:-1], ("Linear-7", [4], 68)]
    assert untrained_architecture(ExperimentConfig(classes=4))["params_total"] == 4368


def test_batch_norm_follows_each_conv_and_dropout_precedes_the_output_layer() -> None:
    names = [name for name, _, _ in rows(ExperimentConfig(batch_norm=True, dropout=0.3))]
    assert names == [
        "Conv2d-1", "BatchNorm2d-2", "MaxPool2d-3", "Conv2d-4", "BatchNorm2d-5", "MaxPool2d-6",
        "Conv2d-7", "BatchNorm2d-8", "AvgPool2d-9", "Dropout-10", "Linear-11",
    ]  # fmt: skip
    assert untrained_architecture(ExperimentConfig(batch_norm=True))["params_total"] == 4470 + 2 * (16 + 8 + 4)


@pytest.mark.parametrize("classes", [10, 4])
def test_forward_gives_logits_and_16_features(classes: int) -> None:
    model = build_model(ExperimentConfig(classes=classes))
    x = torch.randn(5, 1, 28, 28)
    assert model(x).shape == (5, classes)
    assert model.features(x).shape == (5, 16)
