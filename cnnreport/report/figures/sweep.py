"""Sweep figures: test accuracy against each swept option, and a heatmap for two-option grids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from cnnreport.analyses.seeds import Spread
from cnnreport.report.figures import new_figure


@dataclass(frozen=True)
class CellResult:
    """One cell of a sweep: its swept options and its test accuracy over seeds."""

    name: str
    options: dict[str, Any]
    accuracy: Spread


def option_figure(results: Sequence[CellResult], options: Sequence[str]) -> Figure:
    """One panel per swept option: accuracy at each of its values, a line per setting of the other options."""
    figure = new_figure(5.5 * len(options), 4, layout=None)
    axes = np.atleast_1d(figure.subplots(1, len(options), sharey=True))
    for ax, option in zip(axes, options, strict=True):
        values = list(dict.fromkeys(r.options[option] for r in results))
        others = [o for o in options if o != option]
        lines: dict[str, list[CellResult]] = {}
        for result in results:
            key = ", ".join(f"{o} {result.options[o]}" for o in others) or "mean over seeds"
            lines.setdefault(key, []).append(result)
        for number, (label, members) in enumerate(lines.items()):
            shift = 0.05 * (number - (len(lines) - 1) / 2)  # side by side, so error bars do not hide each other
            x = [values.index(m.options[option]) + shift for m in members]
            y = [m.accuracy.mean * 100 for m in members]
            error = [m.accuracy.std * 100 for m in members]
            ax.errorbar(x, y, yerr=error, fmt="o-", capsize=3, color=f"C{number % 10}", label=label)
        ax.set_xticks(range(len(values)), [str(v) for v in values])
        ax.set(xlabel=option, title=f"test accuracy against {option}", xlim=(-0.5, len(values) - 0.5))
        ax.grid(alpha=0.3)
        if len(lines) > 1:
            ax.legend(fontsize=8)
    axes[0].set_ylabel("test accuracy (%)")
    figure.tight_layout()
    return figure


def heatmap_figure(results: Sequence[CellResult], rows: str, columns: str) -> Figure:
    """Mean test accuracy for every pair of values of two swept options, annotated with ± std."""
    row_values = list(dict.fromkeys(r.options[rows] for r in results))
    column_values = list(dict.fromkeys(r.options[columns] for r in results))
    means = np.full((len(row_values), len(column_values)), np.nan)
    labels = [["" for _ in column_values] for _ in row_values]
    for result in results:
        i, j = row_values.index(result.options[rows]), column_values.index(result.options[columns])
        means[i, j] = result.accuracy.mean * 100
        spread = f"\n± {result.accuracy.std * 100:.2f}" if result.accuracy.n > 1 else ""
        labels[i][j] = f"{result.accuracy.mean * 100:.2f}{spread}"
    figure = new_figure(1.6 * len(column_values) + 2.5, 1.1 * len(row_values) + 1.5, layout=None)
    ax = figure.subplots()
    image = ax.imshow(means, cmap="viridis", aspect="auto")
    middle = np.nanmin(means) + (np.nanmax(means) - np.nanmin(means)) / 2
    for i, row in enumerate(labels):
        for j, text in enumerate(row):
            colour = "black" if means[i, j] > middle else "white"  # readable on viridis' light and dark ends
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(len(column_values)), [str(v) for v in column_values])
    ax.set_yticks(range(len(row_values)), [str(v) for v in row_values])
    ax.set(xlabel=columns, ylabel=rows, title="mean test accuracy (%) ± std over seeds")
    figure.colorbar(image, ax=ax, label="test accuracy (%)")
    figure.tight_layout()
    return figure
