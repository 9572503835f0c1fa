"""The graphed CUDA epoch's device-independent parts, run eagerly on the CPU."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from cnnreport.config import ExperimentConfig
from cnnreport.ml import graphed, inference, train
from cnnreport.ml.augment import WRITEUP_RANGES, Ranges, apply
from cnnreport.ml.data import StudyData, load_study_data, normalization_of, to_unit_float
from cnnreport.ml.graphed import (
    BatchPlan,
    DeviceEpochs,
    augment_in_graph,
    epoch_seed,
    set_capturable,
    unit_float_to_uint8,
)
from cnnreport.ml.model import build_model
from cnnreport.ml.recipe import make_optimizer
from cnnreport.ml.train import Diverged
from cnnreport.ml.trainee import Trainee
from cnnreport.storage.rundir import create_run
from tests.conftest import invoke


@pytest.mark.parametrize(("images", "batch", "plan"), [(130, 20, (6, 10)), (120, 20, (6, 0)), (7, 20, (0, 7))])
def test_batch_plan_is_full_batches_then_the_remainder(images: int, batch: int, plan: tuple[int, int]) -> None:
    got = BatchPlan.of(images, batch)
    assert (got.full, got.remainder) == plan and got.images == images


def test_epoch_seed_is_the_eager_loops_derivation() -> None:
    for seed, epoch in ((0, 1), (3, 7), (12, 30)):
        assert train.epoch_generator(seed, epoch).initial_seed() == epoch_seed(seed, epoch)
    assert len({epoch_seed(s, e) for s in range(5) for e in range(1, 31)}) == 150


@pytest.mark.parametrize("ranges", [WRITEUP_RANGES, Ranges(degrees=8, translate=0.08, brightness=0)])
def test_augmentation_in_the_graph_is_augment_apply_with_fresh_draws(ranges: Ranges) -> None:
    images = torch.rand(6, 1, 28, 28)
    torch.manual_seed(11)
    first = augment_in_graph(images, ranges)
    torch.manual_seed(11)
    expected = apply(images, ranges.params(torch.rand(6, 4) * 2 - 1, 28))
    assert torch.equal(first, expected)
    assert not torch.equal(augment_in_graph(images, ranges), first)  # the next call draws anew


def test_uint8_residency_loses_nothing() -> None:
    raw = torch.randint(0, 256, (50, 28, 28), dtype=torch.uint8)
    assert torch.equal(unit_float_to_uint8(to_unit_float(raw)), raw)
    assert torch.equal(unit_float_to_uint8(to_unit_float(raw)).unsqueeze(1).float().div_(255.0), to_unit_float(raw))


@pytest.fixture(scope="module")
def small_data(data_dir: Path) -> StudyData:
    return load_study_data(data_dir, "mnist", 10, limit=130)  # 6 full batches of 20 and 10 left over


def fresh(config: ExperimentConfig) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(config.seed)
    model = build_model(config).to(memory_format=torch.channels_last)
    return model, make_optimizer(model, config, torch.device("cpu"))


@pytest.mark.parametrize("options", [{}, {"dropout": 0.3}, {"batch_norm": True}])
def test_the_step_run_eagerly_equals_the_eager_epoch(small_data: StudyData, options: dict) -> None:
    config = ExperimentConfig(limit=130, seed=2, **options)
    normalization = normalization_of(small_data.train_images)
    model, optimizer = fresh(config)
    expected = [train.train_one_epoch(model, optimizer, small_data, config, e, normalization) for e in (1, 2)]
    graphed_model, graphed_optimizer = fresh(config)
    epochs = DeviceEpochs(graphed_model, graphed_optimizer, small_data, config, normalization, capture=False)
    got = [epochs(e) for e in (1, 2)]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-6)
        assert mine["train_accuracy"] == theirs["train_accuracy"]
    for key, value in model.state_dict().items():
        torch.testing.assert_close(graphed_model.state_dict()[key], value, rtol=1e-5, atol=1e-6)


def test_augmented_epochs_are_reproducible_and_differ_between_epochs(small_data: StudyData) -> None:
    config = ExperimentConfig(limit=130, augment=True, dropout=0.3)
    normalization = normalization_of(small_data.train_images)
    runs = []
    for _ in range(2):
        model, optimizer = fresh(config)
        epochs = DeviceEpochs(model, optimizer, small_data, config, normalization, capture=False)
        runs.append([epochs(e) for e in (1, 2)])
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[0][1]


def test_resuming_at_an_epoch_draws_what_the_uninterrupted_run_drew(small_data: StudyData) -> None:
    config = ExperimentConfig(limit=130, augment=True, dropout=0.3)
    normalization = normalization_of(small_data.train_images)
    model, optimizer = fresh(config)
    whole = DeviceEpochs(model, optimizer, small_data, config, normalization, capture=False)
    whole(1)
    saved = copy.deepcopy((model.state_dict(), optimizer.state_dict()))
    second = whole(2)
    model2, optimizer2 = fresh(config)
    model2.load_state_dict(saved[0])
    optimizer2.load_state_dict(saved[1])
    resumed = DeviceEpochs(model2, optimizer2, small_data, config, normalization, capture=False)
    assert resumed(2) == second


def test_totals_and_progress_count_every_image_once(small_data: StudyData, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cnnreport.ml.graphed.PROGRESS_EVERY", 2)
    config = ExperimentConfig(limit=130)
    model, optimizer = fresh(config)
    epochs = DeviceEpochs(model, optimizer, small_data, config, normalization_of(small_data.train_images), False)
    seen: list[int] = []
    result = epochs(1, lambda p: seen.append(p.seen))
    assert seen == [40, 80, 120, 130]
    assert 0 <= result["train_accuracy"] <= 1 and result["train_loss"] > 0
    assert int(epochs.step) == 6  # the counter the graph reads: full batches only


def test_a_non_finite_epoch_loss_stops_the_run(small_data: StudyData) -> None:
    config = ExperimentConfig(limit=130)
    model, optimizer = fresh(config)
    epochs = DeviceEpochs(model, optimizer, small_data, config, (0.0, 0.0), capture=False)  # x / 0
    with pytest.raises(Diverged, match="diverged"):
        epochs(1)


def test_capturable_flag_follows_the_path(small_data: StudyData) -> None:
    config = ExperimentConfig(limit=130)
    model, optimizer = fresh(config)
    set_capturable(optimizer, True)
    assert all(group["capturable"] for group in optimizer.param_groups)
    set_capturable(optimizer, False)
    assert not any(group["capturable"] for group in optimizer.param_groups)


def test_eval_batch_is_unchanged_on_the_cpu_and_large_on_cuda() -> None:
    assert inference.eval_batch_size(torch.device("cpu")) == 128 == inference.EVAL_BATCH
    assert inference.eval_batch_size(torch.device("cuda")) >= 1024


def test_no_cuda_graph_option_is_accepted_and_the_cpu_run_is_unchanged(tmp_path: Path, data_dir: Path) -> None:
    common = ["--epochs", "1", "--limit", "130", "--threads", "1", "--device", "cpu", "--runs-dir", tmp_path]
    results = {}
    for flag in ("--cuda-graph", "--no-cuda-graph"):
        result = invoke("train", "--name", flag.strip("-"), flag, *common, "--data-dir", data_dir)
        assert result.exit_code == 0, result.output
        results[flag] = create_run(tmp_path, flag.strip("-")).read_metrics()[0]
    assert results["--cuda-graph"]["train_loss"] == results["--no-cuda-graph"]["train_loss"]
    assert results["--cuda-graph"]["test_accuracy"] == results["--no-cuda-graph"]["test_accuracy"]


def test_the_cpu_keeps_the_eager_loop_whatever_the_option(
    small_data: StudyData, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(graphed, "train_one_epoch", lambda *args: calls.append(args[4]) or {"train_loss": 0.0})
    config = ExperimentConfig(limit=130)
    model, optimizer = fresh(config)
    set_capturable(optimizer, True)  # as a graphed run's checkpoint would load it
    trainee = Trainee(model, optimizer, None, None)
    trainer = graphed.epoch_trainer(trainee, small_data, config, (0.5, 0.5), cuda_graph=True)
    assert not isinstance(trainer, DeviceEpochs)
    trainer(3, None)
    assert calls == [3] and not any(group["capturable"] for group in optimizer.param_groups)
