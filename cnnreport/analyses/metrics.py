"""Evaluate a trained run: predictions, features and metrics saved in the run dir.

The metric functions are pure (arrays in, arrays out) so tests can check them against
scikit-learn; `evaluate_run` is the only part that touches models and files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cnnreport.analysis import calibration
from cnnreport.analysis.pipeline import analyze
from cnnreport.anatomy import parameter_counts
from cnnreport.data import class_names, load_study_data, to_uint8
from cnnreport.runs import RunDir
from cnnreport.train import load_model, predict

GALLERY_SIZE = 32  # misclassified test images kept (with their pixels) for the report


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
    loss = -calibration.log_softmax(logits[wrong].astype(np.float64))[np.arange(len(wrong)), labels[wrong]]
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
        **calibration.summary(logits, labels),
    }


def evaluate_run(run: RunDir, data_dir: Path, device: str = "cpu", dataset: str | None = None) -> dict[str, Any]:
    """Evaluate the checkpoint on clean train and test data; save and return the results."""
    model, config, state = load_model(run, device)
    dataset = dataset or config.dataset
    data = load_study_data(data_dir, dataset, config.classes, config.limit)
    normalization = (float(state["normalization"][0]), float(state["normalization"][1]))
    train_logits, _ = predict(model, data.train_images, normalization)
    test_logits, features = predict(model, data.test_images, normalization)
    names = class_names(dataset, config.classes)
    labels = data.test_labels.numpy()
    result = summarize_predictions(test_logits.numpy(), labels, names)
    counts = parameter_counts(model)
    result |= {
        "run": run.name,
        "train_accuracy": accuracy(data.train_labels.numpy(), train_logits.argmax(1).numpy()),
        "running_train_accuracy": float(state["metrics"][-1]["train_accuracy"]),
        "epochs_trained": int(state["epoch"]),
        "params_total": counts["total"],
        "params_trainable": counts["trainable"],
        "class_names": names,
    }
    gallery = error_gallery(test_logits.numpy(), labels)
    run.write_arrays(
        run.predictions_file,
        gallery_indices=gallery,
        gallery_images=to_uint8(data.test_images[gallery]),
        logits=test_logits.numpy(),
        features=features.numpy(),
        labels=labels,
        digits=data.test_digits.numpy(),
    )
    # Analyses beyond the write-up (robustness, grouping, Grad-CAM, filters, efficiency).
    fields, arrays = analyze(model, config, state, data, test_logits.numpy(), gallery, dataset)
    result |= fields
    run.write_arrays(run.analysis_file, **arrays)
    run.write_json(run.evaluation_file, result)
    return result


def load_predictions(run: RunDir) -> dict[str, np.ndarray]:
    return run.read_arrays(run.predictions_file)
