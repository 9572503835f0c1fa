"""The report's sweep sections: one per sweep folder (a sweep.json) in the runs dir.

A sweep's runs are compared here, cell by cell (mean ± std over seeds), instead of each
getting its own part of the report; `cnnreport report SWEEP/RUN` adds any run's own part.
Like every report part, this reads saved files only and never trains.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cnnreport.analyses.seeds import Spread, mean_std
from cnnreport.analyses.significance import welch
from cnnreport.config import ExperimentConfig
from cnnreport.errors import CnnReportError
from cnnreport.presets import PRESETS
from cnnreport.report.document import Section, Table
from cnnreport.report.figures import embed
from cnnreport.report.figures.sweep import CellResult, heatmap_figure, option_figure
from cnnreport.report.format import DASH, RULE, spread
from cnnreport.report.format import verdict as difference_verdict
from cnnreport.report.results import RunResults
from cnnreport.storage.rundir import RunDir
from cnnreport.storage.sweeps import read_sweep

SECTION_PREFIX = "sweep"


def section_id(folder: Path) -> str:
    """The sweep section's id: unique per sweep folder, URL-safe."""
    return SECTION_PREFIX + "-" + re.sub(r"[^a-z0-9]+", "-", folder.name.lower()).strip("-")


def sweep_runs(folder: Path) -> list[RunDir]:
    """The sweep's runs that have a folder, cell by cell; none when sweep.json cannot be read (its section says why)."""
    try:
        cells = read_sweep(folder)["cells"]
    except CnnReportError:
        return []
    return [RunDir(folder / name) for cell in cells for name in cell["runs"] if (folder / name).is_dir()]


def cell_accuracy(folder: Path, cell: dict[str, Any]) -> tuple[Spread, Spread, list[str]]:
    """A cell's test accuracy and training time over its evaluated runs, and the runs lacking them."""
    accuracies, seconds, lacking = [], [], []
    for name in cell["runs"]:
        files = RunResults(RunDir(folder / name))
        result = files.evaluation_with("test_accuracy")
        if result is None:
            lacking.append(name)
            continue
        accuracies.append(float(result["test_accuracy"]))
        try:
            seconds.append(sum(row["seconds"] for row in files.metrics))
        except CnnReportError:  # a missing metrics file costs the time column only
            continue
    return mean_std(accuracies), mean_std(seconds), lacking


def reference_cell(sweep: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The cell with the write-up's values of every swept option (the preset's, else the defaults)."""
    preset = sweep.get("preset")
    base = PRESETS[preset].config if preset in PRESETS else ExperimentConfig()
    setting = {option: getattr(base, option.replace("-", "_")) for option in sweep["grid"]}
    match = next((cell["name"] for cell in sweep["cells"] if cell["options"] == setting), None)
    return match, setting


def verdict(cell: Spread, reference: Spread | None, is_reference: bool) -> str:
    """How a cell compares with the write-up's setting: Welch's t-test over the seeds of both cells."""
    if is_reference:
        return "the write-up's setting"
    if reference is None or cell.n == 0:
        return DASH
    return difference_verdict(welch(cell, reference))


def sweep_section(folder: Path) -> Section:
    """The comparison of one sweep's cells; a sweep without evaluated runs says what to run."""
    sweep = read_sweep(folder)
    title = f"Sweep {folder.name}"
    options = list(sweep["grid"])
    measured = {cell["name"]: cell_accuracy(folder, cell) for cell in sweep["cells"]}
    results = [CellResult(c["name"], c["options"], measured[c["name"]][0]) for c in sweep["cells"]]
    evaluated = [r for r in results if r.accuracy.n]
    if not evaluated:
        rerun = f"run `{sweep.get('command') or 'cnnreport sweep ...'}` again"
        return Section(section_id(folder), title, missing=f"no run of this sweep has an evaluation yet; {rerun}")
    reference_name, setting = reference_cell(sweep)
    reference = measured[reference_name][0] if reference_name and measured[reference_name][0].n else None
    rows = [_row(cell, measured[cell["name"]], options, reference, reference_name) for cell in sweep["cells"]]
    header = ["cell", *options, "runs", "test accuracy", "training time", "against the write-up's setting"]
    figures = [embed(option_figure(evaluated, options), "Test accuracy against each swept option",
                     "Points: mean over seeds; error bars: ± std over seeds.")]  # fmt: skip
    if len(options) == 2 and len(evaluated) > 1:
        figures.append(embed(heatmap_figure(evaluated, *options), "Heatmap of mean test accuracy over the grid"))
    return Section(
        section_id(folder),
        title,
        intro=_intro(sweep),
        figures=figures,
        tables=[Table("Cells (mean ± std over seeds)", header, rows)],
        notes=_notes(sweep, folder, evaluated, reference_name, setting, measured),
    )


