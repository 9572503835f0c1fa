"""Figures made of images: the error gallery, each layer's channels, class scores, activation overlays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from cnnreport.analyses.metrics import softmax
from cnnreport.report.figures import new_figure
from cnnreport.report.figures.mosaic import enlarge, in_rows, mosaic_figure, unit_range
from cnnreport.report.format import percent

MIN_TILE = 28  # smaller maps (7x7, 2x2) are enlarged by whole pixels so their labels fit


@dataclass(frozen=True)
class GalleryItem:
    """One misclassified test image and what the model made of it."""

    image: np.ndarray  # uint8 [28, 28]
    true: str
    predicted: str
    confidence: float  # softmax probability of the predicted class

    def label(self) -> str:
        return f"true {self.true}\npred {self.predicted} {percent(self.confidence, 0)}"


def gallery_figure(items: list[GalleryItem], columns: int = 8) -> Figure:
    """A grid of images, worst first, each titled with its true and predicted class."""
    tiles = [item.image.astype(float) / 255.0 for item in items]
    shown = min(columns, len(items))
    labels = in_rows([item.label() for item in items], shown)
    text = {"fontsize": 7.5, "linespacing": 1.15}
    figure, _ = mosaic_figure(in_rows(tiles, shown), labels, gap=9, top=12, text=text)
    return figure


def channel_grid(name: str, output: np.ndarray, columns: int = 8) -> Figure:
    """Every channel of one layer's output [C, H, W], each scaled to its own range."""
    tiles = enlarge(np.stack([unit_range(channel) for channel in output]), MIN_TILE)
    shown = min(columns, len(tiles))
    labels = in_rows([f"ch {channel}" for channel in range(len(tiles))], shown)
    figure, _ = mosaic_figure(in_rows(list(tiles), shown), labels, gap=6, top=5, cmap="viridis", text={"fontsize": 6.5})
    figure.suptitle(f"{name}  {list(output.shape)}", fontsize=9, y=1.0, va="bottom")
    return figure


def input_figure(image: np.ndarray, title: str) -> Figure:
    figure = new_figure(1.6, 1.8)
    axes = figure.subplots()
    axes.imshow(image, cmap="gray_r")
    axes.set_title(title, fontsize=8)
    axes.set_axis_off()
    return figure


def class_scores_figure(name: str, logits: np.ndarray, names: list[str]) -> Figure:
    """The output layer as a bar chart of softmax probabilities per class."""
    probabilities = softmax(logits[None].astype(np.float64))[0]
    figure = new_figure(max(3.0, 0.45 * len(names) + 1.2), 2.2)
    axes = figure.subplots()
    axes.bar(range(len(names)), probabilities, color="#4c72b0")
    axes.set_xticks(range(len(names)), names, fontsize=7)
    axes.set_ylim(0, 1)
    axes.set_ylabel("probability", fontsize=8)
    axes.set_title(f"{name}: class probabilities (softmax of its output)", fontsize=9)
    return figure


def activation_figure(image: np.ndarray, maps: dict[str, np.ndarray]) -> Figure:
    """The input, then each conv layer's response map laid over it."""
    panels = len(maps) + 1
    figure = new_figure(1.9 * panels, 2.2)
    grid = figure.subplots(1, panels, squeeze=False).ravel()
    grid[0].imshow(image, cmap="gray_r")
    grid[0].set_title("input", fontsize=8)
    for axes, (name, activation) in zip(grid[1:], maps.items(), strict=True):
        axes.imshow(image, cmap="gray")
        axes.imshow(activation, cmap="inferno", alpha=0.55, vmin=0.0, vmax=1.0)
        axes.set_title(name, fontsize=8)
    for axes in grid:
        axes.set_axis_off()
    return figure
