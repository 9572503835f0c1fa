"""t-SNE: a stratified sample, sane parameters, and a cache that is reused only when it fits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cnnreport.analyses import tsne
from cnnreport.analyses.tsne import TsneParams
from cnnreport.errors import BadInput
from cnnreport.report.caches import load_or_compute
from cnnreport.storage.rundir import RunDir


@pytest.fixture
def features() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), [60, 30, 10])
    return rng.normal(size=(100, 16)).astype(np.float32) + labels[:, None], labels


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count t-SNE computations, replacing sklearn with a stand-in (the cache logic is under test)."""
    calls: list[int] = []

    def compute(features: np.ndarray, params: TsneParams, indices: np.ndarray) -> np.ndarray:
        calls.append(1)
        return features[indices, :2] * (params.seed + 1)

    monkeypatch.setattr(tsne, "compute", compute)
    return calls


def test_stratified_subset_keeps_class_shares_and_is_deterministic():
    labels = np.repeat(np.arange(3), [600, 300, 100])
    chosen = tsne.stratified_subset(labels, 101, seed=5)
    assert len(chosen) == 101 and len(set(chosen)) == 101
    assert np.bincount(labels[chosen]).tolist() in ([61, 30, 10], [60, 31, 10], [60, 30, 11])
    assert np.array_equal(chosen, tsne.stratified_subset(labels, 101, seed=5))
    assert not np.array_equal(chosen, tsne.stratified_subset(labels, 101, seed=6))
    assert np.array_equal(tsne.stratified_subset(labels, 5000, seed=0), np.arange(1000))


def test_compute_embeds_the_chosen_points_in_two_dimensions(features):
    values, labels = features
    indices = tsne.stratified_subset(labels, 40, seed=0)
    coords = tsne.compute(values, TsneParams(40, perplexity=10.0), indices)
    assert coords.shape == (40, 2) and np.isfinite(coords).all()


def test_effective_params_clip_to_the_data():
    assert tsne.effective_params(TsneParams(2000), available=10_000) == TsneParams(2000, 30.0, 0)
    small = tsne.effective_params(TsneParams(2000), available=61)
    assert small.samples == 61 and small.perplexity == 20.0
    with pytest.raises(BadInput, match="--tsne-samples"):
        tsne.effective_params(TsneParams(3), available=100)


def test_second_call_reuses_the_cache(tmp_path: Path, features, counted):
    run = RunDir(tmp_path)
    first = load_or_compute(run, *features, TsneParams(50))
    stamp = run.tsne_file.stat().st_mtime_ns
    second = load_or_compute(run, *features, TsneParams(50))
    assert (first.cached, second.cached) == (False, True)
    assert len(counted) == 1 and run.tsne_file.stat().st_mtime_ns == stamp
    assert np.array_equal(first.coords, second.coords) and np.array_equal(first.indices, second.indices)
    assert first.coords.shape == (50, 2) and second.params == TsneParams(50, 49 / 3, 0)


def test_cache_is_recomputed_when_parameters_or_features_change(tmp_path: Path, features, counted):
    run = RunDir(tmp_path)
    values, labels = features
    load_or_compute(run, values, labels, TsneParams(40))
    load_or_compute(run, values, labels, TsneParams(40, seed=1))
    load_or_compute(run, values + 1, labels, TsneParams(40, seed=1))  # re-evaluated run
    assert len(counted) == 3
    run.tsne_file.write_bytes(b"not an npz")
    assert load_or_compute(run, values + 1, labels, TsneParams(40, seed=1)).cached is False
    assert len(counted) == 4
