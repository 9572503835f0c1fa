"""Test-set metrics from logits and labels: softmax, confusion matrix, per-class scores, error gallery.

Pure functions (numpy arrays in, arrays and JSON-able values out), so tests can check them
against scikit-learn; jobs/evaluate.py runs the model and saves what these return.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GALLERY_SIZE = 32  # misclassified test images kept (with their pixels) for the report


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities, computed stably with log-sum-exp."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise probabilities: the one softmax of the package (calibration, grouping, the report)."""
    return np.exp(log_softmax(logits))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """Counts [true, predicted]."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def per_class_metrics(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support per class (0 where a class is never predicted/present)."""
    true_positive = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(0).astype(float), matrix.sum(1).astype(float)
    precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros_like(true_positive), where=actual > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(true_positive), where=denominator > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual.astype(np.int64)}


def most_confused_pairs(matrix: np.ndarray, top: int = 5) -> list[tuple[int, int, int]]:
    """The (true, predicted, count) off-diagonal cells with the largest counts."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    pairs = [(int(i), int(j), int(off[i, j])) for i, j in zip(*np.unravel_index(order, off.shape), strict=True)]
    return [p for p in pairs if p[2] > 0]


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    return float((labels == predictions).mean()) if len(labels) else 0.0


def error_gallery(logits: np.ndarray, labels: np.ndarray, size: int = GALLERY_SIZE) -> np.ndarray:
    """Indices of misclassified images, worst (highest loss) first."""
    wrong = np.flatnonzero(logits.argmax(1) != labels)
    loss = -log_softmax(logits[wrong].astype(np.float64))[np.arange(len(wrong)), labels[wrong]]
    return wrong[np.argsort(-loss, kind="stable")][:size]


def summarize_predictions(logits: np.ndarray, labels: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Everything the report and --json show about one set of test predictions."""
    predictions = logits.argmax(1)
    matrix = confusion_matrix(labels, predictions, len(names))
    per_class = per_class_metrics(matrix)
    return {
        "test_accuracy": accuracy(labels, predictions),
        "confusion_matrix": matrix.tolist(),
        "most_confused": [
            {"true": names[i], "predicted": names[j], "count": n} for i, j, n in most_confused_pairs(matrix)
        ],
        "per_class": [
            {"class": name, **{k: float(v[c]) if k != "support" else int(v[c]) for k, v in per_class.items()}}
            for c, name in enumerate(names)
        ],
    }
