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

from cnnreport.config import THREADS_PER_CORE, ExperimentConfig
from cnnreport.errors import CnnReportError, DataError, RunError, WorkFailed
from cnnreport.ml.augment import augment, ranges_of
from cnnreport.ml.averaging import WeightAverage
from cnnreport.ml.checkpoint import load_checkpoint, save_checkpoint
from cnnreport.ml.data import StudyData, batches, load_study_data, normalization_of
from cnnreport.ml.recipe import Scheduler, check_training_size, held_out_metrics
from cnnreport.ml.trainee import Trainee
from cnnreport.storage.rundir import RunDir
from cnnreport.system import available_cores, pick_device, set_threads

PROGRESS_EVERY = 25  # batches between progress callbacks; Rich needs no more
# Below this the images are constant up to float rounding (one grey level is 1/255 = 0.004).
MIN_STD = 1e-6


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


class Diverged(WorkFailed):
    """The loss (or a test metric) stopped being a finite number: training cannot go on."""


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
    average: WeightAverage | None = None,
) -> dict[str, float]:
    """Train for one epoch; return the running loss and accuracy (augmentation/dropout on).

    The loss includes label smoothing when the config asks for it; the scheduler steps, and
    the weight average follows the model, once per batch.
    """
    device = next(model.parameters()).device
    generator = epoch_generator(config.seed, epoch)
    torch.manual_seed(config.seed * 1_000_003 + epoch)  # dropout's draws, same on resume
    mean, std = normalization
    model.train()
    ranges = ranges_of(config)
    loss_sum, correct, seen, start = 0.0, 0, 0, time.perf_counter()
    order = batches(len(data.train_labels), config.batch_size, generator)
    for step, index in enumerate(order, 1):
        images, labels = data.train_images[index], data.train_labels[index]
        if ranges is not None:
            images = augment(images, generator, ranges)
        images = ((images - mean) / std).to(device, memory_format=torch.channels_last)
        labels = labels.to(device)
        logits = model(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = loss.item()
        if not math.isfinite(value):
            raise Diverged(
                f"training diverged: the loss became {value} at epoch {epoch}, step {step}; "
                "try a smaller --lr (nothing of this epoch was saved)"
            )
        if scheduler is not None:
            scheduler.step()
        if average is not None:
            average.update(model)
        loss_sum += value * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
        if on_progress and (step % PROGRESS_EVERY == 0 or step == len(order)):
            rate = seen / max(time.perf_counter() - start, 1e-9)
            on_progress(
                Progress(epoch, config.epochs, seen, len(data.train_labels), loss_sum / seen, correct / seen, rate)
            )
    return {"train_loss": loss_sum / seen, "train_accuracy": correct / seen}


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
    threads: int | None = None,
    default_threads: int | None = None,
    on_notice: Callable[[str], None] | None = None,
    cuda_graph: bool = True,
) -> list[dict[str, float]]:
    """Train (or resume) a run to its last epoch, checkpointing after every epoch.

    `threads` is the user's explicit choice; otherwise a resumed run reuses the thread count
    it started with (results are bit-identical only at the same count), and a new run uses
    `default_threads` (every core when None). On CUDA each epoch replays one captured step
    (ml.graphed) unless `cuda_graph` is off.
    """
    target = pick_device(device)
    with run.lock():
        try:
            state = _check_resume(run, config, resume)
            if state is not None and state["epoch"] >= config.epochs:
                # A kill may have landed after the last checkpoint, before these two caught up.
                run.write_metrics(list(state["metrics"]))
                run.write_status("finished", device=str(target), epochs_done=state["epoch"])
                return list(state["metrics"])
            count = _pick_threads(run, state, threads, default_threads, on_notice or (lambda _text: None))
            data = load_study_data(data_dir, config.dataset, config.classes, config.limit, config.validation)
            check_training_size(config, data)
            trainee, metrics, normalization = _restore(state, config, data, target)
            if state is None:  # only now: bad options or data leave no trace
                run.write_config(config, command, count)
            run.write_status("running", device=str(target), threads=count)
        except BaseException:
            run.discard_if_untrained()  # a new run dir that never trained is not left behind
            raise
        try:
            from cnnreport.ml.graphed import epoch_trainer  # here: graphed builds on this module

            train_epoch = epoch_trainer(trainee, data, config, normalization, cuda_graph)
            _run_epochs(run, config, data, trainee, metrics, normalization, on_progress, on_epoch, train_epoch)
        except KeyboardInterrupt:
            run.write_status("interrupted", device=str(target), epochs_done=len(metrics), threads=count)
            raise
        except Exception as exc:
            with contextlib.suppress(CnnReportError):  # on a full disk this fails too; report the first error
                run.write_status(
                    "failed", device=str(target), error=str(exc)[:500], epochs_done=len(metrics), threads=count
                )
            raise
        run.write_status("finished", device=str(target), epochs_done=len(metrics), threads=count)
        return metrics


