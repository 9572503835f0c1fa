"""What an export must hold, read straight from a run folder's JSON files (not through cnnreport.export)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

EPOCH_FIELDS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds")
FINAL_FIELDS = ("test_accuracy", "train_accuracy", "running_train_accuracy", "ece", "nll", "params_total")


def document(run: Path, name: str) -> dict[str, Any]:
    return json.loads((run / name).read_text())


def epochs(run: Path) -> list[dict[str, Any]]:
    return document(run, "metrics.json")["epochs"]


def config(run: Path) -> dict[str, Any]:
    return document(run, "config.json")["config"]


def hparam(value: Any) -> Any:
    """A config value as trackers hold it: lists joined with commas, None as 'none'."""
    if isinstance(value, list):
        return ",".join(str(part) for part in value)
    return "none" if value is None else value


def final(run: Path) -> dict[str, float]:
    """epochs done, training seconds, and evaluation.json's numbers (the last epoch's test score without one)."""
    rows = epochs(run)
    values = {"epochs_done": float(len(rows)), "training_seconds": float(sum(row["seconds"] for row in rows))}
    if (run / "evaluation.json").exists():
        evaluation = document(run, "evaluation.json")
        return values | {name: float(evaluation[name]) for name in FINAL_FIELDS}
    return values | {"test_accuracy": rows[-1]["test_accuracy"], "test_loss": rows[-1]["test_loss"]}


def cosine_rates(run: Path) -> list[float]:
    """The rate cosine annealing leaves at the end of epoch e of E: lr * (1 + cos(pi e / E)) / 2."""
    settings = config(run)
    total = settings["epochs"]
    return [settings["lr"] * (1 + math.cos(math.pi * e / total)) / 2 for e in range(1, len(epochs(run)) + 1)]


def embedded(run: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The t-SNE sample's indices, features, labels and digits from predictions.npz and tsne.npz."""
    with np.load(run / "predictions.npz") as predictions, np.load(run / "tsne.npz") as tsne:
        indices = tsne["indices"]
        return indices, predictions["features"][indices], predictions["labels"][indices], predictions["digits"][indices]


def close(a: float, b: float) -> bool:
    """Equal to float32 precision (TensorBoard stores scalars as float32)."""
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
