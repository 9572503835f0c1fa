"""Read a run's cached analysis results for the report, answering None when they are absent.

The report must render whatever exists, so every reader here turns a missing or unreadable
file into None (the section then says what to run) instead of an exception.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnreport.config import ExperimentConfig
from cnnreport.errors import CnnReportError
from cnnreport.runs import RunDir


def config(run: RunDir) -> ExperimentConfig | None:
    try:
        return run.read_config()
    except CnnReportError:
        return None


def evaluation(run: RunDir, *needed: str) -> dict[str, Any] | None:
    """evaluation.json, or None when it is absent, unreadable, or lacks a `needed` field
    (an evaluation written before that analysis existed)."""
    try:
        result = run.read_json(run.evaluation_file)
    except CnnReportError:
        return None
    return result if all(key in result for key in needed) else None


def arrays(run: RunDir, *needed: str) -> dict[str, np.ndarray] | None:
    """analysis.npz, or None when it is absent, unreadable, or lacks a `needed` array."""
    if not run.analysis_file.exists():
        return None
    try:
        found = run.read_arrays(run.analysis_file)
    except CnnReportError:
        return None
    return found if all(key in found for key in needed) else None


def predictions(run: RunDir) -> dict[str, np.ndarray] | None:
    """predictions.npz (logits, labels, error gallery), or None when absent or unreadable."""
    try:
        return run.read_arrays(run.predictions_file)
    except CnnReportError:
        return None


def evaluate_hint(run: RunDir) -> str:
    """What the user runs to produce the missing results."""
    return f"run `cnnreport evaluate {run.name}` (with this version of cnnreport)"
