"""Runs to export: the shared tiny runs, a run with a cosine schedule, and a two-cell sweep."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import invoke

SWEEP = "grid"


@pytest.fixture(scope="session")
def export_runs(tmp_path_factory: pytest.TempPathFactory, trained_runs: Path, data_dir: Path) -> Path:
    """A runs dir: tiny10 and tiny4 (trained, evaluated), `cosine` (trained only) and the sweep `grid`."""
    runs = tmp_path_factory.mktemp("export") / "runs"
    shutil.copytree(trained_runs, runs)
    common = ["--runs-dir", runs, "--data-dir", data_dir]
    tiny = ["--epochs", "2", "--limit", "120"]
    result = invoke(
        "train", "--name", "cosine", "--schedule", "cosine", "--lr", "0.01", "--threads", "1", *tiny, *common
    )
    assert result.exit_code == 0, result.output
    result = invoke(
        "sweep", "--grid", "dropout=0,0.3", "--name", SWEEP, "--jobs", "1", "--threads", "1", *tiny, *common
    )
    assert result.exit_code == 0, result.output
    return runs


@pytest.fixture
def fresh_runs(export_runs: Path, tmp_path: Path) -> Path:
    """A copy a test may change."""
    return Path(shutil.copytree(export_runs, tmp_path / "runs"))