def _row(cell: dict, measured: tuple, options: list[str], reference: Spread | None, ref_name: str | None) -> list:
    accuracy, seconds, lacking = measured
    runs = f"{accuracy.n} of {len(cell['runs'])}"
    return [
        cell["name"], *(str(cell["options"][o]) for o in options), runs, spread(accuracy),
        spread(seconds, scale=1, digits=1, unit="s"), verdict(accuracy, reference, cell["name"] == ref_name),
    ]  # fmt: skip


def _intro(sweep: dict[str, Any]) -> str:
    grid = "; ".join(f"{option} {', '.join(str(v) for v in values)}" for option, values in sweep["grid"].items())
    fixed = ", ".join(f"{k} {v}" for k, v in (sweep.get("fixed") or {}).items())
    seeds = len(sweep.get("seeds") or [])
    start = f"from preset {sweep['preset']}" if sweep.get("preset") else "from the default settings"
    return (
        f"A grid over {grid}, {start}{f' with {fixed}' if fixed else ''}, {seeds} seed{'s' * (seeds != 1)} per cell. "
        "Each row is one cell; accuracy is evaluate's test accuracy, time is training time summed over epochs. " + RULE
    )


def _shortened(sweep: dict[str, Any]) -> list[str]:
    """A caveat when the sweep trains fewer epochs (or fewer images) than the write-up's setting it starts from."""
    preset = sweep.get("preset")
    base = PRESETS[preset].config if preset in PRESETS else ExperimentConfig()
    fixed = sweep.get("fixed") or {}
    epochs, limit = fixed.get("epochs", base.epochs), fixed.get("limit")
    cuts = [f"{epochs} of its {base.epochs} epochs"] if "epochs" not in sweep["grid"] and epochs < base.epochs else []
    cuts += [f"the first {limit:,} training images only"] if limit else []
    if not cuts:
        return []
    return [
        f"Every run of this sweep trained {' on '.join(cuts)}, so even the cell with the write-up's setting is not "
        "the write-up's experiment: compare the cells with each other, not with the write-up's figures."
    ]


def _notes(
    sweep: dict, folder: Path, evaluated: list[CellResult], ref_name: str | None, setting: dict, measured: dict
) -> list:
    best = max(evaluated, key=lambda r: r.accuracy.mean)
    notes = [f"Best cell: {best.name}, {spread(best.accuracy)}."]
    if ref_name is None:
        wanted = ", ".join(f"{k} {v}" for k, v in setting.items())
        notes.append(f"The grid has no cell with the write-up's setting ({wanted}), so no cell is compared with it.")
    elif best.name != ref_name and measured[ref_name][0].n:
        notes.append(
            f"Best against the write-up's setting ({ref_name}): {verdict(best.accuracy, measured[ref_name][0], False)}."
        )
    notes += _shortened(sweep)
    lacking = [name for m in measured.values() for name in m[2]]
    if lacking:
        notes.append(f"Not evaluated yet (left out): {', '.join(lacking)}; run the sweep command again.")
    example = next(c["runs"][0] for c in sweep["cells"] if c["name"] == best.name)
    notes.append(
        f"The runs are not shown one by one; `cnnreport report {folder.name}/RUN ...` adds runs' own parts "
        f"(for example `cnnreport report {folder.name}/{example}`)."
    )
    return notes
