"""The data behind the report's explorers: which images evaluate saves, what the report embeds, and how safely."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnreport.analyses import thumbnails, tsne
from cnnreport.report import chart, explore
from cnnreport.report.results import RunResults
from cnnreport.storage.rundir import RunDir


def test_cell_samples_cap_each_cell_and_keep_its_most_confident_image():
    labels = np.array([0] * 30 + [1] * 3)
    predicted = np.array([0] * 25 + [1] * 5 + [1] * 3)
    confidence = np.linspace(0.1, 0.99, 33)
    chosen = thumbnails.cell_samples(labels, predicted, confidence, cap=12)
    cells = {(int(labels[i]), int(predicted[i])) for i in chosen}
    assert cells == {(0, 0), (0, 1), (1, 1)}
    in_cell = [i for i in chosen if labels[i] == 0 and predicted[i] == 0]
    assert len(in_cell) == 12 and 24 in in_cell and 0 in in_cell  # the most and the least confident: its range
    assert len([i for i in chosen if labels[i] == 0 and predicted[i] == 1]) == 5  # a small cell: every image


def test_thumbnails_include_a_stratified_share_of_the_default_tsne_subset():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 300)
    logits = rng.normal(size=(3000, 10))
    chosen = thumbnails.thumbnail_indices(logits, labels)
    sampled = thumbnails.tsne_samples(labels)
    assert len(sampled) == thumbnails.TSNE_CAP and set(sampled) <= set(chosen)
    assert set(sampled) <= set(tsne.stratified_subset(labels, tsne.DEFAULT_SAMPLES, tsne.SEED))
    assert np.bincount(labels[sampled]).tolist() == [12] * 10
    assert len(chosen) <= 100 * thumbnails.CELL_CAP + thumbnails.TSNE_CAP and list(chosen) == sorted(set(chosen))


@pytest.mark.parametrize("text", ["</script><script>alert(1)</script>", "<!--", "a & b", "\u2028"])
def test_json_for_script_cannot_close_its_element_and_reads_back_the_same(text: str):
    encoded = str(explore.json_for_script({"name": text, "names": [text]}))
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded and "\u2028" not in encoded
    assert json.loads(encoded) == {"name": text, "names": [text]}


def test_sprite_holds_every_thumbnail_in_its_slot_as_dark_ink_on_white():
    images = np.zeros((23, 28, 28), np.uint8)
    images[22, 10:14, 10:14] = 255  # the last image: a white square (ink), in slot 22 = row 1, column 2
    uri = explore.sprite(images)
    picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("L"))
    assert picture.shape == (2 * 28, explore.SPRITE_COLUMNS * 28)
    assert picture[28 + 12, 2 * 28 + 12] == 0 and picture[5, 5] == 255


def test_evaluate_saves_a_bounded_set_of_thumbnails(trained_runs: Path):
    run = RunDir(trained_runs / "tiny10")
    predictions = run.read_arrays(run.predictions_file)
    indices, images = predictions["thumbnail_indices"], predictions["thumbnail_images"]
    assert images.dtype == np.uint8 and images.shape == (len(indices), 28, 28)
    np.testing.assert_array_equal(indices, thumbnails.thumbnail_indices(predictions["logits"], predictions["labels"]))
    assert 0 < len(indices) <= 100 * thumbnails.CELL_CAP + thumbnails.TSNE_CAP


def test_run_data_holds_each_cell_and_tsne_point_with_its_own_image(trained_runs: Path, tmp_path: Path):
    files = RunResults(RunDir(trained_runs / "tiny10"))
    predictions = files.predictions
    params = tsne.TsneParams(60, 10.0, 0)
    indices = tsne.stratified_subset(predictions["labels"], 60, 0)
    files.tsne_outcome = tsne.Tsne(np.random.default_rng(0).normal(size=(60, 2)), indices, params, cached=False)
    data = explore.run_data(files)
    assert data["confusion"]["matrix"] == files.evaluation["confusion_matrix"]
    images = explore.thumbnail_pool(predictions)
    predicted = predictions["logits"].argmax(1)
    for key, items in data["confusion"]["cells"].items():
        true, guess = map(int, key.split(","))
        assert 0 < len(items) <= min(thumbnails.CELL_CAP, data["confusion"]["matrix"][true][guess])
        for slot, _, index, _, item_guess in items:
            assert predictions["labels"][index] == true and predicted[index] == guess == item_guess
            assert np.array_equal(sprite_cell(data, slot), ink(images[index]))  # the image shown is that image
    points = data["tsne"]
    assert points and all(0 <= x <= 1000 and 0 <= y <= 1000 for x, y, *_ in points)
    assert all(np.array_equal(sprite_cell(data, p[3]), ink(images[p[5]])) for p in points)
    assert {p[5] for p in points} <= set(indices.tolist()) & set(
        thumbnails.tsne_samples(predictions["labels"]).tolist()
    )


def sprite_cell(data: dict, slot: int) -> np.ndarray:
    picture = np.asarray(Image.open(io.BytesIO(base64.b64decode(data["sprite"].split(",", 1)[1]))).convert("L"))
    row, column = divmod(slot, data["columns"])
    return picture[row * 28 : (row + 1) * 28, column * 28 : (column + 1) * 28]


def ink(image: np.ndarray) -> np.ndarray:
    """An image as the sprite stores it: inverted, in GREY_LEVELS greys."""
    levels = explore.GREY_LEVELS
    return ((255 - image) // (256 // levels) * (255 // (levels - 1))).astype(np.uint8)


def test_run_data_of_an_older_evaluation_uses_the_error_gallery(trained_runs: Path, tmp_path: Path):
    run = RunDir(tmp_path / "old")
    run.path.mkdir()
    for name in ("config.json", "evaluation.json"):
        (run.path / name).write_bytes((trained_runs / "tiny10" / name).read_bytes())
    saved = RunDir(trained_runs / "tiny10").read_arrays(RunDir(trained_runs / "tiny10").predictions_file)
    older = {key: value for key, value in saved.items() if not key.startswith("thumbnail_")}
    run.write_arrays(run.predictions_file, **older)
    data = explore.run_data(RunResults(run))
    assert data["evaluated_with_thumbnails"] is False
    cells = data["confusion"]["cells"]
    assert cells and all(key.split(",")[0] != key.split(",")[1] for key in cells)  # errors only; the diagonal says why
    shown = {item[2] for items in cells.values() for item in items}
    assert shown <= set(older["gallery_indices"].tolist())


def test_run_data_of_an_unevaluated_run_is_empty(tmp_path: Path):
    assert explore.run_data(RunResults(RunDir(tmp_path / "none"))) == {}


def test_learning_chart_draws_a_line_per_run_and_escapes_names():
    hostile = "<script>alert(1)</script>"
    series = [
        {"name": hostile, "epoch": [1, 2, 3], "test_accuracy": [0.9, 0.95, 0.97]},
        {"name": "one-epoch", "epoch": [1], "test_accuracy": [0.93]},
        {"name": "unscored", "epoch": [1], "test_accuracy": [None]},
    ]
    svg = str(chart.learning_chart(series))
    assert svg.count("<polyline") == 3 and svg.count("<circle") == 4
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    ticks = [float(t) for t in __import__("re").findall(r'class="tick y">([\d.]+)<', svg)]
    assert ticks[0] <= 90 and ticks[-1] >= 97 and len(ticks) <= 7
    assert chart.learning_chart([{"name": "x", "epoch": [1], "test_accuracy": [None]}]) == ""


def test_nice_step_cuts_a_span_into_few_round_intervals():
    assert chart.nice_step(7.0) == 2
    assert chart.nice_step(0.3) == 0.05
    assert chart.nice_step(30.0) == 5
