"""Training epochs on CUDA with the whole step captured once in a CUDA graph and replayed.

At batch 20 a GPU waits on kernel launches, not arithmetic: an eager step is about forty
tiny kernels. Here the training images (uint8) and labels stay on the GPU for the whole
run, each epoch's shuffle is one `randperm` there, and one captured step (gather the batch,
augment, forward, loss, backward, Adam, count loss and hits) is replayed per batch, with
nothing read back until the epoch ends.

Random numbers in the graph (augmentation parameters, dropout masks) come from the default
CUDA generator, which PyTorch registers with every capture: each replay advances its Philox
offset, so every replay draws fresh numbers, and seeding it per epoch makes an epoch's draws
depend on (seed, epoch) only, as on the CPU. (A user-made generator would need
`CUDAGraph.register_generator_state`; none is used inside the graph.)

`DeviceEpochs(..., capture=False)` runs the very same step eagerly, on any device: that is
how the CPU tests check it against `ml.train.train_one_epoch`.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cnnreport.config import ExperimentConfig
from cnnreport.ml.augment import Ranges, apply, ranges_of
from cnnreport.ml.data import StudyData
from cnnreport.ml.train import Diverged, Progress, ProgressCallback, train_one_epoch
from cnnreport.ml.trainee import Trainee

WARMUP_STEPS = 3  # eager steps on a side stream before capture, as PyTorch's CUDA-graph notes ask
PROGRESS_EVERY = 250  # replays between progress reports; each report waits for the GPU to catch up


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's shuffle and random draws: train.epoch_generator's derivation."""
    return seed * 1_000_003 + epoch


@dataclass(frozen=True)
class BatchPlan:
    """One epoch as `full` batches of `batch_size` and one shorter `remainder` batch (maybe 0)."""

    full: int
    batch_size: int
    remainder: int

    @classmethod
    def of(cls, images: int, batch_size: int) -> BatchPlan:
        full, remainder = divmod(images, batch_size)
        return cls(full, batch_size, remainder)

    @property
    def images(self) -> int:
        return self.full * self.batch_size + self.remainder


def augment_in_graph(images: torch.Tensor, ranges: Ranges) -> torch.Tensor:
    """augment.augment with its parameters drawn on the images' device from the default generator.

    No host round trip and no user generator: safe inside a CUDA graph, fresh on every replay.
    """
    uniform = torch.rand(len(images), 4, device=images.device) * 2 - 1
    return apply(images, ranges.params(uniform, images.shape[-1]))


def unit_float_to_uint8(images: torch.Tensor) -> torch.Tensor:
    """data.to_unit_float undone: float [N, 1, H, W] in [0, 1] -> uint8 [N, H, W], exactly."""
    return images[:, 0].mul(255).round().to(torch.uint8)


EpochTrainer = Callable[[int, ProgressCallback | None], dict[str, float]]


def epoch_trainer(
    trainee: Trainee,
    data: StudyData,
    config: ExperimentConfig,
    normalization: tuple[float, float],
    cuda_graph: bool,
) -> EpochTrainer:
    """The graphed epoch on CUDA (unless turned off), else train_one_epoch's eager loop.

    A learning-rate schedule changes the rate every step, which a captured step would freeze
    at its capture-time value, so scheduled runs keep the eager loop on CUDA too; so do runs
    with a weight average, which the captured step does not update.
    """
    model, optimizer = trainee.model, trainee.optimizer
    plain = trainee.scheduler is None and trainee.average is None
    if cuda_graph and plain and next(model.parameters()).device.type == "cuda":
        return DeviceEpochs(model, optimizer, data, config, normalization, capture=True)
    set_capturable(optimizer, False)  # a graphed run's checkpoint carries capturable=True
    return lambda epoch, progress: train_one_epoch(
        model, optimizer, data, config, epoch, normalization, progress, trainee.scheduler, trainee.average
    )  # fmt: skip


def set_capturable(optimizer: torch.optim.Optimizer, capturable: bool) -> None:
    """Mark every group capturable (needed for capture) or not (no warning on eager steps).

    A checkpoint's param groups carry the flag, so it is set after loading, by the path in use.
    """
    for group in optimizer.param_groups:
        group["capturable"] = capturable


