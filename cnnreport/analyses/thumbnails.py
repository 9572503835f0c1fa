"""Which test images the report may show as thumbnails, chosen once when a run is evaluated.

The report cannot read the test set (it never loads data), so evaluate saves these few images
in predictions.npz: up to CELL_CAP per (true, predicted) cell of the confusion matrix, spread
over the cell's confidence range, and TSNE_CAP from the report's default t-SNE subset. That
bounds the file (10 classes: at most 100 x 12 + 120 images of 784 bytes before compression)
and the report (a few hundred thumbnails a run).
"""

from __future__ import annotations

import numpy as np

from cnnreport.analyses import tsne
from cnnreport.analyses.metrics import softmax

CELL_CAP = 12
TSNE_CAP = 120


def cell_samples(labels: np.ndarray, predicted: np.ndarray, confidence: np.ndarray, cap: int = CELL_CAP) -> np.ndarray:
    """Up to `cap` indices per (true, predicted) pair, most confident first, evenly spread over the rest."""
    chosen = [np.zeros(0, dtype=np.int64)]
    for true in np.unique(labels):
        for guess in np.unique(predicted):
            members = np.flatnonzero((labels == true) & (predicted == guess))
            ordered = members[np.argsort(-confidence[members], kind="stable")]
            if len(ordered) > cap:  # the cell's range, not only its most confident images
                ordered = ordered[np.linspace(0, len(ordered) - 1, cap).round().astype(int)]
            chosen.append(ordered)
    return np.concatenate(chosen).astype(np.int64)


def tsne_samples(labels: np.ndarray, cap: int = TSNE_CAP) -> np.ndarray:
    """A stratified `cap` of the report's default t-SNE subset, so its points can show their images."""
    subset = tsne.stratified_subset(labels, tsne.DEFAULT_SAMPLES, tsne.SEED)
    return subset[tsne.stratified_subset(labels[subset], min(cap, len(subset)), tsne.SEED)]


def thumbnail_indices(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Sorted test-set indices of every image the report may show as a thumbnail."""
    probabilities = softmax(logits.astype(np.float64))
    cells = cell_samples(labels, probabilities.argmax(1), probabilities.max(1))
    return np.union1d(cells, tsne_samples(labels)).astype(np.int64)
