"""10 versus 4 classes: a 10-class model's predictions scored on the write-up's four groups.

Experiment 2 trains a network on four groups of digits and reports a higher accuracy than
Experiment 1. That number mixes two effects: the grouping may help the network learn, and
four groups are easier to score (a 3-for-5 confusion no longer counts as an error). Scoring
the 10-class model on the same four groups isolates the second effect:
    argmax then map: the 10-class prediction's group;
    summed probabilities: the group whose member classes together have the most probability.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnreport import config
from cnnreport.analyses.metrics import softmax

GROUP_OF_LABEL = np.array(config.GROUP_OF_LABEL)  # label 0..9 -> its group, as training maps labels


def membership() -> np.ndarray:
    """[10, groups] matrix with a 1 where label d belongs to group g."""
    matrix = np.zeros((10, len(config.DIGIT_GROUPS)))
    matrix[np.arange(10), GROUP_OF_LABEL] = 1.0
    return matrix


def merge_argmax(logits: np.ndarray) -> np.ndarray:
    """The group of each 10-class prediction."""
    return GROUP_OF_LABEL[logits.argmax(1)]


def merge_probabilities(logits: np.ndarray) -> np.ndarray:
    """The group with the largest summed softmax probability."""
    return (softmax(logits.astype(np.float64)) @ membership()).argmax(1)


def merged_summary(logits: np.ndarray, digits: np.ndarray) -> dict[str, Any]:
    """evaluate's 'merged_groups' field for a 10-class run: both merged accuracies."""
    groups = GROUP_OF_LABEL[np.asarray(digits)]
    by_argmax, by_sum = merge_argmax(logits), merge_probabilities(logits)
    return {
        "accuracy_argmax": float((by_argmax == groups).mean()),
        "accuracy_summed": float((by_sum == groups).mean()),
        "disagreements": int((by_argmax != by_sum).sum()),  # images where the two rules differ
        "images": len(groups),
    }
