"""Sweeps: a grid of train options times seeds, planned into ordinary run folders.

A sweep named NAME lives in <runs-dir>/NAME: one run folder per cell and seed
(<cell>-seed<N>, the same files `train`, `evaluate` and `inspect` write) and a sweep.json
describing the grid. Every value is checked by building the ExperimentConfig that `train`
would build, so a bad grid is refused before any folder is made. A run whose config
already exists in the sweep folder is reused under its old name, so a bigger grid
re-trains nothing it shares with a smaller one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cnnreport.config import ExperimentConfig, check_range
from cnnreport.errors import BadInput, CnnReportError
from cnnreport.jobs.grid import MAX_RUNS, Value, parse_grid_option, value_text
from cnnreport.jobs.grid import OPTIONS as OPTIONS  # the options a grid may vary, re-exported
from cnnreport.jobs.reproduce import Job, needs_work, relative_cost
from cnnreport.jobs.sweep_file import check_sweep_name, read_sweep_file
from cnnreport.presets import preset_config
from cnnreport.storage.atomic import NAME_MAX
from cnnreport.storage.folders import holds_file, runs_dir_entries
from cnnreport.storage.rundir import RunDir, list_runs
from cnnreport.storage.sweeps import previous_created, write_sweep

NO_GRID: dict[str, dict[str, Any]] = {"grid": {}, "fixed": {}}


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep asks for: a preset, fixed options, a grid of options, and how many seeds."""

    name: str
    preset: str | None = None
    grid: dict[str, tuple[Value, ...]] = field(default_factory=dict)  # option -> values, in order
    fixed: dict[str, Value] = field(default_factory=dict)  # option -> one value for every cell
    seeds: int = 1


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its name and the options that differ from the base config."""

    name: str
    options: dict[str, Value]


@dataclass(frozen=True)
class Plan:
    """A validated sweep: its folder, cells, every run (config and folder name), and what is left to do."""

    spec: SweepSpec
    folder: Path
    cells: list[Cell]
    runs: dict[str, list[Job]]  # cell name -> its runs, one per seed
    todo: list[Job]  # the runs not yet trained, evaluated and inspected, costliest first

    @property
    def jobs(self) -> list[Job]:
        return [job for jobs in self.runs.values() for job in jobs]


def build_spec(
    file: Path | None,
    grid: Iterable[str],
    *,
    name: str | None = None,
    preset: str | None = None,
    seeds: int | None = None,
    fixed: Mapping[str, Value | None] | None = None,
) -> SweepSpec:
    """The sweep from an optional TOML file, with command-line settings laid over it."""
    base: dict[str, Any] = (
        read_sweep_file(file) if file is not None else dict.fromkeys(("name", "preset", "seeds")) | NO_GRID
    )
    entries = [parse_grid_option(text) for text in grid]
    repeated = [option for option, count in _counts(option for option, _ in entries).items() if count > 1]
    if repeated:
        raise BadInput(f"--grid {repeated[0].replace('_', '-')} is given twice; list all its values in one --grid")
    chosen_grid = base["grid"] | dict(entries)
    if not chosen_grid:
        raise BadInput("a sweep needs at least one --grid OPTION=VALUES (or a sweep file with a [grid] table)")
    default_name = file.stem if file else "sweep-" + "-".join(chosen_grid)
    chosen_name = name if name is not None else base["name"] or default_name
    chosen_seeds = next(count for count in (seeds, base["seeds"], 1) if count is not None)
    check_range("--seeds", chosen_seeds)  # as reproduce's --seeds
    overrides = {k: v for k, v in (fixed or {}).items() if v is not None}
    _refuse_fixed_in_grid(overrides, chosen_grid, "--")
    _refuse_fixed_in_grid(base["fixed"], dict(entries), "the sweep file's [options] ")
    spec = SweepSpec(
        check_sweep_name(str(chosen_name)), preset or base["preset"], chosen_grid, base["fixed"] | overrides,
        chosen_seeds,
    )  # fmt: skip
    refuse_too_many_runs(spec)
    return spec


def _refuse_fixed_in_grid(fixed: Mapping[str, Value], grid: Mapping[str, object], given_as: str) -> None:
    """An option both fixed for every cell and varied by the grid has no one meaning: refuse it."""
    both = [option for option in grid if option in fixed]
    if both:
        spelled = both[0].replace("_", "-")
        raise BadInput(
            f"{spelled} is given both as {given_as}{spelled} {fixed[both[0]]} and in the grid; "
            "drop one of them (the grid's values, or the one fixed value)"
        )


def run_count(spec: SweepSpec) -> int:
    """Cells times seeds, counted without listing a single cell."""
    return math.prod(len(values) for values in spec.grid.values()) * spec.seeds


def refuse_too_many_runs(spec: SweepSpec) -> None:
    """A grid past MAX_RUNS would exhaust memory or time just being planned: one line instead."""
    count = run_count(spec)
    if count > MAX_RUNS:
        factors = " x ".join(f"{len(values)} {option.replace('_', '-')}" for option, values in spec.grid.items())
        raise BadInput(
            f"sweep of {count:,} runs ({factors} x {seeds_text(spec.seeds)}) is over the limit of "
            f"{MAX_RUNS:,} runs; split it into smaller sweeps"
        )


def seeds_text(seeds: int) -> str:
    return f"{seeds} seed{'' if seeds == 1 else 's'}"


def _counts(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def cells(grid: Mapping[str, Sequence[Value]]) -> list[Cell]:
    """Every combination of the grid's values; a cell is named by its options joined with '_'."""
    options = list(grid)
    combos = itertools.product(*(grid[option] for option in options))
    found = [dict(zip(options, combo, strict=True)) for combo in combos]
    return [Cell("_".join(value_text(k, v) for k, v in cell.items()), cell) for cell in found]


