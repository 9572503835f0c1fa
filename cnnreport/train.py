"""The training loop: one epoch at a time, a checkpoint after each, exact resume."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnreport.augment import augment
from cnnreport.config import ExperimentConfig
from cnnreport.data import StudyData, batches, load_study_data, normalization_of
from cnnreport.errors import CnnReportError, RunError
from cnnreport.model import build_model
from cnnreport.runs import RunDir
from cnnreport.system import pick_device

# Small evaluation batches are twice as fast on a CPU: a 128-image batch's activations
# (6 MB for conv1) are reused from the allocator and cache, while a 1000-image batch's
# 50 MB are mapped and faulted in afresh for every layer (33k vs 17k images/s, one thread).
EVAL_BATCH = 128
CUDA_EVAL_BATCH = 4096  # on a GPU small batches wait on kernel launches; 4096 images need ~0.3 GB
PROGRESS_EVERY = 25  # batches between progress callbacks; Rich needs no more


@dataclass
class Progress:
    """What a progress display needs to know during an epoch."""

    epoch: int
    epochs: int
    seen: int
    total: int
    loss: float
    accuracy: float
    images_per_second: float


ProgressCallback = Callable[[Progress], None]


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator for one epoch's shuffle and augmentation, derived from (seed, epoch).

    Deriving it (rather than carrying one generator across epochs) makes a resumed run
    draw exactly what an uninterrupted one would, with nothing but the epoch to restore.
    """
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def train_one_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: StudyData,
    config: ExperimentConfig,
    epoch: int,
    normalization: tuple[float, float],
    on_progress: ProgressCallback | None = None,
) -> dict[str, float]:
    """Train for one epoch; return the running loss and accuracy (augmentation/dropout on)."""
    device = next(model.parameters()).device
    generator = epoch_generator(config.seed, epoch)
    torch.manual_seed(config.seed * 1_000_003 + epoch)  # dropout's draws, same on resume
    mean, std = normalization
    model.train()
    loss_sum, correct, seen, start = 0.0, 0, 0, time.perf_counter()
    order = batches(len(data.train_labels), config.batch_size, generator)
    for step, index in enumerate(order, 1):
        images, labels = data.train_images[index], data.train_labels[index]
        if config.augment:
            images = augment(images, generator)
        images = ((images - mean) / std).to(device, memory_format=torch.channels_last)
        labels = labels.to(device)
        logits = model(images)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
        if on_progress and (step % PROGRESS_EVERY == 0 or step == len(order)):
            rate = seen / max(time.perf_counter() - start, 1e-9)
            on_progress(
                Progress(epoch, config.epochs, seen, len(data.train_labels), loss_sum / seen, correct / seen, rate)
            )
    return {"train_loss": loss_sum / seen, "train_accuracy": correct / seen}


