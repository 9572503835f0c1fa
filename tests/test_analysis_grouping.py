"""The 10-class model merged into four groups, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cnnreport.analyses import grouping
from cnnreport.config import DIGIT_GROUPS


def test_group_of_label_follows_digit_groups():
    for group, members in enumerate(DIGIT_GROUPS):
        for digit in members:
            assert grouping.GROUP_OF_LABEL[digit] == group
    assert grouping.membership().sum(axis=1).tolist() == [1.0] * 10


def probabilities_to_logits(rows: list[dict[int, float]]) -> np.ndarray:
    """Logits whose softmax is the given probabilities (the rest spread evenly)."""
    out = []
    for row in rows:
        rest = (1 - sum(row.values())) / (10 - len(row))
        p = np.array([row.get(d, rest) for d in range(10)])
        out.append(np.log(p))
    return np.array(out)


def test_merged_accuracies_by_hand():
    logits = probabilities_to_logits(
        [
            {6: 0.5, 0: 0.1},  # digit 0: argmax 6 -> group {0,6}: right by both rules
            {1: 0.40, 4: 0.30, 9: 0.25},  # digit 4: argmax 1 (wrong), but {4,9} sums to 0.55 (right)
            {2: 0.30, 7: 0.35, 1: 0.30},  # digit 2: argmax 7 (wrong), {1,7} sums to 0.65 (wrong too)
            {3: 0.9},  # digit 3: right by both
        ]
    )
    digits = np.array([0, 4, 2, 3])
    result = grouping.merged_summary(logits, digits)
    assert result["accuracy_argmax"] == pytest.approx(2 / 4)
    assert result["accuracy_summed"] == pytest.approx(3 / 4)
    assert result["disagreements"] == 1
    assert result["images"] == 4


def test_merging_rules_on_random_logits_match_a_loop():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(300, 10))
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    by_sum = [int(np.argmax([p[list(members)].sum() for members in DIGIT_GROUPS])) for p in probabilities]
    by_argmax = [next(g for g, m in enumerate(DIGIT_GROUPS) if int(np.argmax(p)) in m) for p in probabilities]
    assert grouping.merge_probabilities(logits).tolist() == by_sum
    assert grouping.merge_argmax(logits).tolist() == by_argmax
