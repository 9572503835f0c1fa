"""The training loop: one epoch at a time, a checkpoint after each, exact resume."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnreport.config import ExperimentConfig
from cnnreport.errors import BadInput, CnnReportError, RunError
from cnnreport.ml.augment import augment
from cnnreport.ml.checkpoint import load_checkpoint, save_checkpoint
from cnnreport.ml.data import StudyData, batches, load_study_data, normalization_of
from cnnreport.ml.inference import split_metrics, test_metrics
from cnnreport.ml.model import build_model
from cnnreport.storage.rundir import RunDir
from cnnreport.system import pick_device

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
    scheduler: Scheduler | None = None,
) -> dict[str, float]:
    """Train for one epoch; return the running loss and accuracy (augmentation/dropout on).

    The loss includes label smoothing when the config asks for it; the scheduler steps once per batch.
    """
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
        loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss_sum += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
        if on_progress and (step % PROGRESS_EVERY == 0 or step == len(order)):
            rate = seen / max(time.perf_counter() - start, 1e-9)
            on_progress(
                Progress(epoch, config.epochs, seen, len(data.train_labels), loss_sum / seen, correct / seen, rate)
            )
    return {"train_loss": loss_sum / seen, "train_accuracy": correct / seen}


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
) -> list[dict[str, float]]:
    """Train (or resume) a run to its last epoch, checkpointing after every epoch."""
    target = pick_device(device)
    with run.lock():
        run.remove_stale_temps()
        state = _check_resume(run, config, resume)
        if state is not None and state["epoch"] >= config.epochs:
            # A kill may have landed after the last checkpoint, before these two caught up.
            run.write_metrics(list(state["metrics"]))
            run.write_status("finished", device=str(target), epochs_done=state["epoch"])
            return list(state["metrics"])
        data = load_study_data(data_dir, config.dataset, config.classes, config.limit, config.validation)
        check_training_size(config, data)
        if not run.config_file.exists():  # only now: bad options or data leave no trace
            run.write_config(config, command)
        model, optimizer, scheduler, metrics, normalization = _restore(state, config, data, target)
        run.write_status("running", device=str(target))
        try:
            _run_epochs(
                run, config, data, model, (optimizer, scheduler), metrics, normalization, on_progress, on_epoch
            )  # fmt: skip
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
    stepping: tuple[torch.optim.Optimizer, Scheduler | None],
    metrics: list[dict[str, float]],
    normalization: tuple[float, float],
    on_progress: ProgressCallback | None,
    on_epoch: Callable[[dict[str, float]], None] | None,
) -> None:
    """Train the remaining epochs, appending to `metrics` and saving after each one."""
    optimizer, scheduler = stepping
    for epoch in range(len(metrics) + 1, config.epochs + 1):
        started = time.perf_counter()
        row: dict[str, Any] = {"epoch": epoch}
        row |= train_one_epoch(model, optimizer, data, config, epoch, normalization, on_progress, scheduler)
        row |= held_out_metrics(model, data, config, epoch, normalization)
        row["seconds"] = time.perf_counter() - started
        metrics.append(row)
        try:
            _save_epoch(run, model, stepping, config, metrics, normalization)
        except KeyboardInterrupt:  # Ctrl-C cut the save of a complete epoch: finish saving it
            _save_epoch(run, model, stepping, config, metrics, normalization)
            raise
        if on_epoch:
            on_epoch(row)


def _check_resume(run: RunDir, config: ExperimentConfig, resume: bool) -> dict[str, Any] | None:
    """Check the run dir agrees with the request; return the checkpoint to resume from."""
    if run.config_file.exists():
        if not resume:
            raise RunError(f"run {run.name!r} already exists; use --resume to continue it or choose another --name")
        if run.read_config() != config:  # as configs: an older config.json lacks fields that have defaults
            raise RunError(f"run {run.name!r} was started with different options; resume it with the same ones")
    if not run.checkpoint_file.exists():
        return None
    state = load_checkpoint(run)
    if _config_in(state) != config:
        raise RunError(f"{run.checkpoint_file}: its config does not match {run.config_file}")
    return state


def _restore(
    state: dict[str, Any] | None, config: ExperimentConfig, data: StudyData, device: torch.device
) -> tuple[nn.Module, torch.optim.Optimizer, Scheduler | None, list[dict[str, float]], tuple[float, float]]:
    torch.manual_seed(config.seed)  # initial weights
    model = build_model(config).to(device).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config, device)
    scheduler = make_scheduler(optimizer, config, len(data.train_labels))  # sets the first step's LR
    if state is None:
        return model, optimizer, scheduler, [], normalization_of(data.train_images)
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise RunError(f"checkpoint does not fit the model: {str(exc).splitlines()[0]}") from None
    mean, std = state["normalization"]
    return model, optimizer, scheduler, list(state["metrics"]), (float(mean), float(std))


def _save_epoch(
    run: RunDir,
    model: nn.Module,
    stepping: tuple[torch.optim.Optimizer, Scheduler | None],
    config: ExperimentConfig,
    metrics: list[dict[str, float]],
    normalization: tuple[float, float],
) -> None:
    # The checkpoint is written first and carries the metrics too: it is the source of
    # truth, and metrics.json is a readable copy that resume rewrites from it.
    save_checkpoint(
        run,
        {
            "model": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
            "optimizer": stepping[0].state_dict(),
            **({"scheduler": stepping[1].state_dict()} if stepping[1] is not None else {}),
            "config": config.to_dict(),
            "epoch": len(metrics),
            "metrics": metrics,
            "normalization": list(normalization),
        },
    )
    run.write_metrics(metrics)


# ---- issue 12: validation split, test scored once ---------------------------------------
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


def _config_in(state: dict[str, Any]) -> ExperimentConfig | None:
    """The checkpoint's config as an ExperimentConfig (older checkpoints lack newer fields)."""
    try:
        return ExperimentConfig.from_dict(state["config"])
    except CnnReportError:
        return None
