"""Figures say what the data says: honest axes, error bars only from several seeds, distinct ticks, true captions."""

from __future__ import annotations

import base64
import math

import numpy as np
from matplotlib.colors import to_hex
from matplotlib.container import ErrorbarContainer

from cnnreport.analyses.seeds import Spread
from cnnreport.config import ExperimentConfig
from cnnreport.report.document import READABLE_PX
from cnnreport.report.figures import curves, embed, new_figure, png_width
from cnnreport.report.figures.analyses import GAP_ORANGE, reliability_figure
from cnnreport.report.figures.study import Bar, Point, efficiency_figure, grouping_figure
from cnnreport.report.sections.run import training_conditions
from cnnreport.report.sections.study import EFFICIENCY_HEADER


def test_grouping_bars_start_at_zero_and_show_error_bars_only_over_several_seeds() -> None:
    bars = [Bar("a: trained on the groups", Spread(0.99, 0.0, 1), True), Bar("b", Spread(0.985, 0.002, 3), False)]
    [axes] = grouping_figure(bars, "t").axes
    assert axes.get_xlim()[0] == 0
    error_bars = [c for c in axes.containers if isinstance(c, ErrorbarContainer)]
    assert len(error_bars) == 1  # b's three seeds; a's one seed has no spread to draw
    assert np.allclose(error_bars[0].lines[0].get_xdata(), [98.5])


def test_equal_multiply_adds_get_one_tick_not_a_row_of_identical_labels() -> None:
    def point(label: str, accuracy: float) -> Point:
        same = Spread(1_260_708, 0.0, 1)
        return Point(label, Spread(4470, 0.0, 1), same, Spread(60.0 + accuracy, 0.0, 1), Spread(accuracy, 0.0, 1))

    figure = efficiency_figure([point("a", 0.98), point("b", 0.99)])
    figure.canvas.draw()
    labels = [tick.get_text() for tick in figure.axes[1].get_xticklabels() if tick.get_text()]
    assert labels == ["1.26"]
    for axes in figure.axes:
        shown = [tick.get_text() for tick in axes.get_xticklabels() if tick.get_text()]
        assert len(shown) == len(set(shown)), shown


def test_reliability_gap_is_the_opaque_orange_its_caption_names() -> None:
    bins = {"count": [0, 5, 10], "accuracy": [0.0, 0.4, 0.9], "confidence": [0.0, 0.5, 0.95]}
    top = reliability_figure(bins, 0.05).axes[0]
    gap_bars = top.containers[1]
    assert all(to_hex(bar.get_facecolor(), keep_alpha=True) == GAP_ORANGE + "ff" for bar in gap_bars)


def test_learning_curve_captions_say_what_the_run_had() -> None:
    assert training_conditions(ExperimentConfig()) == " (no augmentation, no dropout)"
    assert training_conditions(ExperimentConfig(augment=True, dropout=0.3)) == " (augmentation and dropout 0.3 on)"
    assert training_conditions(ExperimentConfig(dropout=0.2)) == " (dropout 0.2 on)"


def test_one_epoch_gets_one_integer_tick() -> None:
    row = {"epoch": 1, "train_loss": 1.0, "test_loss": 1.0, "train_accuracy": 0.5, "test_accuracy": 0.5}
    figure = curves.learning_curves([row])
    figure.canvas.draw()
    for axes in figure.axes:
        assert list(axes.get_xticks()) == [1]


def test_the_cost_table_shows_accuracy_before_the_costs() -> None:
    assert EFFICIENCY_HEADER.index("test accuracy") < EFFICIENCY_HEADER.index("parameters")


def test_embed_measures_the_smallest_text_and_the_width_that_keeps_it_readable() -> None:
    figure = new_figure(4, 2)
    axes = figure.subplots()
    axes.set_title("big", fontsize=14)
    axes.text(0.5, 0.5, "small", fontsize=7)
    axes.tick_params(labelsize=9)
    embedded = embed(figure, "alt", dpi=100)
    assert embedded.text_px == round(7 * 100 / 72, 2)
    width = png_width(base64.b64decode(embedded.data_uri.split(",", 1)[1]))
    assert embedded.readable_width == math.ceil(width * READABLE_PX / (7 * 100 / 72))
    assert embedded.readable_style == f"--readable: {embedded.readable_width}px"
