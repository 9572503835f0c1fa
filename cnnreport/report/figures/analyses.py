"""Figures for one run's analyses beyond the write-up: reliability, filters, perturbations, Grad-CAM."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from cnnreport.report.figures import new_figure
from cnnreport.report.figures.mosaic import Tile, in_rows, mosaic_figure

GAP_ORANGE = "#f28e2b"  # the reliability diagram's gap; its caption calls it orange
OVERLAY_ALPHA = 0.45  # enough heat to read, enough digit left to see what it covers
ERRORS_SHOWN = 16  # gallery errors drawn with their maps; the rest stay in the run dir
ERRORS_PER_ROW = 8


def blend(image: np.ndarray, heat: np.ndarray | None = None) -> np.ndarray:
    """A uint8 grey image as RGB in [0, 1], with a Grad-CAM map in [0, 1] laid over it when given."""
    grey = np.repeat(image.astype(np.float32)[..., None] / 255.0, 3, axis=-1)
    if heat is None:
        return grey
    colour = colormaps["jet"](heat.astype(np.float32))[..., :3]
    # Rounding can land a hair above 1, which matplotlib clips with a logged warning per image.
    return np.clip((1 - OVERLAY_ALPHA) * grey + OVERLAY_ALPHA * colour, 0.0, 1.0)


def reliability_figure(reliability: dict[str, list[float]], ece: float) -> Figure:
    """Top-label reliability diagram (accuracy per confidence bin) over a histogram of bin counts."""
    count = np.asarray(reliability["count"])
    accuracy, confidence = np.asarray(reliability["accuracy"]), np.asarray(reliability["confidence"])
    bins = len(count)
    edges = np.linspace(0, 1, bins + 1)
    used = count > 0
    figure = new_figure(4.6, 5.2, layout=None)
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
    # Opaque: a translucent orange over the blue accuracy bars reads brown, not the caption's orange.
    style = {"width": 1 / bins, "align": "edge", "color": GAP_ORANGE, "edgecolor": "white", "zorder": 3}
    top.bar(edges[:-1][used], gap, bottom=accuracy[used], label="gap to mean confidence", **style)
    top.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="perfect calibration", zorder=4)
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
    tiles = in_rows([cmap(norm(k))[..., :3] for k in kernels], 8)
    titles = in_rows([f"#{j}" for j in range(len(kernels))], 8)
    figure, ax = rgb_mosaic(tiles, titles, inches_per_tile=0.8)
    figure.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.8, label="weight")
    return figure


def perturbation_figure(examples: np.ndarray, labels: Sequence[Sequence[str]], kinds: Sequence[str]) -> Figure:
    """examples uint8 [kinds, images, strengths, H, W]: one row per kind and image, strengths left to right."""
    tiles, titles = [], []
    for k, kind in enumerate(kinds):
        for image_row in examples[k]:
            tiles.append([blend(image) for image in image_row])
            titles.append([f"{kind} {label}" for label in labels[k]])
    figure, _ = rgb_mosaic(tiles, titles)
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
    figure, _ = rgb_mosaic(tiles, tile_titles, inches_per_tile=1.05, row_labels=labels)
    return figure


def gradcam_correct_figure(images: np.ndarray, maps: np.ndarray, classes: np.ndarray, names: Sequence[str]) -> Figure:
    """Correctly classified images with their map, one column per class."""
    columns = [np.flatnonzero(classes == c) for c in range(len(names))]
    rows = max((len(column) for column in columns), default=0)
    tiles = [[blend(images[col[r]], maps[col[r]]) if r < len(col) else None for col in columns] for r in range(rows)]
    titles = [list(names)] + [[] for _ in range(rows - 1)]
    figure, _ = rgb_mosaic(tiles, titles)
    return figure


def rgb_mosaic(
    tiles: Sequence[Sequence[Tile]],
    titles: Sequence[Sequence[str]],
    inches_per_tile: float = 1.0,
    row_labels: Sequence[str] = (),
) -> tuple[Figure, Axes]:
    """The one mosaic with these figures' spacing: a tenth of a tile between, room for a title above."""
    side = next(tile.shape[0] for row in tiles for tile in row if tile is not None)
    gap = max(1, side // 10)
    top = math.ceil(side * 0.4) if any(titles) else gap
    return mosaic_figure(
        tiles, titles, gap=gap, top=top, pixels_per_inch=(side + gap) / inches_per_tile, row_labels=row_labels
    )
