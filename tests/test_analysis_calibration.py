"""Calibration metrics against hand-made cases and independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss

from cnnreport.analyses import calibration


def loop_ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE written the slow, obvious way: bins (lo, hi], the first one also holding 0."""
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(c, k) for c, k in zip(confidence, correct, strict=True) if (lo < c <= hi) or (b == 0 and c == 0)]
        if inside:
            conf = sum(c for c, _ in inside) / len(inside)
            acc = sum(k for _, k in inside) / len(inside)
            total += len(inside) / len(confidence) * abs(acc - conf)
    return total


def test_ece_hand_made_case():
    # Two images at 0.95 (one right) and two at 0.55 (both right): each bin is off by 0.45.
    confidence = np.array([0.95, 0.95, 0.55, 0.55])
    correct = np.array([True, False, True, True])
    assert calibration.expected_calibration_error(confidence, correct) == pytest.approx(0.45)


def test_ece_is_zero_when_confidence_matches_accuracy():
    confidence = np.full(10, 0.7)
    correct = np.array([True] * 7 + [False] * 3)
    assert calibration.expected_calibration_error(confidence, correct) == pytest.approx(0.0)


def test_bin_edges_are_lower_exclusive():
    bins = calibration.reliability_bins(np.array([6 / 15, 1.0]), np.array([True, True]))
    assert bins["count"][5] == 1  # 0.4 sits in (1/3, 0.4], not in (0.4, 7/15]
    assert bins["count"][14] == 1
    assert sum(bins["count"]) == 2


def test_ece_matches_a_loop_on_random_data():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.1, 1.0, 500)
    correct = rng.uniform(size=500) < confidence**2
    assert calibration.expected_calibration_error(confidence, correct) == pytest.approx(loop_ece(confidence, correct))


def test_nll_matches_sklearn():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(200, 10)) * 3
    labels = rng.integers(0, 10, 200)
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = log_loss(labels, probabilities, labels=list(range(10)))
    assert calibration.negative_log_likelihood(logits, labels) == pytest.approx(expected, rel=1e-9)


def test_summary_uses_top_label_confidence():
    logits = np.log(np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]]))
    labels = np.array([0, 1, 1])
    result = calibration.summary(logits, labels)
    expected = loop_ece(np.array([0.8, 0.6, 0.7]), np.array([True, False, True]))
    assert result["ece"] == pytest.approx(expected)
    assert result["nll"] == pytest.approx(-(np.log(0.8) + np.log(0.4) + np.log(0.7)) / 3)
    assert len(result["reliability"]["count"]) == calibration.ECE_BINS
