"""The one mosaic: many small images laid on one canvas and drawn in a single borderless Axes.

A Figure with dozens of Axes takes seconds to lay out; one image with text labels a tenth
of that. Tiles are either values in [0, 1] [H, W] (drawn with a colour map, gaps white) or
RGB [H, W, 3] (drawn as they are, gaps white).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnnreport.report.figures import new_figure

Tile = np.ndarray | None
Item = TypeVar("Item")
PIXELS_PER_INCH = 30  # mosaic pixels per inch of figure: a 28-pixel image is ~0.9 inch wide


def in_rows(items: Sequence[Item], columns: int) -> list[list[Item]]:
    """A flat list of tiles (or their labels) cut into rows of `columns`, in reading order."""
    return [list(items[start : start + columns]) for start in range(0, len(items), max(columns, 1))]


def mosaic(rows: Sequence[Sequence[Tile]], gap: int, top: int) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Lay tiles out in rows, `top` free pixels above each for a label and `gap` pixels between.

    Returns the canvas (NaN, or white for RGB, where no tile is) and, per place in reading order,
    the point just above its centre where its label goes.
    """
    first = next(tile for row in rows for tile in row if tile is not None)
    height, width = first.shape[:2]
    columns = max(len(row) for row in rows)
    step_y, step_x = height + top + gap, width + gap
    empty = np.nan if first.ndim == 2 else 1.0
    canvas = np.full((max(1, len(rows)) * step_y - gap, columns * step_x - gap, *first.shape[2:]), empty)
    anchors = []
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            y, x = r * step_y + top, c * step_x
            if tile is not None:
                canvas[y : y + height, x : x + width] = tile
            anchors.append((x + (width - 1) / 2, y - 1.0))
    return canvas, anchors


def mosaic_figure(
    rows: Sequence[Sequence[Tile]],
    labels: Sequence[Sequence[str]] = (),
    *,
    gap: int,
    top: int,
    cmap: str = "gray_r",
    pixels_per_inch: float = PIXELS_PER_INCH,
    text: dict[str, Any] | None = None,
    row_labels: Sequence[str] = (),
) -> tuple[Figure, Axes]:
    """A figure sized to the mosaic, each tile titled with its label (rows of labels parallel to rows)."""
    canvas, anchors = mosaic(rows, gap, top)
    height, width = canvas.shape[:2]
    figure = new_figure(width / pixels_per_inch, height / pixels_per_inch, layout=None)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    if canvas.ndim == 2:
        colours = colormaps[cmap].with_extremes(bad="white")
        axes.imshow(canvas, cmap=colours, vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        axes.imshow(canvas, interpolation="nearest")
    axes.set_axis_off()
    titles = [_label(labels, r, c) for r, row in enumerate(rows) for c in range(len(row))]
    for (x, y), title in zip(anchors, titles, strict=True):
        if title:
            axes.text(x, y, title, ha="center", va="bottom", **(text or {"fontsize": 7}))
    tile_height = next(tile for row in rows for tile in row if tile is not None).shape[0]
    for r, label in enumerate(row_labels):
        y = r * (tile_height + top + gap) + top + tile_height / 2
        axes.text(-gap, y, label, ha="right", va="center", rotation=90, fontsize=7)
    return figure, axes


def _label(labels: Sequence[Sequence[str]], row: int, column: int) -> str:
    """The label of one tile; rows of labels may be shorter than rows of tiles (or absent)."""
    return labels[row][column] if row < len(labels) and column < len(labels[row]) else ""


def unit_range(values: np.ndarray) -> np.ndarray:
    """Values scaled to [0, 1] by their own minimum and maximum (all zero when flat)."""
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values, dtype=float)


def enlarge(tiles: np.ndarray, min_side: int) -> np.ndarray:
    """Tiles [N, H, W] enlarged by whole pixels until at least `min_side` high, so labels fit."""
    scale = math.ceil(min_side / tiles.shape[1])
    return tiles.repeat(scale, axis=1).repeat(scale, axis=2)
