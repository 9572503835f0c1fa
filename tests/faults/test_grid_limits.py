"""A sweep counts its runs before planning any: a grid above MAX_RUNS (cells times seeds) is one
line and exit 2, however large, and a grid at the limit is planned (its speed is a benchmark:
benchmarks/grid_planning.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnreport.jobs.grid import MAX_RUNS
from cnnreport.jobs.sweep import build_spec, plan
from tests.faults.helpers import assert_fails, cli
from tests.faults.hostile_user import assert_refused, cnnreport


def values(count: int, start: int = 1) -> str:
    return ",".join(str(start + i) for i in range(count))


def decimals(count: int) -> str:
    return ",".join(f"{0.0001 * (i + 1):.4f}" for i in range(count))


def test_a_grid_of_a_trillion_runs_is_refused_by_a_real_process(tmp_path: Path) -> None:
    """100 values of six options once ran out of memory while planning."""
    grid = [
        f"lr={decimals(100)}", f"batch-size={values(100)}", f"epochs={values(100)}", f"limit={values(100, 100)}",
        f"validation={values(100, 0)}", f"dropout={','.join(f'{i / 200:g}' for i in range(100))}",
    ]  # fmt: skip
    done = cnnreport("sweep", *(word for option in grid for word in ("--grid", option)), "--runs-dir", tmp_path)
    assert_refused(done, 2, "sweep of 1,000,000,000,000 runs", f"over the limit of {MAX_RUNS:,} runs")
    assert list(tmp_path.iterdir()) == []


OVER_THE_LIMIT = {
    "cells": (["--grid", f"lr={decimals(101)}", "--grid", f"batch-size={values(100)}"], "10,100 runs"),
    "seeds times cells": (["--grid", f"lr={decimals(101)}", "--seeds", "100"], "10,100 runs"),
    "one option's values": (["--grid", f"batch-size={values(MAX_RUNS + 1)}"], "10,001 values"),
}


@pytest.mark.parametrize(("args", "count"), OVER_THE_LIMIT.values(), ids=OVER_THE_LIMIT.keys())
def test_every_way_past_the_limit_is_counted(tmp_path: Path, args: list[str], count: str) -> None:
    assert_fails(cli("sweep", *args, "--runs-dir", tmp_path), 2, count, f"{MAX_RUNS:,}")
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_file_past_the_limit_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "big.toml"
    file.write_text(f"seeds = 2\n[grid]\nlr = [{decimals(100)}]\nbatch-size = [{values(51)}]\n")
    assert_fails(cli("sweep", file, "--runs-dir", tmp_path / "runs"), 2, "10,200 runs")
    assert not (tmp_path / "runs").exists()


def test_a_grid_at_the_limit_is_planned(tmp_path: Path) -> None:
    spec = build_spec(None, [f"lr={decimals(100)}", f"batch-size={values(100)}"], name="limit")
    planned = plan(spec, tmp_path)
    assert len(planned.jobs) == len(planned.todo) == MAX_RUNS
    assert len({job.name for job in planned.jobs}) == MAX_RUNS  # each run its own folder
    assert list(tmp_path.iterdir()) == []  # planning touches nothing


def test_a_grid_whose_run_names_are_too_long_for_the_file_system(tmp_path: Path) -> None:
    """Every option varied at once makes a folder name past 255 bytes: refused before any folder."""
    grid = [
        "dataset=fashion-mnist", "classes=10", "augment=false", "dropout=1.23457e-05", "batch-norm=true",
        "epochs=1000", "batch-size=20", "lr=1.23457e-05", "limit=60000", "schedule=onecycle",
        "label-smoothing=1.23457e-05", "weight-decay=1.23457e-05", "validation=12345", "ema=1.23457e-05",
        "rotate=12.3457", "shift=1.23457e-05",
    ]  # fmt: skip
    result = cli("sweep", *(word for option in grid for word in ("--grid", option)), "--runs-dir", tmp_path)
    assert_fails(result, 2, "more than the 255 a file name may have")
    assert list(tmp_path.iterdir()) == []
