"""A run's files in the shapes trackers take: hyperparameters, per-epoch and final metrics,
the report's figures as PNG bytes, and the penultimate-layer features for an embedding view.

Every number comes from the run's JSON files as saved; nothing is recomputed except the
learning rate of a scheduled run, replayed from its config (training keeps no per-epoch rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnreport.analyses.tsne import Tsne, TsneParams
from cnnreport.config import ExperimentConfig
from cnnreport.report import caches
from cnnreport.report.figures import curves, images, png_bytes
from cnnreport.report.results import RunResults
from cnnreport.report.sections.run import gallery_items
from cnnreport.storage.peek import plain_fields

EPOCH_FIELDS = (
    "train_loss", "train_accuracy", "test_loss", "test_accuracy", "validation_loss", "validation_accuracy", "seconds",
)  # fmt: skip
LEARNING_RATE = "learning_rate"
# evaluation.json's single numbers, exported as the run's final values.
FINAL_FIELDS = ("test_accuracy", "train_accuracy", "running_train_accuracy", "ece", "nll", "params_total")
FIGURES = ("learning_curves", "confusion_matrix", "error_gallery", "tsne")

Value = str | int | float | bool


def hyperparameters(config: ExperimentConfig) -> dict[str, Value]:
    """The run's config as flat values: lists as '16,8,4', an unset option as 'none'."""
    flat: dict[str, Value] = {}
    for name, value in config.to_dict().items():
        if isinstance(value, (list, tuple)):
            flat[name] = ",".join(str(part) for part in value)
        else:
            flat[name] = "none" if value is None else value
    return flat


def epoch_values(files: RunResults) -> list[dict[str, float]]:
    """One dict per epoch (epoch 1 first) of the metrics.json numbers it holds, and the learning rate
    where a schedule changes it; a test score not yet taken (with --validation) is left out."""
    rows = [{name: float(row[name]) for name in EPOCH_FIELDS if row.get(name) is not None} for row in files.metrics]
    for row, rate in zip(rows, learning_rates(files), strict=False):
        row[LEARNING_RATE] = rate
    return rows


def learning_rates(files: RunResults) -> list[float]:
    """The rate at the end of each epoch of a scheduled run; empty for a constant rate.

    The steps per epoch come from the checkpoint's scheduler (its total_steps or T_max over
    the planned epochs); a run without a readable checkpoint gets no rate.
    """
    config = files.config
    if config.schedule == "constant" or not files.run.checkpoint_file.is_file():
        return []
    scheduler = (plain_fields(files.run.checkpoint_file) or {}).get("scheduler") or {}
    total = scheduler.get("total_steps", scheduler.get("T_max"))
    if not isinstance(total, int) or total <= 0 or total % config.epochs:
        return []
    from cnnreport.ml.recipe import rates_per_epoch  # torch: only for scheduled runs

    return rates_per_epoch(config, total // config.epochs, len(files.metrics))


def final_values(files: RunResults) -> dict[str, float]:
    """The run's end result: evaluation.json's numbers when evaluated, else the last epoch's test score.

    Writers prefix the names (final/..., final_...) so they never meet the per-epoch curves.
    """
    rows = files.metrics
    final = {"epochs_done": float(len(rows)), "training_seconds": float(sum(row["seconds"] for row in rows))}
    evaluation = files.evaluation_with("test_accuracy")
    if evaluation is not None:
        return final | {name: float(evaluation[name]) for name in FINAL_FIELDS if name in evaluation}
    last = {name: rows[-1].get(name) for name in ("test_accuracy", "test_loss")}
    return final | {name: float(value) for name, value in last.items() if value is not None}


def prepare_tsne(files: RunResults, samples: int) -> Tsne | None:
    """The report's t-SNE of the run (cached in the run as the report caches it); None without predictions."""
    if not files.run.predictions_file.is_file():
        return None
    caches.fill(files, TsneParams(samples))
    return files.tsne_outcome if isinstance(files.tsne_outcome, Tsne) else None


def figures(files: RunResults, tsne: Tsne | None) -> dict[str, bytes]:
    """The report's own figures of the run, as PNG bytes, for the files it has."""
    made = {"learning_curves": png_bytes(curves.learning_curves(files.metrics))}
    evaluation = files.evaluation_with("confusion_matrix")
    if evaluation is not None:
        matrix = np.asarray(evaluation["confusion_matrix"])
        made["confusion_matrix"] = png_bytes(curves.confusion_figure(matrix, files.names))
    predictions = files.predictions_or_none()
    if predictions is not None and len(predictions["gallery_indices"]):
        made["error_gallery"] = png_bytes(images.gallery_figure(gallery_items(files)))
    if predictions is not None and tsne is not None:
        labels = predictions["labels"][tsne.indices]
        made["tsne"] = png_bytes(curves.tsne_figure(tsne.coords, labels, files.names))
    return made


@dataclass(frozen=True)
class Embedding:
    """The test images the t-SNE shows: their penultimate-layer features, labels and pictures."""

    features: np.ndarray  # float32 [n, d]
    indices: np.ndarray  # positions in the test set
    classes: list[str]  # the model's class of each image ('{0,6}' for grouped classes)
    digits: list[int]  # the digit each image shows
    thumbnails: np.ndarray | None  # uint8 [n, 28, 28]; None when the test images are not at hand


def embedding(files: RunResults, tsne: Tsne, data_dir: Path) -> Embedding:
    predictions, names = files.predictions, files.names
    indices = tsne.indices
    classes = [names[int(label)] for label in predictions["labels"][indices]]
    digits = [int(digit) for digit in predictions["digits"][indices]]
    pictures = test_images(data_dir, files.config.dataset, len(predictions["labels"]))
    thumbnails = None if pictures is None else pictures[indices]
    return Embedding(predictions["features"][indices].astype(np.float32), indices, classes, digits, thumbnails)


def test_images(data_dir: Path, dataset: str, count: int) -> Any:
    """The test split's images when data_dir holds the run's dataset at the size it was evaluated on."""
    from cnnreport.errors import DataError
    from cnnreport.ml.data import IMAGE_SIDE, SPLIT_FILES, find_idx_file, read_idx

    path = find_idx_file(data_dir, dataset, SPLIT_FILES["test"][0])
    if path is None:
        return None
    try:
        found = read_idx(path)
    except DataError:
        return None
    return found if found.shape == (count, IMAGE_SIDE, IMAGE_SIDE) else None
