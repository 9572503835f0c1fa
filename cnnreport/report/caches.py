"""The caches `build` fills before any section is made: today one, each run's t-SNE (tsne.npz).

The embedding is saved with its parameters and a fingerprint of the features it came from;
a later report with the same parameters on the same features reads it instead of computing.
This and the final HTML are the only files the report writes.
"""

from __future__ import annotations

import numpy as np

from cnnreport.analyses import tsne
from cnnreport.analyses.tsne import METHOD, Tsne, TsneParams
from cnnreport.errors import RunError
from cnnreport.report.results import RunResults
from cnnreport.storage.rundir import RunDir


def fill(results: RunResults, requested: TsneParams) -> None:
    """Find or compute the run's t-SNE and keep it (or why it failed) for the section that shows it."""
    try:
        predictions = results.predictions
        results.tsne_outcome = load_or_compute(results.run, predictions["features"], predictions["labels"], requested)
    except Exception as exc:  # noqa: BLE001 - the t-SNE section reports it, the rest of the report goes on
        results.tsne_outcome = exc


def load_or_compute(run: RunDir, features: np.ndarray, labels: np.ndarray, requested: TsneParams) -> Tsne:
    """The cached embedding when its parameters and features match; else compute and cache it."""
    params = tsne.effective_params(requested, len(features))
    key = tsne.fingerprint(features, labels)
    cached = _read_cache(run, params, key)
    if cached is not None:
        return cached
    indices = tsne.stratified_subset(labels, params.samples, params.seed)
    coords = tsne.compute(features, params, indices)
    run.write_arrays(
        run.tsne_file,
        coords=coords,
        indices=indices,
        samples=np.array(params.samples),
        perplexity=np.array(params.perplexity),
        seed=np.array(params.seed),
        fingerprint=np.array(key),
        method=np.array(METHOD),
    )
    return Tsne(coords, indices, params, cached=False)


def _read_cache(run: RunDir, params: TsneParams, key: str) -> Tsne | None:
    if not run.tsne_file.exists():
        return None
    try:
        saved = run.read_arrays(run.tsne_file)
        stored = TsneParams(int(saved["samples"]), float(saved["perplexity"]), int(saved["seed"]))
        matches = stored == params and str(saved["fingerprint"]) == key and str(saved["method"]) == METHOD
    except (RunError, KeyError, ValueError, TypeError):
        return None  # an unreadable or older cache is simply recomputed
    if not matches:
        return None
    return Tsne(saved["coords"], saved["indices"], stored, cached=True)
