"""Issue 12's training options: validation split, LR schedules, label smoothing, weight decay, widths, EMA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from cnnreport.ablation import parameter_count
from cnnreport.config import ExperimentConfig
from cnnreport.jobs.evaluate import evaluate_run
from cnnreport.ml.averaging import PAST_WARM_UP, WeightAverage
from cnnreport.ml.checkpoint import load_checkpoint
from cnnreport.ml.data import load_split, load_study_data, normalization_of, to_unit_float
from cnnreport.ml.model import build_model
from cnnreport.ml.recipe import make_optimizer, make_scheduler
from cnnreport.ml.train import Diverged, train_one_epoch, train_run
from cnnreport.presets import default_run_name
from cnnreport.storage.rundir import RunDir, create_run
from tests.helpers import invoke
from tests.test_train import StopAfter

CPU = torch.device("cpu")


def test_validation_is_the_held_out_end_of_the_training_images(data_dir: Path) -> None:
    raw = to_unit_float(load_split(data_dir, "mnist", "train").images)
    data = load_study_data(data_dir, "mnist", 10, limit=300, validation=100)
    assert len(data.train_labels) == 200 and len(data.validation_labels) == 100
    assert torch.equal(data.train_images, raw[:200])  # trained on: the first 200
    assert torch.equal(data.validation_images, raw[200:300])  # held out: the next 100, none of them trained on
    assert len(load_study_data(data_dir, "mnist", 10).validation_labels) == 0  # no --validation, nothing held out


def test_validation_run_scores_validation_each_epoch_and_test_once(tmp_path: Path, data_dir: Path) -> None:
    run = create_run(tmp_path, "val")
    config = ExperimentConfig(epochs=2, validation=100)
    metrics = train_run(run, config, data_dir=data_dir, device="cpu")
    assert all(0.0 <= row["validation_accuracy"] <= 1.0 for row in metrics)
    assert metrics[0]["test_accuracy"] is None and metrics[0]["test_loss"] is None
    assert isinstance(metrics[1]["test_accuracy"], float)
    saved = json.loads(run.metrics_file.read_text())
    assert saved["epochs"][0]["test_accuracy"] is None  # JSON null, never NaN
    assert "NaN" not in run.metrics_file.read_text()
    assert run.read_metrics() == metrics and run.read_config() == config


def test_scheduled_runs_keep_the_thread_record_and_the_divergence_check(tmp_path: Path, data_dir: Path) -> None:
    config = ExperimentConfig(epochs=2, validation=100, schedule="onecycle", lr=0.01)
    run = create_run(tmp_path, "scheduled")
    with pytest.raises(KeyboardInterrupt):  # the null test fields of epoch 1 are not a divergence
        train_run(run, config, data_dir=data_dir, device="cpu", threads=1, on_epoch=StopAfter(1))
    assert json.loads(run.config_file.read_text())["threads"] == 1 and run.read_status()["threads"] == 1
    state = torch.load(run.checkpoint_file, weights_only=True)
    assert "scheduler" in state
    state["model"] = {k: v * 1e30 if v.is_floating_point() else v for k, v in state["model"].items()}
    torch.save(state, run.checkpoint_file)
    with pytest.raises(Diverged, match="the loss became"):
        train_run(run, config, data_dir=data_dir, device="cpu", resume=True)
    assert run.read_status()["status"] == "failed"


def learning_rates(config: ExperimentConfig, train_images: int) -> list[float]:
    """The LR each optimiser step uses over the whole run."""
    model = build_model(config)
    optimizer = make_optimizer(model, config, CPU)
    scheduler = make_scheduler(optimizer, config, train_images)
    assert scheduler is not None
    rates = []
    for _ in range(config.epochs * -(-train_images // config.batch_size)):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_onecycle_rises_to_the_peak_at_30_percent_and_falls_to_near_zero() -> None:
    config = ExperimentConfig(schedule="onecycle", lr=0.01, epochs=5, batch_size=10)
    rates = learning_rates(config, 200)  # 100 steps
    peak = max(range(len(rates)), key=rates.__getitem__)
    assert rates[peak] == pytest.approx(0.01)
    assert abs(peak - 0.3 * len(rates)) <= 1
    assert rates[0] == pytest.approx(0.01 / 25)
    assert rates[-1] < 0.01 * 1e-3
    assert all(a <= b for a, b in zip(rates[: peak + 1], rates[1 : peak + 1], strict=False))  # rises...
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1 :], strict=False))  # ...then falls


def test_cosine_falls_from_lr_to_near_zero() -> None:
    rates = learning_rates(ExperimentConfig(schedule="cosine", lr=0.004, epochs=4, batch_size=20), 200)  # 40 steps
    assert rates[0] == pytest.approx(0.004)
    assert rates[len(rates) // 2] == pytest.approx(0.002)  # halfway down a cosine
    assert rates[-1] < 0.004 * 0.01
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))


def test_constant_schedule_has_no_scheduler() -> None:
    config = ExperimentConfig()
    assert make_scheduler(make_optimizer(build_model(config), config, CPU), config, 100) is None


def test_label_smoothing_changes_the_loss_as_cross_entropy_says(data_dir: Path) -> None:
    data = load_study_data(data_dir, "mnist", 10, limit=200)
    config = ExperimentConfig(label_smoothing=0.2, batch_size=200, epochs=1)  # one batch: its loss is the epoch's
    torch.manual_seed(0)
    model = build_model(config)
    normalization = normalization_of(data.train_images)
    mean, std = normalization
    with torch.no_grad():
        logits = model.train()((data.train_images - mean) / std)
    expected = F.cross_entropy(logits, data.train_labels, label_smoothing=0.2)
    plain = F.cross_entropy(logits, data.train_labels)
    optimizer = make_optimizer(model, config, CPU)
    reported = train_one_epoch(model, optimizer, data, config, 1, normalization)["train_loss"]
    assert reported == pytest.approx(float(expected), rel=1e-5)
    assert abs(float(expected) - float(plain)) > 1e-3  # smoothing really changed it


def test_weight_decay_picks_adamw_and_none_keeps_adam() -> None:
    model = build_model(ExperimentConfig())
    decayed = make_optimizer(model, ExperimentConfig(weight_decay=0.05), CPU)
    assert type(decayed) is torch.optim.AdamW and decayed.param_groups[0]["weight_decay"] == 0.05
    plain = make_optimizer(model, ExperimentConfig(), CPU)
    assert type(plain) is torch.optim.Adam and plain.param_groups[0]["weight_decay"] == 0


def test_widths_change_the_parameter_count_as_computed_by_hand() -> None:
    # conv1 1*7*7*12+12, conv2 12*5*5*10+10, conv3 10*3*3*8+8, batch norm 2*(12+10+8), fc (4*8)*10+10
    by_hand = 600 + 3010 + 728 + 60 + 330
    config = ExperimentConfig(widths=(12, 10, 8), batch_norm=True)
    model = build_model(config)
    assert sum(p.numel() for p in model.parameters()) == by_hand == parameter_count(config) == 4728
    assert model.fc.in_features == 32
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert sum(p.numel() for p in build_model(ExperimentConfig()).parameters()) == 4470  # the write-up's


def test_new_options_are_recorded_and_named_only_when_not_default(tmp_path: Path, data_dir: Path) -> None:
    args = ["--schedule", "cosine", "--label-smoothing", "0.1", "--weight-decay", "0.001", "--widths", "8,8,8"]
    args += ["--rotate", "6", "--shift", "0.05"]
    result = invoke("train", *args, "--validation", "100", "--epochs", "1", "--limit", "300", "--threads", "1",
                    "--runs-dir", tmp_path, "--data-dir", data_dir)  # fmt: skip
    assert result.exit_code == 0, result.output
    name = "mnist10-e1-cosine-ls0.1-wd0.001-w8x8x8-rot6-shift0.05-val100-limit300"
    saved = json.loads((tmp_path / name / "config.json").read_text())["config"]
    assert saved["widths"] == [8, 8, 8] and saved["schedule"] == "cosine" and saved["validation"] == 100
    assert saved["label_smoothing"] == 0.1 and saved["weight_decay"] == 0.001
    assert saved["rotate"] == 6 and saved["shift"] == 0.05
    assert default_run_name(ExperimentConfig()) == "mnist10"  # defaults add nothing to the name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedule", "linear"], "--schedule must be one of"),
        (["--label-smoothing", "1"], "--label-smoothing must be in [0, 1)"),
        (["--label-smoothing", "-0.1"], "--label-smoothing"),
        (["--weight-decay", "-1"], "--weight-decay must be in [0, 1]"),
        (["--weight-decay", "2"], "--weight-decay must be in [0, 1]"),
        (["--weight-decay", "nan"], "--weight-decay"),
        (["--widths", "16,8"], "--widths must be three"),
        (["--widths", "a,b,c"], "--widths must be three"),
        (["--widths", "0,8,4"], "--widths must be at least 1 (range 1..64), not 0"),
        (["--widths", "65,8,4"], "--widths must be at most 64 (range 1..64), not 65"),
        (["--validation", "-1"], "--validation must be at least 0 (range 0..59999), not -1"),
        (["--validation", "60000"], "--validation must be at most 59999"),
        (["--validation", "290", "--limit", "300"], "less than one batch"),
        (["--validation", "59990"], "less than one batch"),
        (["--ema", "1"], "--ema must be in [0, 1)"),
        (["--ema", "-0.1"], "--ema must be in [0, 1)"),
        (["--ema", "nan"], "--ema"),
        (["--rotate", "-1"], "--rotate must be in [0, 90]"),
        (["--rotate", "91"], "--rotate must be in [0, 90]"),
        (["--rotate", "nan"], "--rotate"),
        (["--shift", "0.6"], "--shift must be in [0, 0.5]"),
        (["--shift", "-0.1"], "--shift must be in [0, 0.5]"),
        (["--augment", "--rotate", "8"], "use one or the other"),
        (["--preset", "augment", "--shift", "0.05"], "use one or the other"),
    ],
)
def test_bad_new_options_exit_2_before_any_folder(tmp_path: Path, data_dir: Path, args: list[str], message: str):
    runs = tmp_path / "runs"
    result = invoke("train", *args, "--runs-dir", runs, "--data-dir", data_dir)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not runs.exists()


def test_validation_larger_than_the_data_is_refused(tmp_path: Path, data_dir: Path) -> None:
    # The synthetic set has 400 training images, fewer than the 60,000 the options assume.
    result = invoke("train", "--validation", "395", "--runs-dir", tmp_path, "--data-dir", data_dir)
    assert result.exit_code == 2, result.output
    assert "less than one batch" in result.output
    assert not any(RunDir(p).config_file.exists() for p in tmp_path.iterdir())


def test_help_shows_the_new_options() -> None:
    train_help = invoke("train", "--help").output
    options = ("--schedule", "--label-smoothing", "--weight-decay", "--widths", "--validation", "--ema", "--rotate")
    for option in (*options, "--shift", "tuned"):
        assert option in train_help
    reproduce_help = invoke("reproduce", "--help").output
    assert "--with-tuned" in reproduce_help and "--ablation" in reproduce_help


def test_the_weight_average_moves_by_one_minus_decay_and_copies_counters() -> None:
    torch.manual_seed(0)
    model = build_model(ExperimentConfig(batch_norm=True))
    average = WeightAverage(model, decay=0.75, updates=PAST_WARM_UP)
    before = {k: v.clone() for k, v in average.model.state_dict().items()}
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(1.0)
    model(torch.rand(4, 1, 28, 28))  # a training-mode pass moves the batch-norm statistics and counters
    average.update(model)
    after, live = average.model.state_dict(), model.state_dict()
    for key, value in after.items():
        if value.is_floating_point():
            assert torch.allclose(value, 0.75 * before[key] + 0.25 * live[key]), key
        else:
            assert torch.equal(value, live[key]), key  # num_batches_tracked: copied
    assert not any(p.requires_grad for p in average.model.parameters())


def test_the_average_starts_with_a_smaller_decay_and_reaches_the_asked_one() -> None:
    model = build_model(ExperimentConfig())
    average = WeightAverage(model, decay=0.999)
    assert average.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0): mostly the first weights seen
    initial = average.model.conv1.weight.clone()
    with torch.no_grad():
        model.conv1.weight.add_(1.0)
    average.update(model)
    assert torch.allclose(average.model.conv1.weight, 0.1 * initial + 0.9 * model.conv1.weight)
    assert average.updates == 1 and average.current_decay() == pytest.approx(2 / 11)
    assert WeightAverage(model, decay=0.999, updates=8989).current_decay() < 0.999
    assert WeightAverage(model, decay=0.999, updates=8991).current_decay() == 0.999
    assert WeightAverage(model, decay=0.5, updates=10).current_decay() == 0.5


def test_a_short_run_with_a_slow_average_scores_its_training_not_its_initial_weights(
    tmp_path: Path, data_dir: Path
) -> None:
    # 100 steps: without the warm-up, a 0.999 average would still be 90 % the random initial
    # weights and score at chance (measured: 10 %, against 100 % for the trained weights).
    def accuracy(ema: float) -> float:
        config = ExperimentConfig(epochs=5, ema=ema)
        return train_run(create_run(tmp_path, f"ema{ema}"), config, data_dir=data_dir, threads=1)[-1]["test_accuracy"]

    plain = accuracy(0.0)
    assert plain > 0.5  # far above chance, or the comparison could not tell
    assert accuracy(0.999) >= plain - 0.1


def test_rotate_and_shift_reach_training_and_repeat_exactly(data_dir: Path) -> None:
    data = load_study_data(data_dir, "mnist", 10, limit=200)
    normalization = normalization_of(data.train_images)

    def epoch_loss(config: ExperimentConfig) -> float:
        torch.manual_seed(0)
        model = build_model(config)
        return train_one_epoch(model, make_optimizer(model, config, CPU), data, config, 1, normalization)["train_loss"]

    plain = epoch_loss(ExperimentConfig(epochs=1))
    moved = epoch_loss(ExperimentConfig(epochs=1, rotate=30, shift=0.2))
    assert moved != plain and moved == epoch_loss(ExperimentConfig(epochs=1, rotate=30, shift=0.2))


def test_an_ema_run_scores_and_saves_the_average(tmp_path: Path, data_dir: Path) -> None:
    config = ExperimentConfig(epochs=2, batch_norm=True, ema=0.9, limit=300)
    run = create_run(tmp_path, "ema")
    metrics = train_run(run, config, data_dir=data_dir, device="cpu", threads=1)
    state = load_checkpoint(run)
    assert set(state["trained_model"]) == set(state["model"])
    assert not torch.equal(state["trained_model"]["conv1.weight"], state["model"]["conv1.weight"])
    # evaluate loads the checkpoint's model: the average that the last epoch scored
    assert evaluate_run(run, data_dir, "cpu")["test_accuracy"] == pytest.approx(metrics[-1]["test_accuracy"])
    assert default_run_name(config) == "mnist10-bn-e2-ema0.9-limit300"
