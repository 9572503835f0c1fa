"""Figures made of images: the error gallery, each layer's channels, activation overlays."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnnreport.figures import new_figure


@dataclass(frozen=True)
class GalleryItem:
    """One misclassified test image and what the model made of it."""

    image: np.ndarray  # uint8 [28, 28]
    true: str
    predicted: str
    confidence: float  # softmax probability of the predicted class

    def label(self) -> str:
        return f"true {self.true}\npred {self.predicted} {self.confidence:.0%}"


# Grids of images are drawn as one mosaic in one Axes: a Figure with dozens of Axes takes
# seconds to lay out, a single image with text labels a tenth of that.
PIXELS_PER_INCH = 30  # mosaic pixels per inch of figure: a 28-pixel image is ~0.9 inch wide
MIN_TILE = 28  # smaller maps (7x7, 2x2) are enlarged by whole pixels so their labels fit


def mosaic(tiles: np.ndarray, columns: int, pad: int = 6, top: int = 0) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Lay images [N, H, W] on a grid, `top` free pixels above each for a label; gaps are NaN.

    Returns the canvas and, per tile, the point just above its centre where a label goes.
    """
    count, height, width = tiles.shape
    rows = max(1, math.ceil(count / columns))
    cell_height, cell_width = height + top + pad, width + pad
    canvas = np.full((rows * cell_height - pad, columns * cell_width - pad), np.nan)
    anchors = []
    for k, tile in enumerate(tiles):
        row, column = divmod(k, columns)
        y, x = row * cell_height + top, column * cell_width
        canvas[y : y + height, x : x + width] = tile
        anchors.append((x + (width - 1) / 2, y - 1.0))
    return canvas, anchors


def mosaic_figure(canvas: np.ndarray, cmap: str) -> tuple[Figure, Axes]:
    """A figure sized to the canvas with one borderless Axes; NaN gaps stay white."""
    height, width = canvas.shape
    figure = new_figure(width / PIXELS_PER_INCH, height / PIXELS_PER_INCH, layout=None)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    colours = colormaps[cmap].with_extremes(bad="white")
    axes.imshow(canvas, cmap=colours, vmin=0.0, vmax=1.0, interpolation="nearest")
    axes.set_axis_off()
    return figure, axes


def gallery_figure(items: list[GalleryItem], columns: int = 8) -> Figure:
    """A grid of images, worst first, each titled with its true and predicted class."""
    images = np.stack([item.image for item in items]).astype(float) / 255.0
    canvas, anchors = mosaic(images, min(columns, len(items)), pad=9, top=12)
    figure, axes = mosaic_figure(canvas, "gray_r")
    for item, (x, y) in zip(items, anchors, strict=True):
        axes.text(x, y, item.label(), ha="center", va="bottom", fontsize=7.5, linespacing=1.15)
    return figure


def channel_grid(name: str, output: np.ndarray, columns: int = 8) -> Figure:
    """Every channel of one layer's output [C, H, W], each scaled to its own range."""
    scale = math.ceil(MIN_TILE / output.shape[1])
    tiles = np.stack([_unit_range(channel) for channel in output]).repeat(scale, axis=1).repeat(scale, axis=2)
    canvas, anchors = mosaic(tiles, min(columns, len(tiles)), top=5)
    figure, axes = mosaic_figure(canvas, "viridis")
    for channel, (x, y) in enumerate(anchors):
        axes.text(x, y, f"ch {channel}", ha="center", va="bottom", fontsize=6.5)
    figure.suptitle(f"{name}  {list(output.shape)}", fontsize=9, y=1.0, va="bottom")
    return figure


def _unit_range(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values, dtype=float)


def input_figure(image: np.ndarray, title: str) -> Figure:
    figure = new_figure(1.6, 1.8)
    axes = figure.subplots()
    axes.imshow(image, cmap="gray_r")
    axes.set_title(title, fontsize=8)
    axes.set_axis_off()
    return figure


def class_scores_figure(name: str, logits: np.ndarray, names: list[str]) -> Figure:
    """The output layer as a bar chart of softmax probabilities per class."""
    shifted = np.exp(logits - logits.max())
    probabilities = shifted / shifted.sum()
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