class DeviceEpochs:
    """One run's device-resident data, static buffers and (with `capture`) its CUDA graph."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        data: StudyData,
        config: ExperimentConfig,
        normalization: tuple[float, float],
        capture: bool,
    ) -> None:
        self.model, self.optimizer, self.config, self.capture = model, optimizer, config, capture
        self.ranges = ranges_of(config)  # the augmentation, if any, drawn inside the graph
        self.device = next(model.parameters()).device
        self.mean, self.std = normalization
        self.images = unit_float_to_uint8(data.train_images).to(self.device)
        self.labels = data.train_labels.to(self.device)
        self.plan = BatchPlan.of(len(self.labels), config.batch_size)
        # Static buffers: the graph reads and writes these same tensors on every replay.
        self.order = torch.zeros(len(self.labels), dtype=torch.long, device=self.device)
        self.step = torch.zeros((), dtype=torch.long, device=self.device)
        self.offsets = torch.arange(config.batch_size, device=self.device)
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        self.correct = torch.zeros((), dtype=torch.long, device=self.device)
        self.graph: torch.cuda.CUDAGraph | None = None
        set_capturable(optimizer, capture)

    def __call__(self, epoch: int, on_progress: ProgressCallback | None = None) -> dict[str, float]:
        """Train one epoch; return train.train_one_epoch's dict (running loss and accuracy)."""
        self.model.train()
        if self.capture and self.graph is None and self.plan.full:
            self.graph = self.capture_step()  # before the epoch starts: warm-up draws must not count
        self.start_epoch(epoch)
        started = time.perf_counter()
        for step in range(1, self.plan.full + 1):
            self._full_batch()
            if on_progress and step % PROGRESS_EVERY == 0:
                self._report(epoch, step * self.plan.batch_size, started, on_progress)
        if self.plan.remainder:
            # One eager step per epoch at most (none for 60,000 images at batch 20): a second
            # graph for it would cost a capture and its memory to save about 2 ms an epoch.
            with _quiet_capturable():
                self.train_step(self.order[self.plan.full * self.plan.batch_size :])
        loss, accuracy = self.totals(self.plan.images)
        if not math.isfinite(loss):
            raise Diverged(
                f"training diverged: the loss of epoch {epoch} is not finite ({loss}); "
                "try a smaller --lr (nothing of this epoch was saved)"
            )
        if on_progress:
            self._report(epoch, self.plan.images, started, on_progress)
        return {"train_loss": loss, "train_accuracy": accuracy}

    def start_epoch(self, epoch: int) -> None:
        """Seed the epoch's draws, shuffle on the device, zero the step counter and the totals."""
        seed = epoch_seed(self.config.seed, epoch)
        torch.manual_seed(seed)  # the default generators (CPU and CUDA): augmentation, dropout
        shuffle = torch.Generator(device=self.device).manual_seed(seed)
        self.order.copy_(torch.randperm(len(self.labels), generator=shuffle, device=self.device))
        self.step.zero_()
        self.loss_sum.zero_()
        self.correct.zero_()

    def train_step(self, index: torch.Tensor) -> None:
        """One optimizer step on the images at `index`; adds to the loss and hit totals."""
        images = self.images.index_select(0, index).unsqueeze(1).float().div_(255.0)
        labels = self.labels.index_select(0, index)
        if self.ranges is not None:
            images = augment_in_graph(images, self.ranges)
        inputs = ((images - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        logits = self.model(inputs)
        loss = F.cross_entropy(logits, labels, label_smoothing=self.config.label_smoothing)
        # None, not zeros: backward then writes the gradients afresh, so a captured step
        # never accumulates into the previous replay's gradients.
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.loss_sum += loss.detach().double() * len(index)
        self.correct += (logits.argmax(1) == labels).sum()

    def indexed_step(self) -> None:
        """The captured step: the batch at the step counter, then the counter moves on."""
        index = self.order.index_select(0, self.step * self.plan.batch_size + self.offsets)
        self.train_step(index)
        self.step += 1

    def totals(self, seen: int) -> tuple[float, float]:
        """Mean loss and accuracy over the first `seen` images of the epoch (one read from the device)."""
        loss_sum, correct = torch.stack([self.loss_sum, self.correct.double()]).tolist()
        return loss_sum / max(seen, 1), correct / max(seen, 1)

    def _full_batch(self) -> None:
        if self.graph is not None:
            self.graph.replay()
        else:
            self.indexed_step()

    def _report(self, epoch: int, seen: int, started: float, on_progress: ProgressCallback) -> None:
        loss, accuracy = self.totals(seen)
        rate = seen / max(time.perf_counter() - started, 1e-9)
        on_progress(Progress(epoch, self.config.epochs, seen, self.plan.images, loss, accuracy, rate))

    def capture_step(self) -> torch.cuda.CUDAGraph:
        """Warm up on a side stream, capture one step, then undo the warm-up's updates."""
        saved = _snapshot(self.model, self.optimizer)
        stream = torch.cuda.Stream(self.device)
        stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(stream), _quiet_capturable():
            for _ in range(WARMUP_STEPS):  # lets cuDNN, cuBLAS and Adam allocate before capture
                self.step.zero_()  # stays within the data even when an epoch has fewer batches
                self.indexed_step()
        torch.cuda.current_stream(self.device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        self.optimizer.zero_grad(set_to_none=True)  # backward in the graph allocates its own
        with torch.cuda.graph(graph, stream=stream):  # the warm-up's stream, as PyTorch advises
            self.indexed_step()
        _restore(saved, self.model, self.optimizer)
        return graph


Snapshot = tuple[list[torch.Tensor], dict[int, dict[str, torch.Tensor]]]


def _snapshot(model: nn.Module, optimizer: torch.optim.Optimizer) -> Snapshot:
    """Copies of the weights, buffers (batch-norm statistics) and optimizer state."""
    tensors = [t.detach().clone() for t in (*model.parameters(), *model.buffers())]
    state = {id(p): {k: v.clone() for k, v in s.items() if torch.is_tensor(v)} for p, s in optimizer.state.items()}
    return tensors, state


def _restore(saved: Snapshot, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Put a snapshot back in place (the graph holds these very tensors); new Adam state -> zeros."""
    tensors, state = saved
    with torch.no_grad():
        for target, copy in zip((*model.parameters(), *model.buffers()), tensors, strict=True):
            target.copy_(copy)
        for param, param_state in optimizer.state.items():
            before = state.get(id(param), {})
            for key, value in param_state.items():
                if torch.is_tensor(value):
                    if key in before:
                        value.copy_(before[key])
                    else:  # state Adam created during the warm-up: a fresh state is all zeros
                        value.zero_()


@contextlib.contextmanager
def _quiet_capturable() -> Iterator[None]:
    """Silence Adam's warning that a capturable optimizer is stepping outside a graph."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*capturable=True.*")
        yield
