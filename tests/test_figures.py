"""Each report figure shows exactly the data it was given (checked against sklearn/numpy)."""

from __future__ import annotations

import base64
import gc
import weakref

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sklearn_confusion

from cnnreport.analyses.metrics import confusion_matrix, softmax
from cnnreport.report.figures import analyses as analysis_figures
from cnnreport.report.figures import curves as figures
from cnnreport.report.figures import embed, mosaic
from cnnreport.report.figures import images as image_figures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def drawn_texts(figure) -> list[str]:
    return [text.get_text() for axes in figure.axes for text in axes.texts]


@pytest.fixture
def predictions() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, size=300)
    noisy = np.where(rng.random(300) < 0.3, rng.integers(0, 4, size=300), labels)
    return labels, noisy


def test_confusion_figure_shows_sklearns_counts(predictions):
    labels, predicted = predictions
    names = ["{0,6}", "{1,7}", "{2,3,5,8}", "{4,9}"]
    matrix = confusion_matrix(labels, predicted, 4)  # what evaluate saves and the report draws
    expected = sklearn_confusion(labels, predicted, labels=range(4))
    assert np.array_equal(matrix, expected)
    figure = figures.confusion_figure(matrix, names)
    # The numbers a reader sees, cell by cell in row-major order, are sklearn's counts.
    shown = np.array([int(text.split("\n")[0]) for text in drawn_texts(figure)]).reshape(4, 4)
    assert np.array_equal(shown, expected)
    rates = [text.split("\n")[1] for text in drawn_texts(figure) if "\n" in text]
    row_share = expected / expected.sum(1, keepdims=True)
    assert rates == [f"{r * 100:.0f} %" for r, c in zip(row_share.ravel(), expected.ravel(), strict=True) if c]
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == names
    assert [t.get_text() for t in axes.get_yticklabels()] == names


def test_confusion_rates_are_row_normalised_and_safe_for_empty_rows():
    matrix = np.array([[3, 1], [0, 0]])
    assert np.allclose(figures.row_rates(matrix), [[0.75, 0.25], [0.0, 0.0]])


def test_learning_curves_plot_every_epoch():
    epochs = [
        {"epoch": e, "train_loss": 1 / e, "test_loss": 1.1 / e, "train_accuracy": 0.5 + e / 10, "test_accuracy": 0.6}
        for e in (1, 2, 3)
    ]
    loss_axes, accuracy_axes = figures.learning_curves(epochs).axes
    train_loss, test_loss = loss_axes.get_lines()
    assert list(train_loss.get_xdata()) == [1, 2, 3]
    assert np.allclose(train_loss.get_ydata(), [1, 0.5, 1 / 3])
    assert np.allclose(test_loss.get_ydata(), [1.1, 0.55, 1.1 / 3])
    train_accuracy, test_accuracy = accuracy_axes.get_lines()
    assert np.allclose(train_accuracy.get_ydata(), [60, 70, 80])  # shown in percent
    assert np.allclose(test_accuracy.get_ydata(), [60, 60, 60])


def test_tsne_figure_places_each_point_in_its_class_colour():
    rng = np.random.default_rng(0)
    coords, labels = rng.normal(size=(50, 2)), rng.integers(0, 3, size=50)
    axes = figures.tsne_figure(coords, labels, ["a", "b", "c"]).axes[0]
    for index, collection in enumerate(axes.collections):
        assert np.allclose(collection.get_offsets(), coords[labels == index])
    assert [t.get_text() for t in axes.get_legend().get_texts()] == ["a", "b", "c"]


def test_mosaic_puts_tiles_in_reading_order_with_gaps():
    tiles = np.arange(3 * 2 * 2, dtype=float).reshape(3, 2, 2)
    canvas, anchors = mosaic.mosaic(mosaic.in_rows(list(tiles), 2), gap=1, top=1)
    assert np.array_equal(canvas[1:3, 0:2], tiles[0])
    assert np.array_equal(canvas[1:3, 3:5], tiles[1])
    assert np.array_equal(canvas[5:7, 0:2], tiles[2])
    assert np.isnan(canvas[0]).all() and np.isnan(canvas[:, 2]).all()
    assert anchors[1] == (3.5, 0.0)


