"""A sweep's grid values: the options a grid may vary, their types, and how a cell's folder spells them.

Every value is typed as the command line would type it, and refused when a grid could not be
run as asked: an unknown option, a repeated value, two values that would name the same cell
folder, or more values than a sweep may have runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnnreport.errors import BadInput

# Every train option a grid may vary, as the command line spells it, and its field's type.
# (--widths is left out: its value, C1,C2,C3, would collide with the comma between grid values.)
OPTIONS: dict[str, type] = {
    "dataset": str, "classes": int, "augment": bool, "dropout": float, "batch-norm": bool,
    "epochs": int, "batch-size": int, "lr": float, "limit": int, "schedule": str,
    "label-smoothing": float, "weight-decay": float, "validation": int, "ema": float, "rotate": float,
    "shift": float,
}  # fmt: skip
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
# Runs (cells times seeds) one sweep may plan: far more than a machine trains in a week, and
# planned in about a second (benchmarks/grid_planning.py); a bigger grid is surely a typo.
MAX_RUNS = 10_000
SHOWN_CHARACTERS = 60  # of a value quoted in an error: a pasted megabyte stays one line
Value = str | int | float | bool


def field_name(option: str) -> str:
    """'batch-size' -> 'batch_size'; unknown options are bad input."""
    spelled = option.strip().replace("_", "-")
    if spelled == "seed":
        raise BadInput("--grid seed: seeds are not a grid option; use --seeds N")
    if spelled not in OPTIONS:
        raise BadInput(f"--grid {shown(option)}: not a train option; choose from {', '.join(OPTIONS)}")
    return spelled.replace("-", "_")


def shown(value: object) -> str:
    """A value as an error quotes it: its repr, cut short."""
    text = repr(value) if isinstance(value, (str, int, float, bool)) else f"a {type(value).__name__}"
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."


def convert(option: str, raw: object) -> Value:
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
            raise BadInput(f"--grid {option}: {shown(raw)} is not {_kind_name(kind)}") from None
    accepted = {str: (str,), int: (int,), float: (int, float), bool: (bool,)}[kind]
    if not isinstance(raw, accepted) or (isinstance(raw, bool) and kind is not bool):
        raise BadInput(f"--grid {option}: {shown(raw)} is not {_kind_name(kind)}")
    return float(raw) if kind is float else raw  # type: ignore[arg-type,return-value]


def _kind_name(kind: type) -> str:
    return {str: "a word", int: "an integer", float: "a number", bool: "true or false"}[kind]


def parse_grid_option(text: str) -> tuple[str, tuple[Value, ...]]:
    """'lr=0.001,0.003' -> ('lr', (0.001, 0.003)), checked and typed."""
    option, equals, values = text.partition("=")
    if not equals:
        raise BadInput(f"--grid {shown(text)}: write OPTION=VALUE,VALUE,... (for example lr=0.001,0.003)")
    return grid_entry(option, values.split(",") if values.strip() else [])


def grid_entry(option: str, values: Sequence[object]) -> tuple[str, tuple[Value, ...]]:
    """One option and its listed values: known option, at least one value, each naming its own cell."""
    name = field_name(option)
    spelled = name.replace("_", "-")
    if not values:
        raise BadInput(f"--grid {spelled}: no values listed")
    if len(values) > MAX_RUNS:  # before typing them: a pasted million values is refused at once
        raise BadInput(f"--grid {spelled}: {len(values):,} values, more than a sweep's {MAX_RUNS:,} runs")
    typed = tuple(convert(spelled, value) for value in values)
    _refuse_same_cell(spelled, values, typed)
    return name, typed


def _refuse_same_cell(option: str, raw: Sequence[object], typed: Sequence[Value]) -> None:
    """Two values naming one cell folder would silently be one run: refuse, naming both."""
    first_of: dict[str, int] = {}
    for index, value in enumerate(typed):
        folder = value_text(option, value)
        if folder in first_of:
            earlier = first_of[folder]
            if typed[earlier] == value:
                raise BadInput(f"--grid {option}: {shown(raw[index])} is listed twice (as {shown(raw[earlier])})")
            raise BadInput(
                f"--grid {option}: {shown(raw[earlier])} and {shown(raw[index])} would share the cell folder "
                f"{folder!r}; give values that differ in their first 6 significant digits"
            )
        first_of[folder] = index


def value_text(option: str, value: Value) -> str:
    """How a cell's name spells one option: lr0.001, batch-size20, augment-on, dataset-kmnist."""
    spelled = option.replace("_", "-")
    if isinstance(value, bool):
        return f"{spelled}-{'on' if value else 'off'}"
    if isinstance(value, str):
        return f"{spelled}-{value}"
    return f"{spelled}{value:g}" if isinstance(value, float) else f"{spelled}{value}"