@torch.no_grad()
def predict(
    model: nn.Module, images: torch.Tensor, normalization: tuple[float, float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and penultimate features for unit-float images, in eval mode, on the CPU."""
    device = next(model.parameters()).device
    mean, std = normalization
    model.eval()
    logits, features = [], []
    for index in batches(len(images), eval_batch_size(device)):
        x = ((images[index] - mean) / std).to(device, memory_format=torch.channels_last)
        feats = model.features(x)  # type: ignore[operator]
        features.append(feats.cpu())
        logits.append(model.fc(feats).cpu())  # type: ignore[operator]
    return torch.cat(logits), torch.cat(features)


def eval_batch_size(device: torch.device) -> int:
    """Images per evaluation batch: 128 on a CPU (measured, see EVAL_BATCH), large on a GPU."""
    return CUDA_EVAL_BATCH if device.type == "cuda" else EVAL_BATCH


def test_metrics(model: nn.Module, data: StudyData, normalization: tuple[float, float]) -> dict[str, float]:
    logits, _ = predict(model, data.test_images, normalization)
    return {
        "test_loss": float(F.cross_entropy(logits, data.test_labels)),
        "test_accuracy": float((logits.argmax(1) == data.test_labels).float().mean()),
    }


def make_optimizer(model: nn.Module, config: ExperimentConfig, device: torch.device) -> torch.optim.Optimizer:
    # Fused Adam does the update in one kernel per step: about a tenth faster here.
    return torch.optim.Adam(model.parameters(), lr=config.lr, fused=device.type in ("cpu", "cuda"))


def train_run(
    run: RunDir,
    config: ExperimentConfig,
    *,
    data_dir: Path,
    device: str = "auto",
    resume: bool = False,
    command: str = "",
    on_progress: ProgressCallback | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    cuda_graph: bool = True,
) -> list[dict[str, float]]:
    """Train (or resume) a run to its last epoch, checkpointing after every epoch.

    On CUDA each epoch replays one captured step (cnnreport.graphed) unless `cuda_graph` is off.
    """
    target = pick_device(device)
    with run.lock():
        run.remove_stale_temps()
        state = _check_resume(run, config, resume)
        if state is not None and state["epoch"] >= config.epochs:
            # A kill may have landed after the last checkpoint, before these two caught up.
            run.write_metrics(list(state["metrics"]))
            run.write_status("finished", device=str(target), epochs_done=state["epoch"])
            return list(state["metrics"])
        data = load_study_data(data_dir, config.dataset, config.classes, config.limit)
        if not run.config_file.exists():  # only now: bad options or data leave no trace
            run.write_config(config, command)
        model, optimizer, metrics, normalization = _restore(state, config, data, target)
        run.write_status("running", device=str(target))
        try:
            train_epoch = _epoch_trainer(model, optimizer, data, config, normalization, cuda_graph)
            _run_epochs(run, config, data, model, optimizer, metrics, normalization, on_progress, on_epoch, train_epoch)
        except KeyboardInterrupt:
            run.write_status("interrupted", device=str(target), epochs_done=len(metrics))
            raise
        except Exception as exc:
            with contextlib.suppress(CnnReportError):  # on a full disk this fails too; report the first error
                run.write_status("failed", device=str(target), error=str(exc)[:500])
            raise
        run.write_status("finished", device=str(target), epochs_done=len(metrics))
        return metrics


def _run_epochs(
    run: RunDir,
    config: ExperimentConfig,
    data: StudyData,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    metrics: list[dict[str, float]],
    normalization: tuple[float, float],
    on_progress: ProgressCallback | None,
    on_epoch: Callable[[dict[str, float]], None] | None,
    train_epoch: EpochTrainer,
) -> None:
    """Train the remaining epochs, appending to `metrics` and saving after each one."""
    for epoch in range(len(metrics) + 1, config.epochs + 1):
        started = time.perf_counter()
        row: dict[str, float] = {"epoch": epoch}
        row |= train_epoch(epoch, on_progress)
        row |= test_metrics(model, data, normalization)
        row["seconds"] = time.perf_counter() - started
        metrics.append(row)
        try:
            _save_epoch(run, model, optimizer, config, metrics, normalization)
        except KeyboardInterrupt:  # Ctrl-C cut the save of a complete epoch: finish saving it
            _save_epoch(run, model, optimizer, config, metrics, normalization)
            raise
        if on_epoch:
            on_epoch(row)


EpochTrainer = Callable[[int, ProgressCallback | None], dict[str, float]]


def _epoch_trainer(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: StudyData,
    config: ExperimentConfig,
    normalization: tuple[float, float],
    cuda_graph: bool,
) -> EpochTrainer:
    """The graphed epoch on CUDA (unless turned off), else the eager loop above."""
    from cnnreport.graphed import DeviceEpochs, set_capturable

    if cuda_graph and next(model.parameters()).device.type == "cuda":
        return DeviceEpochs(model, optimizer, data, config, normalization, capture=True)
    set_capturable(optimizer, False)  # a graphed run's checkpoint carries capturable=True
    return lambda epoch, progress: train_one_epoch(model, optimizer, data, config, epoch, normalization, progress)


def _check_resume(run: RunDir, config: ExperimentConfig, resume: bool) -> dict[str, Any] | None:
    """Check the run dir agrees with the request; return the checkpoint to resume from."""
    if run.config_file.exists():
        if not resume:
            raise RunError(f"run {run.name!r} already exists; use --resume to continue it or choose another --name")
        if run.read_config() != config:
            raise RunError(f"run {run.name!r} was started with different options; resume it with the same ones")
    if not run.checkpoint_file.exists():
        return None
    state = run.load_checkpoint()
    if state["config"] != config.to_dict():
        raise RunError(f"{run.checkpoint_file}: its config does not match {run.config_file}")
    return state


def _restore(
    state: dict[str, Any] | None, config: ExperimentConfig, data: StudyData, device: torch.device
) -> tuple[nn.Module, torch.optim.Optimizer, list[dict[str, float]], tuple[float, float]]:
    torch.manual_seed(config.seed)  # initial weights
    model = build_model(config).to(device).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config, device)
    if state is None:
        return model, optimizer, [], normalization_of(data.train_images)
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise RunError(f"checkpoint does not fit the model: {str(exc).splitlines()[0]}") from None
    mean, std = state["normalization"]
    return model, optimizer, list(state["metrics"]), (float(mean), float(std))


def _save_epoch(
    run: RunDir,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    config: ExperimentConfig,
    metrics: list[dict[str, float]],
    normalization: tuple[float, float],
) -> None:
    # The checkpoint is written first and carries the metrics too: it is the source of
    # truth, and metrics.json is a readable copy that resume rewrites from it.
    run.save_checkpoint(
        {
            "model": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict(),
            "config": config.to_dict(),
            "epoch": len(metrics),
            "metrics": metrics,
            "normalization": list(normalization),
        }
    )
    run.write_metrics(metrics)


def load_model(run: RunDir, device: str = "cpu") -> tuple[nn.Module, ExperimentConfig, dict[str, Any]]:
    """Rebuild a run's model from its checkpoint alone."""
    state = run.load_checkpoint()
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
