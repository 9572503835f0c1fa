"""Figures for one run's analyses: arrays in, matplotlib Figures out (object API, never pyplot)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

OVERLAY_ALPHA = 0.45  # enough heat to read, enough digit left to see what it covers
ERRORS_SHOWN = 16  # gallery errors drawn with their maps; the rest stay in the run dir
ERRORS_PER_ROW = 8


def blend(image: np.ndarray, heat: np.ndarray | None = None) -> np.ndarray:
    """A uint8 grey image as RGB in [0, 1], with a Grad-CAM map in [0, 1] laid over it when given."""
    grey = np.repeat(image.astype(np.float32)[..., None] / 255.0, 3, axis=-1)
    if heat is None:
        return grey
    colour = colormaps["jet"](heat.astype(np.float32))[..., :3]
    return (1 - OVERLAY_ALPHA) * grey + OVERLAY_ALPHA * colour


def mosaic_figure(
    tiles: Sequence[Sequence[np.ndarray | None]],
    titles: Sequence[Sequence[str]] | None = None,
    row_labels: Sequence[str] | None = None,
    cell: float = 1.0,
) -> tuple[Figure, Axes]:
    """RGB tiles [side, side, 3] laid out in rows on one white canvas, one Axes in all.

    One image instead of an Axes per tile: a hundred Axes take seconds to build and draw.
    """
    rows, cols = len(tiles), max(len(row) for row in tiles)
    side = next(tile.shape[0] for row in tiles for tile in row if tile is not None)
    gap = max(1, side // 10)
    top = int(np.ceil(side * 0.4)) if titles else gap  # room for a title above each tile
    step_y, step_x = side + top, side + gap
    canvas = np.ones((rows * step_y, cols * step_x - gap, 3), dtype=np.float32)
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            if tile is not None:
                canvas[r * step_y + top : (r + 1) * step_y, c * step_x : c * step_x + side] = tile
    figure = Figure(figsize=(cols * cell, rows * cell * step_y / step_x))
    ax = figure.add_axes((0, 0, 1, 1))
    ax.imshow(canvas, interpolation="nearest")
    ax.set_axis_off()
    for r, row_titles in enumerate(titles or []):
        for c, text in enumerate(row_titles):
            ax.text(c * step_x + side / 2, r * step_y + top - gap, text, ha="center", va="bottom", fontsize=7)
    for r, label in enumerate(row_labels or []):
        ax.text(-gap, r * step_y + top + side / 2, label, ha="right", va="center", rotation=90, fontsize=7)
    return figure, ax


def reliability_figure(reliability: dict[str, list[float]], ece: float) -> Figure:
    """Top-label reliability diagram (accuracy per confidence bin) over a histogram of bin counts."""
    count = np.asarray(reliability["count"])
    accuracy, confidence = np.asarray(reliability["accuracy"]), np.asarray(reliability["confidence"])
    bins = len(count)
    edges = np.linspace(0, 1, bins + 1)
    used = count > 0
    figure = Figure(figsize=(4.6, 5.2))
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.bar(
        edges[:-1][used],
        accuracy[used],
        width=1 / bins,
        align="edge",
        color="#4c72b0",
        edgecolor="white",
        label="accuracy",
    )
    gap = confidence[used] - accuracy[used]
    style = {"width": 1 / bins, "align": "edge", "color": "#dd8452", "alpha": 0.5}
    top.bar(edges[:-1][used], gap, bottom=accuracy[used], label="gap to mean confidence", **style)
    top.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="perfect calibration")
    top.set(ylabel="accuracy in bin", ylim=(0, 1), xlim=(0, 1), title=f"Reliability ({bins} bins), ECE {ece:.4f}")
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(edges[:-1], count, width=1 / bins, align="edge", color="grey", edgecolor="white")
    bottom.set(xlabel="top-label confidence", ylabel="images", yscale="log" if count.max() > 0 else "linear")
    figure.tight_layout()
    return figure


def filters_figure(kernels: np.ndarray) -> Figure:
    """The first layer's kernels on one shared, zero-centred colour scale (red +, blue -)."""
    limit = float(np.abs(kernels).max()) or 1.0
    norm, cmap = Normalize(-limit, limit), colormaps["RdBu_r"]
    cols = 8
    tiles = [[cmap(norm(k))[..., :3] for k in kernels[i : i + cols]] for i in range(0, len(kernels), cols)]
    titles = [[f"#{j}" for j in range(i, min(i + cols, len(kernels)))] for i in range(0, len(kernels), cols)]
    figure, ax = mosaic_figure(tiles, titles, cell=0.8)
    figure.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.8, label="weight")
    return figure


def perturbation_figure(examples: np.ndarray, labels: Sequence[Sequence[str]], kinds: Sequence[str]) -> Figure:
    """examples uint8 [kinds, images, strengths, H, W]: one row per kind and image, strengths left to right."""
    tiles, titles = [], []
    for k, kind in enumerate(kinds):
        for image_row in examples[k]:
            tiles.append([blend(image) for image in image_row])
            titles.append([f"{kind} {label}" for label in labels[k]])
    figure, _ = mosaic_figure(tiles, titles, cell=1.0)
    return figure


def gradcam_errors_figure(
    images: np.ndarray, predicted_maps: np.ndarray, true_maps: np.ndarray, titles: Sequence[str]
) -> Figure:
    """Each error as a column: the image, the map for the predicted class, the map for the true class."""
    shown = min(len(images), ERRORS_SHOWN)
    tiles, tile_titles, labels = [], [], []
    for start in range(0, shown, ERRORS_PER_ROW):
        block = range(start, min(start + ERRORS_PER_ROW, shown))
        tiles.append([blend(images[i]) for i in block])
        tiles.append([blend(images[i], predicted_maps[i]) for i in block])
        tiles.append([blend(images[i], true_maps[i]) for i in block])
        tile_titles += [[titles[i] for i in block], [], []]
        labels += ["input", "why predicted", "why true"]
    figure, _ = mosaic_figure(tiles, tile_titles, labels, cell=1.05)
    return figure


def gradcam_correct_figure(images: np.ndarray, maps: np.ndarray, classes: np.ndarray, names: Sequence[str]) -> Figure:
    """Correctly classified images with their map, one column per class."""
    columns = [np.flatnonzero(classes == c) for c in range(len(names))]
    rows = max((len(column) for column in columns), default=0)
    tiles = [[blend(images[col[r]], maps[col[r]]) if r < len(col) else None for col in columns] for r in range(rows)]
    titles = [list(names)] + [[] for _ in range(rows - 1)]
    figure, _ = mosaic_figure(tiles, titles, cell=1.0)
    return figure
