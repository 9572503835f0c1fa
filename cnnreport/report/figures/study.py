"""Figures that compare experiments; each point or line is a mean over seeds with its ± std."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, Locator, MaxNLocator

from cnnreport.analyses.seeds import Spread
from cnnreport.report.figures import new_figure


@dataclass(frozen=True)
class Curve:
    """One experiment's accuracy at each strength: mean and std over its seeds."""

    label: str
    strengths: Sequence[float]
    mean: np.ndarray
    std: np.ndarray
    dashed: bool = False  # 4-class runs: scored on an easier task, drawn dashed


def robustness_figure(panels: dict[str, list[Curve]], axes_labels: dict[str, str], title: str) -> Figure:
    """One panel per perturbation kind, one line per experiment, a ± std band where seeds exist."""
    figure = new_figure(10, 7.5, layout=None)
    axes = figure.subplots(2, 2).flat
    for ax, (kind, curves) in zip(axes, panels.items(), strict=False):
        for number, curve in enumerate(curves):
            colour = f"C{number % 10}"
            x = np.asarray(curve.strengths, dtype=float)
            style = {"color": colour, "linestyle": "--" if curve.dashed else "-", "marker": "o", "markersize": 3}
            ax.plot(x, curve.mean * 100, label=curve.label, **style)
            if np.any(curve.std > 0):
                ax.fill_between(
                    x, (curve.mean - curve.std) * 100, (curve.mean + curve.std) * 100, color=colour, alpha=0.2
                )
        ax.set(title=kind, xlabel=axes_labels[kind], ylabel="test accuracy (%)", ylim=(0, 101))
        if kind == "brightness":
            ax.invert_xaxis()  # stronger darkening to the right, like the other panels
        ax.grid(alpha=0.3)
    figure.suptitle(title)
    legend_below(figure, base=0.06, per_row=0.025, top=0.97)
    return figure


def legend_below(figure: Figure, base: float, per_row: float, top: float) -> None:
    """One legend (three entries a row) under all panels, with room left for its rows."""
    handles, labels = figure.axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=min(3, max(len(labels), 1)), fontsize=8)
    figure.tight_layout(rect=(0, base + per_row * (len(labels) // 3), 1, top))


@dataclass(frozen=True)
class Point:
    """One experiment in the efficiency scatter: costs (x) and test accuracy (y), each a Spread."""

    label: str
    params: Spread
    mult_adds: Spread
    seconds: Spread
    accuracy: Spread


def efficiency_figure(points: Sequence[Point]) -> Figure:
    """Accuracy against parameters, multiply-adds and training time; error bars are ± std over seeds."""
    figure = new_figure(11, 4, layout=None)
    axes = figure.subplots(1, 3, sharey=True)
    # (field, axis label, scale, decimals): multiply-adds in millions, or seven-digit labels collide.
    costs = (
        ("params", "parameters", 1, 0),
        ("mult_adds", "multiply-adds per image (millions)", 1e-6, 2),
        ("seconds", "training time (s)", 1, 0),
    )
    for ax, (field, name, scale, decimals) in zip(axes, costs, strict=True):
        for number, point in enumerate(points):
            x: Spread = getattr(point, field)
            y = point.accuracy
            style = {"fmt": "o", "color": f"C{number % 10}", "capsize": 3}
            ax.errorbar(x.mean * scale, y.mean * 100, xerr=x.std * scale, yerr=y.std * 100, label=point.label, **style)
        ax.set(xlabel=name)
        ax.xaxis.set_major_locator(cost_locator([getattr(point, field).mean * scale for point in points], decimals))
        # Plain numbers (no "+1.26e6" offset); the default binding keeps each axis's own decimals.
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos, decimals=decimals: f"{value:,.{decimals}f}"))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    legend_below(figure, base=0.1, per_row=0.04, top=1.0)
    return figure


def cost_locator(values: Sequence[float], decimals: int) -> Locator:
    """Ticks for one cost axis: at the values themselves when they are too close for evenly spaced ticks.

    Equal costs (the write-up's experiments share one network, so one multiply-add count) leave
    the default locator a near-zero range, whose ticks all print as the same rounded number.
    """
    shown = sorted({round(value, decimals) for value in values})
    if len(shown) <= 1 or shown[-1] - shown[0] < 4 * 10.0**-decimals:
        return FixedLocator(shown)
    return MaxNLocator(nbins=4)


@dataclass(frozen=True)
class Bar:
    """One bar of the grouping comparison: an accuracy on the four groups, with its spread."""

    label: str
    spread: Spread
    trained_on_groups: bool


def grouping_figure(bars: Sequence[Bar], title: str) -> Figure:
    """Four-group accuracy: 4-class models as trained, 10-class models merged after the fact."""
    figure = new_figure(7, 1.0 + 0.4 * max(len(bars), 1), layout=None)
    ax = figure.subplots()
    y = np.arange(len(bars))
    means = [bar.spread.mean * 100 for bar in bars]
    # An error bar only where there is a spread to show: one seed has none (its std of 0 is no estimate).
    stds = [bar.spread.std * 100 if bar.spread.n > 1 else 0.0 for bar in bars]
    colours = ["#55a868" if bar.trained_on_groups else "#4c72b0" for bar in bars]
    ax.barh(y, means, color=colours)
    for i, (mean, std) in enumerate(zip(means, stds, strict=True)):
        if std:
            ax.errorbar(mean, i, xerr=std, color="black", capsize=3)
    ax.set_yticks(y, [bar.label for bar in bars], fontsize=8)
    ax.invert_yaxis()
    # From 0: bar lengths compare as accuracies; the numbers beside the bars carry the small differences.
    ax.set(xlabel="accuracy on the four groups (%)", xlim=(0, 112), title=title)
    ax.set_xticks([0, 20, 40, 60, 80, 100])
    for i, (mean, std) in enumerate(zip(means, stds, strict=True)):
        ax.text(mean + std, i, f"  {mean:.2f}", va="center", fontsize=8)  # right of the error bar
    figure.tight_layout()
    return figure
