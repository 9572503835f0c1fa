"""A TOML sweep file (name, preset, seeds, [grid], [options]): every key checked for its type and range.

The file is read whole and checked before any folder is made; a key of the wrong shape (a list
as the name, a table nested a thousand deep, seeds = 0) is one line naming the file and the key.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cnnreport.config import check_range, range_text
from cnnreport.errors import BadInput
from cnnreport.jobs.grid import Value, convert, field_name, grid_entry, shown
from cnnreport.storage.atomic import NAME_MAX
from cnnreport.storage.reading import read_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML through the tomli backport
    import tomli as tomllib

FILE_KEYS = ("name", "preset", "seeds", "grid", "options")
MAX_FILE_BYTES = 1024**2  # a sweep file is a few lines; a megabyte is not one


def read_sweep_file(path: Path) -> dict[str, Any]:
    """The file's settings as checked values: name, preset and seeds (None when absent), grid and fixed."""
    data = _parse(path)
    unknown = set(data) - set(FILE_KEYS)
    if unknown:
        keys = ", ".join(shown(key) for key in sorted(unknown))
        raise BadInput(f"{path}: unknown keys {keys}; allowed: {', '.join(FILE_KEYS)}")
    for key in ("grid", "options"):
        if not isinstance(data.get(key, {}), dict):
            raise BadInput(f"{path}: [{key}] must be a table of option = values")
    grid = dict(_grid_entry(path, k, v) for k, v in data.get("grid", {}).items())
    fixed = {field_name(k): _scalar(path, f"options.{k}", k, v) for k, v in data.get("options", {}).items()}
    both = sorted(set(grid) & set(fixed))
    if both:
        spelled = both[0].replace("_", "-")
        raise BadInput(f"{path}: {spelled} is both in [grid] and in [options]; keep it in one of them")
    settings = {key: _checked(path, key, data[key]) if key in data else None for key in ("name", "preset", "seeds")}
    return settings | {"grid": grid, "fixed": fixed}


def _parse(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_regular(path, MAX_FILE_BYTES).decode())  # a FIFO or /dev/zero is refused
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read sweep file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML ({exc})") from None
    except (RecursionError, MemoryError):
        raise BadInput(f"{path}: not a sweep file (nested too deeply to read)") from None


def _grid_entry(path: Path, option: str, values: object) -> tuple[str, tuple[Value, ...]]:
    listed = values if isinstance(values, list) else [values]
    for value in listed:
        _scalar(path, f"grid.{option}", option, value)
    return grid_entry(option, listed)


def _scalar(path: Path, key: str, option: str, value: object) -> Value:
    """One option's value: a string, number or boolean, never a list or table."""
    field_name(option)
    if not isinstance(value, (str, int, float, bool)):
        raise BadInput(f"{path}: {key} must be one string, number or true/false, not {shown(value)}")
    return convert(option, value)


def _checked(path: Path, key: str, value: object) -> Any:
    """name: a folder name; preset: a word (its id is checked with the presets); seeds: a count in range."""
    if key == "seeds":
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadInput(f"{path}: seeds must be a whole number in {range_text('--seeds')}, not {shown(value)}")
        try:
            check_range("--seeds", value)
        except BadInput as exc:
            raise BadInput(f"{path}: {str(exc).replace('--seeds', 'seeds', 1)}") from None
        return value
    if not isinstance(value, str):
        raise BadInput(f"{path}: {key} must be a string, not {shown(value)}")
    return check_sweep_name(value) if key == "name" else value


def check_sweep_name(name: str) -> str:
    """A sweep's name is its folder's: one plain, visible file name the file system can hold."""
    problem = (
        "it is empty" if not name.strip() else
        "it holds '/' or a NUL" if "/" in name or "\0" in name else
        "it starts with '.' (hidden folders are cnnreport's own)" if name.startswith(".") else
        f"it is {len(name.encode()):,} bytes, more than the {NAME_MAX} a file name may have"
        if len(name.encode()) > NAME_MAX else None
    )  # fmt: skip
    if problem:
        raise BadInput(f"invalid sweep --name {shown(name)}: {problem}")
    return name
