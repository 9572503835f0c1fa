"""A sweep folder's sweep.json: its name and schema, written by `sweep`, read by the report.

A sweep named NAME is the folder <runs-dir>/NAME holding one run folder per cell and seed
and this document, which lists the grid, the fixed options, the seeds and each cell's runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnreport.errors import RunError
from cnnreport.storage.atomic import atomic_write, is_entry_name, refuse_link
from cnnreport.storage.documents import document_text, parse_json
from cnnreport.storage.folders import holds_file, runs_dir_entries

SWEEP_FILE = "sweep.json"
SCHEMA_VERSION = 1


def find_sweeps(runs_dir: Path) -> list[Path]:
    """The sweep folders directly inside runs_dir, by name."""
    return [p for p in runs_dir_entries(runs_dir) if holds_file(p, SWEEP_FILE)]


def read_sweep(folder: Path) -> dict[str, Any]:
    """sweep.json, checked for the fields the report reads."""
    path = folder / SWEEP_FILE
    data = parse_json(path)
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise RunError(f"{path}: not a sweep file of schema version {SCHEMA_VERSION}")
    if not isinstance(data.get("grid"), dict) or not isinstance(data.get("cells"), list):
        raise RunError(f"{path}: lacks its grid or cells")
    for cell in data["cells"]:
        _check_cell(path, cell)
    return data


def _check_cell(path: Path, cell: Any) -> None:
    """A cell has a name, options, and runs named as folders inside the sweep's (a hand-edited
    '../other' or '/abs' would make the report read runs from anywhere)."""
    if not (isinstance(cell, dict) and isinstance(cell.get("name"), str) and isinstance(cell.get("options"), dict)):
        raise RunError(f"{path}: a cell lacks its name or options")
    runs = cell.get("runs")
    if not isinstance(runs, list) or not runs:
        raise RunError(f"{path}: cell {cell['name']!r} lists no runs")
    outside = next((name for name in runs if not is_entry_name(name)), None)
    if outside is not None:
        raise RunError(f"{path}: cell {cell['name']!r} names run {outside!r}, which is not a folder inside the sweep")


def previous_created(folder: Path) -> str | None:
    """When an existing sweep.json says the sweep was first made; None when there is none to read."""
    try:
        return str(parse_json(folder / SWEEP_FILE)["created"])
    except (RunError, KeyError, TypeError):
        return None


def write_sweep(folder: Path, document: dict[str, Any]) -> Path:
    """Write sweep.json (schema version added) atomically, making the folder when absent."""
    path = folder / SWEEP_FILE
    refuse_link(folder)  # the sweep's runs would land wherever it points
    folder.mkdir(parents=True, exist_ok=True)
    text = document_text({"schema_version": SCHEMA_VERSION, **document})
    atomic_write(path, lambda handle: handle.write(text.encode()))
    return path
