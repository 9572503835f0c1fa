"""t-SNE of a run's penultimate-layer test features: the parameters, the sample, the embedding.

t-SNE is the one slow step of `report` (seconds per run), so report/caches.py saves each
result in the run dir with these parameters and the features' fingerprint, and reuses it
while both still match.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from cnnreport.errors import BadInput, RunError

DEFAULT_SAMPLES = 2000  # enough to show the clusters, small enough for seconds on 2 cores
MIN_SAMPLES = 10
PERPLEXITY = 30.0
SEED = 0
METHOD = "sklearn TSNE, Barnes-Hut, PCA init, learning rate auto"


@dataclass(frozen=True)
class TsneParams:
    """What decides the embedding: how many points, the perplexity and the seed."""

    samples: int
    perplexity: float = PERPLEXITY
    seed: int = SEED


@dataclass(frozen=True)
class Tsne:
    """A 2-D embedding of some test images; params are the effective ones used."""

    coords: np.ndarray  # float [n, 2]
    indices: np.ndarray  # int [n], positions in the test set
    params: TsneParams
    cached: bool  # True when read from the run dir instead of computed now


def check_samples(samples: int) -> None:
    if samples < MIN_SAMPLES:
        raise BadInput(f"--tsne-samples must be at least {MIN_SAMPLES}, not {samples}")


def effective_params(requested: TsneParams, available: int) -> TsneParams:
    """Clip the sample count to the test set and the perplexity to what sklearn accepts."""
    check_samples(requested.samples)
    if available < MIN_SAMPLES:
        raise RunError(f"only {available} test features; t-SNE needs at least {MIN_SAMPLES}")
    samples = min(requested.samples, available)
    # sklearn needs perplexity < samples; a third of the points keeps neighbourhoods meaningful.
    perplexity = min(requested.perplexity, (samples - 1) / 3)
    return TsneParams(samples, perplexity, requested.seed)


def stratified_subset(labels: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Sorted indices of `samples` items, each class in its share of the whole (largest remainder)."""
    if samples >= len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * samples / len(labels)
    quotas = np.floor(exact).astype(int)
    quotas[np.argsort(-(exact - quotas), kind="stable")[: samples - quotas.sum()]] += 1
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(labels == c), q, replace=False) for c, q in zip(classes, quotas, strict=True)]
    return np.sort(np.concatenate(picks))


def fingerprint(features: np.ndarray, labels: np.ndarray) -> str:
    """Identifies the evaluation the embedding came from, so a re-evaluated run is recomputed."""
    digest = hashlib.sha256(np.ascontiguousarray(features).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()


def compute(features: np.ndarray, params: TsneParams, indices: np.ndarray) -> np.ndarray:
    from sklearn.manifold import TSNE

    model = TSNE(
        n_components=2, perplexity=params.perplexity, init="pca", learning_rate="auto", random_state=params.seed
    )
    return model.fit_transform(features[indices].astype(np.float64)).astype(np.float32)