def _run_epochs(
    run: RunDir,
    config: ExperimentConfig,
    data: StudyData,
    trainee: Trainee,
    metrics: list[dict[str, float]],
    normalization: tuple[float, float],
    on_progress: ProgressCallback | None,
    on_epoch: Callable[[dict[str, float]], None] | None,
    train_epoch: Callable[[int, ProgressCallback | None], dict[str, float]],
) -> None:
    """Train the remaining epochs, appending to `metrics` and saving after each one."""
    for epoch in range(len(metrics) + 1, config.epochs + 1):
        started = time.perf_counter()
        row: dict[str, Any] = {"epoch": epoch}
        row |= train_epoch(epoch, on_progress)
        row |= held_out_metrics(trainee.scored, data, config, epoch, normalization)
        row["seconds"] = time.perf_counter() - started
        # Before the last epoch a --validation run's test fields are None: not scored yet, not diverged.
        if not all(math.isfinite(value) for value in row.values() if value is not None):
            raise Diverged(f"training diverged: epoch {epoch} ended with non-finite metrics {row}; try a smaller --lr")
        metrics.append(row)
        try:
            _save_epoch(run, trainee, config, metrics, normalization)
        except KeyboardInterrupt:  # Ctrl-C cut the save of a complete epoch: finish saving it
            _save_epoch(run, trainee, config, metrics, normalization)
            raise
        if on_epoch:
            on_epoch(row)


def _check_resume(run: RunDir, config: ExperimentConfig, resume: bool) -> dict[str, Any] | None:
    """Check the run dir agrees with the request; return the checkpoint to resume from.

    A run dir without a checkpoint holds no training to lose: any `train` starts it afresh.
    """
    run.remove_stale_temps()
    if not run.checkpoint_file.exists():
        return None
    if not resume:
        raise RunError(f"run {run.name!r} already exists; use --resume to continue it or choose another --name")
    started = run.read_config()
    if started != config:
        changed = "; ".join(started.differences(config)) or "different options"  # :g can hide a tiny change
        raise RunError(f"run {run.name!r} was started with {changed}; resume it with the same options")
    state = load_checkpoint(run)
    run.check_checkpoint(state)
    return state


def _pick_threads(
    run: RunDir, state: dict[str, Any] | None, asked: int | None, default: int | None, notice: Callable[[str], None]
) -> int:
    """Set and return the training thread count: the user's, else the run's own, else the default."""
    recorded = run.read_threads() if state is not None else None
    count = asked or recorded or default or available_cores()
    if recorded is not None and asked is None and recorded > THREADS_PER_CORE * available_cores():
        count = default or available_cores()  # a count this machine cannot run (or a hostile file)
    if recorded is not None and count != recorded:
        notice(
            f"run {run.name!r} started with {recorded} CPU threads and resumes with {count}: "
            "its results may differ in the last digits from an uninterrupted run"
        )
    return set_threads(count)


def _restore(
    state: dict[str, Any] | None, config: ExperimentConfig, data: StudyData, device: torch.device
) -> tuple[Trainee, list[dict[str, float]], tuple[float, float]]:
    trainee = Trainee.fresh(config, len(data.train_labels), device)
    if state is None:
        mean, std = normalization_of(data.train_images)
        if not (math.isfinite(mean) and math.isfinite(std) and std > MIN_STD):
            raise DataError(
                f"the training images all have the same value (mean {mean:g}, std {std:g}): "
                "they cannot be normalised and hold nothing to learn"
            )
        return trainee, [], (mean, std)
    try:
        trainee.load(state)
    except (RuntimeError, ValueError, KeyError) as exc:
        raise RunError(f"checkpoint does not fit the model: {str(exc).splitlines()[0]}") from None
    mean, std = state["normalization"]
    return trainee, list(state["metrics"]), (float(mean), float(std))


def _save_epoch(
    run: RunDir,
    trainee: Trainee,
    config: ExperimentConfig,
    metrics: list[dict[str, float]],
    normalization: tuple[float, float],
) -> None:
    # The checkpoint is written first and carries the metrics too: it is the source of
    # truth, and metrics.json is a readable copy that resume rewrites from it.
    save_checkpoint(
        run,
        {
            **trainee.checkpoint_fields(),
            "config": config.to_dict(),
            "epoch": len(metrics),
            "metrics": metrics,
            "normalization": list(normalization),
        },
    )
    run.write_metrics(metrics)
