"""The data behind the report's explorers, embedded as JSON for its inline script.

Per run: the confusion matrix with a few test images per (true, predicted) cell, and t-SNE
points that carry their image; across runs: every run's learning curves. Images come from
what evaluate saved (predictions.npz's thumbnails, or the error gallery of an older
evaluation) and travel as one small grey-level PNG sprite a run, indexed by slot.
`json_for_script` makes any of it safe inside a <script type="application/json"> block.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup

from cnnreport.analyses.metrics import softmax
from cnnreport.analyses.thumbnails import CELL_CAP, tsne_samples
from cnnreport.errors import CnnReportError
from cnnreport.report.results import RunResults

SPRITE_COLUMNS = 20
GREY_LEVELS = 4  # 2-bit greys: a digit reads the same at a third of 8-bit's bytes (about 80 a thumbnail)
COORDINATE_SCALE = 1000  # t-SNE coordinates as integers 0..1000: the chart needs no more
# A run name or label may hold "</script>": inside the JSON every <, > and & is a \u escape, and
# U+2028/2029 (line ends to older JavaScript) are escaped too.
_SCRIPT_SAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_for_script(value: Any) -> Markup:
    """JSON that cannot end its <script> element or open another, whatever strings it holds."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    for char, escaped in _SCRIPT_SAFE.items():
        text = text.replace(char, escaped)
    return Markup(text)


def sprite(images: np.ndarray) -> str:
    """uint8 images [n, h, w] as one PNG data URI, SPRITE_COLUMNS a row, dark ink on white."""
    from PIL import Image

    count, height, width = images.shape
    rows = max(1, -(-count // SPRITE_COLUMNS))
    grid = np.zeros((rows * height, SPRITE_COLUMNS * width), dtype=np.uint8)
    for slot, image in enumerate(images):
        row, column = divmod(slot, SPRITE_COLUMNS)
        grid[row * height : (row + 1) * height, column * width : (column + 1) * width] = image
    step = 256 // GREY_LEVELS
    picture = Image.fromarray(((255 - grid) // step).astype(np.uint8), "P")
    picture.putpalette([level * 255 // (GREY_LEVELS - 1) for level in range(GREY_LEVELS) for _ in range(3)])
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", bits=2, optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnail_pool(predictions: dict[str, np.ndarray]) -> dict[int, np.ndarray]:
    """Test index -> its saved image: the thumbnails evaluate saves, and the error gallery."""
    pool: dict[int, np.ndarray] = {}
    for indices, images in (("gallery_indices", "gallery_images"), ("thumbnail_indices", "thumbnail_images")):
        if indices in predictions and images in predictions:
            pool.update(zip(map(int, predictions[indices]), predictions[images], strict=True))
    return pool


def run_data(files: RunResults) -> dict[str, Any]:
    """One run's explorer data; {} when it has no evaluation (its sections say what to run)."""
    try:
        predictions, evaluation = files.predictions, files.evaluation
    except CnnReportError:
        return {}
    pool = thumbnail_pool(predictions)
    slots = {index: slot for slot, index in enumerate(sorted(pool))}
    probabilities = softmax(predictions["logits"].astype(np.float64))
    shown = Shown(slots, probabilities.argmax(1), probabilities.max(1), predictions["labels"], predictions["digits"])
    data: dict[str, Any] = {
        "name": files.run.name,
        "names": files.names,
        "columns": SPRITE_COLUMNS,
        "side": int(next(iter(pool.values())).shape[-1]) if pool else 28,
        "sprite": sprite(np.stack([pool[i] for i in sorted(pool)])) if pool else "",
        "confusion": {"matrix": evaluation["confusion_matrix"], "cells": shown.cells(len(files.names))},
        "evaluated_with_thumbnails": "thumbnail_indices" in predictions,
    }
    if files.tsne_outcome is not None and not isinstance(files.tsne_outcome, Exception):
        # The unbiased sample evaluate saved for the t-SNE; the confusion cells' images would over-weight errors.
        sampled = set(map(int, tsne_samples(predictions["labels"]))) & set(slots)
        data["tsne"] = shown.tsne_points(files.tsne.coords, files.tsne.indices, sampled or set(slots))
    return data


@dataclass(frozen=True)
class Shown:
    """The test images that have a thumbnail, each as [slot, confidence %, test index, digit, predicted]."""

    slots: dict[int, int]  # test index -> its place in the sprite
    predicted: np.ndarray
    confidence: np.ndarray
    labels: np.ndarray
    digits: np.ndarray

    def item(self, index: int) -> list[int]:
        confidence = round(float(self.confidence[index]) * 100)
        return [self.slots[index], confidence, index, int(self.digits[index]), int(self.predicted[index])]

    def cells(self, classes: int) -> dict[str, list[list[int]]]:
        """'true,predicted' -> up to CELL_CAP items, most confident first."""
        found: dict[str, list[int]] = {}
        for index in self.slots:
            found.setdefault(f"{int(self.labels[index])},{int(self.predicted[index])}", []).append(index)
        return {
            key: [self.item(i) for i in sorted(members, key=lambda i: -self.confidence[i])[:CELL_CAP]]
            for key, members in found.items()
        }

    def tsne_points(self, coords: np.ndarray, indices: np.ndarray, chosen: set[int]) -> list[list[int]]:
        """[x, y, label, *item] for each embedded point among `chosen`; x and y in 0..1000."""
        low, high = coords.min(0), coords.max(0)
        scaled = np.round((coords - low) / np.where(high > low, high - low, 1) * COORDINATE_SCALE).astype(int)
        return [
            [int(x), int(y), int(self.labels[index]), *self.item(int(index))]
            for (x, y), index in zip(scaled, indices, strict=True)
            if int(index) in chosen
        ]


CURVE_FIELDS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "validation_accuracy")


def curves_data(everything: list[RunResults], anchors: dict[str, str]) -> list[dict[str, Any]]:
    """Every run's metrics per epoch (null where not scored), for the chart of all runs."""
    series = []
    for files in everything:
        try:
            epochs = files.metrics
        except CnnReportError:
            continue  # no epoch saved: nothing to draw; its own part says so
        entry: dict[str, Any] = {"name": files.run.name, "anchor": anchors.get(files.run.name, "")}
        entry["epoch"] = [int(row["epoch"]) for row in epochs]
        for field in CURVE_FIELDS:
            entry[field] = [None if row.get(field) is None else round(float(row[field]), 6) for row in epochs]
        series.append(entry)
    return series
