"""Training semantics: resume gives exactly the uninterrupted result; names and presets."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import torch

from cnnreport.config import ExperimentConfig
from cnnreport.errors import RunError
from cnnreport.ml.checkpoint import load_checkpoint
from cnnreport.ml.train import train_run
from cnnreport.presets import PRESETS, default_run_name, matching_preset
from cnnreport.storage.rundir import RunDir, create_run


class StopAfter:
    """An on_epoch callback that interrupts training like Ctrl-C after `epochs` epochs."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def __call__(self, row: dict[str, float]) -> None:
        if row["epoch"] == self.epochs:
            raise KeyboardInterrupt


def final_state(run: RunDir) -> tuple[dict[str, torch.Tensor], list[dict[str, float]]]:
    state = load_checkpoint(run)
    metrics = [{k: v for k, v in row.items() if k != "seconds"} for row in state["metrics"]]
    trained = {f"trained.{k}": v for k, v in state.get("trained_model", {}).items()}  # beside an --ema average
    return state["model"] | trained, metrics


@pytest.mark.parametrize(
    "config",
    [
        ExperimentConfig(epochs=3),
        ExperimentConfig(epochs=3, augment=True, dropout=0.3, batch_norm=True),
        # A scheduled run: the scheduler's state (and one-cycle's beta1) must come back exactly.
        ExperimentConfig(epochs=3, schedule="onecycle", lr=0.01, batch_norm=True, widths=(12, 10, 8), batch_size=64),
        ExperimentConfig(epochs=3, schedule="cosine", label_smoothing=0.1, weight_decay=0.01, validation=100),
        # The weight average and the trained weights both come back.
        ExperimentConfig(epochs=3, batch_norm=True, ema=0.9),
    ],
)
def test_resume_after_interruption_equals_an_uninterrupted_run(tmp_path: Path, data_dir: Path, config) -> None:
    torch.set_num_threads(1)
    straight = create_run(tmp_path, "straight")
    train_run(straight, config, data_dir=data_dir, device="cpu")
    interrupted = create_run(tmp_path, "interrupted")
    with pytest.raises(KeyboardInterrupt):
        train_run(interrupted, config, data_dir=data_dir, device="cpu", on_epoch=StopAfter(1))
    assert interrupted.read_status()["status"] == "interrupted"
    assert load_checkpoint(interrupted)["epoch"] == 1
    train_run(interrupted, config, data_dir=data_dir, device="cpu", resume=True)
    (weights_a, metrics_a), (weights_b, metrics_b) = final_state(straight), final_state(interrupted)
    assert metrics_a == metrics_b
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    assert interrupted.read_status()["status"] == "finished"


def test_resume_with_different_options_is_refused(tmp_path: Path, data_dir: Path) -> None:
    run = create_run(tmp_path, "r")
    train_run(run, ExperimentConfig(epochs=1), data_dir=data_dir)
    before = {path.name: path.read_bytes() for path in run.path.iterdir() if path.name != ".lock"}
    asked = ExperimentConfig(epochs=1, lr=0.01, limit=50)
    said = "run 'r' was started with --lr 0.001, not --lr 0.01; no --limit, not --limit 50; resume it with the same"
    with pytest.raises(RunError, match=re.escape(said)):
        train_run(run, asked, data_dir=data_dir, resume=True)
    assert {path.name: path.read_bytes() for path in run.path.iterdir() if path.name != ".lock"} == before


def test_options_spell_out_every_setting_in_order() -> None:
    """The resume error and the report's commands both rely on options() missing no setting."""
    assert list(ExperimentConfig().options()) == [field.name for field in dataclasses.fields(ExperimentConfig)]


def test_default_names_use_preset_ids() -> None:
    assert default_run_name(ExperimentConfig()) == "mnist10"
    assert default_run_name(ExperimentConfig(augment=True, dropout=0.3, epochs=30)) == "dropout-augment"
    assert default_run_name(ExperimentConfig(classes=4, seed=2)) == "mnist4-seed2"
    assert default_run_name(ExperimentConfig(augment=True, epochs=3, limit=100)) == "mnist10-aug-e3-limit100"
    assert default_run_name(ExperimentConfig(dataset="kmnist")) == "kmnist-mnist10"


def test_presets_match_the_write_up() -> None:
    assert set(PRESETS) == {"mnist10", "mnist4", "augment", "dropout-augment", "batchnorm"}  # tuned is not one
    assert PRESETS["dropout-augment"].config.epochs == 30 and PRESETS["batchnorm"].config.epochs == 15
    assert matching_preset(ExperimentConfig(classes=4, seed=5)) is PRESETS["mnist4"]
    assert matching_preset(ExperimentConfig(limit=10)) is None