def test_gallery_labels_every_image_with_truth_prediction_and_confidence():
    rng = np.random.default_rng(1)
    items = [
        image_figures.GalleryItem(rng.integers(0, 255, (28, 28)).astype(np.uint8), str(i), str(9 - i), 0.5 + i / 40)
        for i in range(10)
    ]
    figure = image_figures.gallery_figure(items, columns=4)
    assert drawn_texts(figure) == [f"true {i}\npred {9 - i} {(0.5 + i / 40) * 100:.0f} %" for i in range(10)]
    canvas = figure.axes[0].images[0].get_array()
    assert np.allclose(canvas[12:40, 0:28], items[0].image / 255.0)  # the worst one comes first


def test_channel_grid_shows_every_channel_on_its_own_scale():
    output = np.random.default_rng(2).normal(size=(8, 7, 7)).astype(np.float32)
    figure = image_figures.channel_grid("MaxPool2d-4", output)
    assert drawn_texts(figure) == [f"ch {c}" for c in range(8)]
    canvas = figure.axes[0].images[0].get_array()
    first = canvas[5 : 5 + 28, 0:28]  # 7x7 enlarged four times
    expected = (output[0] - output[0].min()) / (output[0].max() - output[0].min())
    assert np.allclose(first[::4, ::4], expected)
    assert "[8, 7, 7]" in figure.get_suptitle()


def test_class_scores_are_the_softmax_of_the_output():
    logits = np.array([2.0, -1.0, 0.5, 0.0])
    axes = image_figures.class_scores_figure("Linear-8", logits, ["a", "b", "c", "d"]).axes[0]
    heights = [bar.get_height() for bar in axes.patches]
    assert np.allclose(heights, softmax(logits[None])[0])


def test_activation_figure_overlays_each_map_on_the_input():
    image = np.random.default_rng(4).random((28, 28))
    maps = {"Conv2d-1": np.full((28, 28), 0.2), "Conv2d-3": np.full((28, 28), 0.7)}
    figure = image_figures.activation_figure(image, maps)
    panels = [axes for axes in figure.axes if axes.images]
    assert [axes.get_title() for axes in panels] == ["input", "Conv2d-1", "Conv2d-3"]
    for axes, expected in zip(panels[1:], maps.values(), strict=True):
        base, overlay = axes.images
        assert np.allclose(base.get_array(), image) and np.allclose(overlay.get_array(), expected)


def test_embed_gives_a_png_data_uri_and_frees_the_figure():
    figure = figures.learning_curves(
        [{"epoch": 1, "train_loss": 1, "test_loss": 1, "train_accuracy": 0, "test_accuracy": 0}]
    )
    alive = weakref.ref(figure)
    embedded = embed(figure, "alt text")
    del figure
    gc.collect()
    assert alive() is None  # no global registry (pyplot) keeps figures: memory stays flat
    prefix = "data:image/png;base64,"
    assert embedded.data_uri.startswith(prefix)
    assert base64.b64decode(embedded.data_uri[len(prefix) :]).startswith(PNG_SIGNATURE)


def test_a_grad_cam_overlay_stays_within_rgb_range() -> None:
    """White pixels under the hottest heat: float rounding must not leave [0, 1] (matplotlib would log a warning)."""
    image = np.full((28, 28), 255, dtype=np.uint8)
    for heat in (np.ones((28, 28)), np.linspace(0, 1, 28 * 28).reshape(28, 28)):
        blended = analysis_figures.blend(image, heat)
        assert blended.shape == (28, 28, 3) and blended.min() >= 0.0 and blended.max() <= 1.0
