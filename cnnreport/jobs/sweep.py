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
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cnnreport.config import ExperimentConfig, check_range, range_text
from cnnreport.errors import BadInput, CnnReportError
from cnnreport.jobs.reproduce import Job, needs_work, relative_cost
from cnnreport.presets import preset_config
from cnnreport.storage.atomic import is_entry_name
from cnnreport.storage.reading import read_regular
from cnnreport.storage.rundir import RunDir, list_runs
from cnnreport.storage.sweeps import previous_created, write_sweep

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML through the tomli backport
    import tomli as tomllib

# Every train option a grid may vary, as the command line spells it, and its field's type.
# (--widths is left out: its value, C1,C2,C3, would collide with the comma between grid values.)
OPTIONS: dict[str, type] = {
    "dataset": str, "classes": int, "augment": bool, "dropout": float, "batch-norm": bool,
    "epochs": int, "batch-size": int, "lr": float, "limit": int, "schedule": str,
    "label-smoothing": float, "weight-decay": float, "validation": int, "ema": float, "rotate": float,
    "shift": float,
}  # fmt: skip
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
FILE_KEYS = ("name", "preset", "seeds", "grid", "options")
MAX_SWEEP_FILE_BYTES = 1024**2  # a grid a person writes by hand is a few hundred bytes
Value = str | int | float | bool


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


def field_name(option: str) -> str:
    """'batch-size' -> 'batch_size'; unknown options are bad input."""
    spelled = option.strip().replace("_", "-")
    if spelled == "seed":
        raise BadInput("--grid seed: seeds are not a grid option; use --seeds N")
    if spelled not in OPTIONS:
        raise BadInput(f"--grid {option!r}: not a train option; choose from {', '.join(OPTIONS)}")
    return spelled.replace("-", "_")


def convert(option: str, raw: Value) -> Value:
    """One grid value as its option's type; a string is read as the command line would read it."""
    kind = OPTIONS[option.replace("_", "-")]
    if isinstance(raw, str) and kind is not str:
        text = raw.strip().lower()
        try:
            if kind is bool:
                if text not in TRUE + FALSE:
                    raise ValueError
                return text in TRUE
            return int(text) if kind is int else float(text)
        except ValueError:
            raise BadInput(f"--grid {option}: {raw!r} is not {_kind_name(kind)}") from None
    accepted = {str: (str,), int: (int,), float: (int, float), bool: (bool,)}[kind]
    if not isinstance(raw, accepted) or (isinstance(raw, bool) and kind is not bool):
        raise BadInput(f"--grid {option}: {raw!r} is not {_kind_name(kind)}")
    return float(raw) if kind is float else raw


def _kind_name(kind: type) -> str:
    return {str: "a word", int: "an integer", float: "a number", bool: "true or false"}[kind]


def parse_grid_option(text: str) -> tuple[str, tuple[Value, ...]]:
    """'lr=0.001,0.003' -> ('lr', (0.001, 0.003)), checked and typed."""
    option, equals, values = text.partition("=")
    if not equals:
        raise BadInput(f"--grid {text!r}: write OPTION=VALUE,VALUE,... (for example lr=0.001,0.003)")
    return grid_entry(option, values.split(",") if values.strip() else [])


def grid_entry(option: str, values: Sequence[Value]) -> tuple[str, tuple[Value, ...]]:
    """One option and its listed values: known option, at least one value, no repeats."""
    name = field_name(option)
    spelled = name.replace("_", "-")
    if not values:
        raise BadInput(f"--grid {spelled}: no values listed")
    typed = tuple(convert(spelled, value) for value in values)
    if len(set(typed)) != len(typed):
        raise BadInput(f"--grid {spelled}: a value is listed twice in {list(values)}")
    return name, typed


def read_sweep_file(path: Path) -> dict[str, Any]:
    """The TOML file's settings (name, preset, seeds, [grid], [options]) as checked values."""
    try:
        data = tomllib.loads(read_regular(path, MAX_SWEEP_FILE_BYTES).decode())
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read sweep file {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - set(FILE_KEYS)
    if unknown:
        raise BadInput(f"{path}: unknown keys {', '.join(sorted(unknown))}; allowed: {', '.join(FILE_KEYS)}")
    for key in ("grid", "options"):
        if not isinstance(data.get(key, {}), dict):
            raise BadInput(f"{path}: [{key}] must be a table of option = values")
    grid = dict(grid_entry(k, v if isinstance(v, list) else [v]) for k, v in data.get("grid", {}).items())
    fixed = {field_name(k): convert(k, v) for k, v in data.get("options", {}).items()}
    return {"name": data.get("name"), "preset": data.get("preset"), "seeds": data.get("seeds"), "grid": grid} | {
        "fixed": fixed
    }


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
    base = read_sweep_file(file) if file is not None else {"grid": {}, "fixed": {}}
    entries = [parse_grid_option(text) for text in grid]
    repeated = [option for option, count in _counts(option for option, _ in entries).items() if count > 1]
    if repeated:
        raise BadInput(f"--grid {repeated[0].replace('_', '-')} is given twice; list all its values in one --grid")
    chosen_grid = base["grid"] | dict(entries)
    if not chosen_grid:
        raise BadInput("a sweep needs at least one --grid OPTION=VALUES (or a sweep file with a [grid] table)")
    chosen_name = name or base.get("name") or (file.stem if file else "sweep-" + "-".join(chosen_grid))
    chosen_seeds = seeds if seeds is not None else base.get("seeds") or 1
    if not isinstance(chosen_seeds, int) or isinstance(chosen_seeds, bool):
        raise BadInput(f"--seeds must be a whole number in {range_text('--seeds')}, not {chosen_seeds!r}")
    check_range("--seeds", chosen_seeds)  # as reproduce's --seeds
    overrides = {k: v for k, v in (fixed or {}).items() if v is not None}
    return SweepSpec(
        _check_name(str(chosen_name)), preset or base.get("preset"), chosen_grid, base["fixed"] | overrides,
        chosen_seeds,
    )  # fmt: skip


def _counts(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def _check_name(name: str) -> str:
    if not is_entry_name(name):
        raise BadInput(f"invalid sweep --name {name!r}")
    return name


def value_text(option: str, value: Value) -> str:
    """How a cell's name spells one option: lr0.001, batch-size20, augment-on, dataset-kmnist."""
    spelled = option.replace("_", "-")
    if isinstance(value, bool):
        return f"{spelled}-{'on' if value else 'off'}"
    if isinstance(value, str):
        return f"{spelled}-{value}"
    return f"{spelled}{value:g}" if isinstance(value, float) else f"{spelled}{value}"


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
    runs: dict[str, list[Job]] = {}
    for cell in cells(spec.grid):
        config = base.replace(**cell.options)  # raises BadInput exactly as train would
        jobs = []
        for seed in range(spec.seeds):
            seeded = config.replace(seed=seed)
            jobs.append(Job(known.get(seeded) or _free_name(folder, f"{cell.name}-seed{seed}"), seeded))
        runs[cell.name] = jobs
    todo = [job for jobs in runs.values() for job in jobs if _needs_work(folder / job.name)]
    todo.sort(key=lambda job: -relative_cost(job.config))
    return Plan(spec, folder, cells(spec.grid), runs, todo)


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


def _free_name(folder: Path, name: str) -> str:
    if (folder / name / "config.json").exists():
        raise BadInput(f"{folder / name} holds a run with other options; choose another sweep --name")
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
