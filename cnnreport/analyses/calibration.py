"""Calibration: expected calibration error (top label), reliability bins, test NLL."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnreport.analyses.metrics import log_softmax, softmax

ECE_BINS = 15


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of the true labels."""
    return float(-log_softmax(logits)[np.arange(len(labels)), labels].mean())


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> dict[str, list[float]]:
    """Per equal-width confidence bin (lower edge exclusive, Guo et al. 2017): count, mean confidence, accuracy."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(float)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    correct_sum = np.bincount(which, weights=correct.astype(float), minlength=bins)
    safe = np.maximum(count, 1)
    return {
        "count": count.tolist(),
        "confidence": (conf_sum / safe).tolist(),
        "accuracy": (correct_sum / safe).tolist(),
    }


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over bins of (bin share) * |accuracy - confidence|."""
    table = reliability_bins(confidence, correct, bins)
    count = np.array(table["count"])
    gap = np.abs(np.array(table["accuracy"]) - np.array(table["confidence"]))
    return float((count / max(count.sum(), 1) * gap).sum())


def summary(logits: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """The calibration fields evaluate saves: ECE, NLL and the reliability table."""
    probs = softmax(logits.astype(np.float64))
    confidence, correct = probs.max(1), probs.argmax(1) == labels
    return {
        "ece": expected_calibration_error(confidence, correct),
        "nll": negative_log_likelihood(logits.astype(np.float64), labels),
        "reliability": reliability_bins(confidence, correct),
    }