def base_config(spec: SweepSpec) -> ExperimentConfig:
    """The preset (or the defaults) with the sweep's fixed options: what every cell starts from."""
    base = preset_config(spec.preset) if spec.preset else ExperimentConfig()
    return base.replace(**spec.fixed)


def plan(spec: SweepSpec, runs_dir: Path) -> Plan:
    """Check every run's config as `train` would and name its folder; touches nothing on disk."""
    base, folder = base_config(spec), runs_dir / spec.name
    known = _existing_configs(folder)
    present = {entry.name for entry in runs_dir_entries(folder)}  # listed once: a grid may have 10,000 runs
    grid_cells = cells(spec.grid)
    runs: dict[str, list[Job]] = {}
    for cell in grid_cells:
        _refuse_long_name(folder, f"{cell.name}-seed{spec.seeds - 1}")
        config = base.replace(**cell.options)  # raises BadInput exactly as train would
        jobs = []
        for seed in range(spec.seeds):
            seeded = config.replace(seed=seed)
            jobs.append(Job(known.get(seeded) or _free_name(folder, f"{cell.name}-seed{seed}", present), seeded))
        runs[cell.name] = jobs
    todo = [job for jobs in runs.values() for job in jobs if job.name not in present or _needs_work(folder / job.name)]
    todo.sort(key=lambda job: -relative_cost(job.config))
    return Plan(spec, folder, grid_cells, runs, todo)


def _refuse_long_name(folder: Path, run_name: str) -> None:
    if len(run_name.encode()) > NAME_MAX:
        raise BadInput(
            f"sweep {folder.name}: the run folder name {run_name[:40]}... is {len(run_name.encode())} bytes, "
            f"more than the {NAME_MAX} a file name may have; vary fewer options in one sweep"
        )


def _existing_configs(folder: Path) -> dict[ExperimentConfig, str]:
    """Runs already in the sweep folder, by config, so a bigger grid reuses them."""
    found: dict[ExperimentConfig, str] = {}
    for run in list_runs(folder):
        if run.name.startswith("."):
            continue  # a folder the Ray driver was still writing when it stopped
        try:
            found.setdefault(run.read_config(), run.name)
        except CnnReportError:
            continue  # an unreadable config: that folder is left alone
    return found


def _free_name(folder: Path, name: str, present: set[str]) -> str:
    if name in present and holds_file(folder / name, "config.json") is not False:
        raise BadInput(
            f"{folder / name} holds a run with other options (or one we cannot read); choose another sweep --name"
        )
    return name


def _needs_work(path: Path) -> bool:
    try:
        return needs_work(RunDir(path))
    except CnnReportError:  # an unreadable status file: train_run resumes or reports it
        return True


def write_sweep_file(sweep: Plan, command: str = "") -> Path:
    """Write (or update) sweep.json: the grid, seeds, preset, cells and their runs, when created."""
    cells_document = [
        {
            "name": cell.name,
            "options": {k.replace("_", "-"): v for k, v in cell.options.items()},
            "runs": [job.name for job in sweep.runs[cell.name]],
        }
        for cell in sweep.cells
    ]
    document = {
        "name": sweep.spec.name,
        "preset": sweep.spec.preset,
        "grid": {option.replace("_", "-"): list(values) for option, values in sweep.spec.grid.items()},
        "fixed": {option.replace("_", "-"): value for option, value in sweep.spec.fixed.items()},
        "seeds": list(range(sweep.spec.seeds)),
        "cells": cells_document,
        "created": previous_created(sweep.folder) or _now(),
        "updated": _now(),
        "command": command,
    }
    return write_sweep(sweep.folder, document)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
