"""Plots of one run's numbers: learning curves, confusion matrix, t-SNE."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from cnnreport.report.figures import new_figure
from cnnreport.report.format import percent

TRAIN_COLOUR, TEST_COLOUR, VALIDATION_COLOUR = "#1f77b4", "#d62728", "#2ca02c"


def learning_curves(epochs: list[dict[str, Any]]) -> Figure:
    """Train, validation (when held out) and test loss (left) and accuracy (right) per epoch.

    A test value that is null (scored after the last epoch only) is left out of the line.
    """
    figure = new_figure(8.0, 3.2)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    x = [int(row["epoch"]) for row in epochs]
    for axes, key, scale, label in (
        (loss_axes, "loss", 1.0, "loss"),
        (accuracy_axes, "accuracy", 100.0, "accuracy (%)"),
    ):
        for split, colour in (("train", TRAIN_COLOUR), ("validation", VALIDATION_COLOUR), ("test", TEST_COLOUR)):
            values = [_value(row.get(f"{split}_{key}")) * scale for row in epochs]
            if not np.isnan(values).all():
                axes.plot(x, values, marker="o", markersize=3, color=colour, label=split)
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
        if len(x) <= 2:  # one or two epochs: the locator would still add 0.96, 0.98, ... between them
            axes.set_xticks(x)
    loss_axes.set_title("Loss")
    accuracy_axes.set_title("Accuracy")
    accuracy_axes.legend(frameon=False)
    return figure


def _value(value: Any) -> float:
    return float("nan") if value is None else float(value)


def row_rates(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its total: the share of a true class given each prediction."""
    totals = matrix.sum(1, keepdims=True).astype(float)
    return np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)


def confusion_figure(matrix: np.ndarray, names: list[str]) -> Figure:
    """Heat map of row-normalised rates of a count matrix [true, predicted], each cell with its count and rate."""
    rates = row_rates(matrix)
    side = 1.6 + 0.5 * len(names)
    figure = new_figure(side + 1.1, side)
    axes = figure.subplots()
    image = axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    font = 8 if len(names) <= 4 else 6.5
    for (i, j), count in np.ndenumerate(matrix):
        if count == 0:  # a bare, faint zero keeps the eye on the cells that matter
            axes.text(j, i, "0", ha="center", va="center", fontsize=font, color="#b8c2cc")
            continue
        colour = "white" if rates[i, j] > 0.55 else "#222222"
        axes.text(
            j, i, f"{count}\n{percent(float(rates[i, j]), 0)}", ha="center", va="center", fontsize=font, color=colour
        )
    ticks = np.arange(len(names))
    axes.set_xticks(ticks, names, rotation=45 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center")
    axes.set_yticks(ticks, names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    figure.colorbar(image, ax=axes, shrink=0.8, label="share of the true class")
    return figure


def tsne_figure(coords: np.ndarray, labels: np.ndarray, names: list[str]) -> Figure:
    """Scatter of the 2-D embedding, one colour per class, legend beside it."""
    figure = new_figure(7.0, 5.6)
    axes = figure.subplots()
    colours = _class_colours(len(names))
    for index, name in enumerate(names):
        chosen = labels == index
        axes.scatter(
            coords[chosen, 0], coords[chosen, 1], s=6, color=colours[index], label=name, alpha=0.75, linewidths=0
        )
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_aspect("equal", adjustable="datalim")
    axes.legend(title="class", loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, markerscale=2.5)
    return figure


def _class_colours(count: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    return [palette(i % 10) for i in range(count)]
