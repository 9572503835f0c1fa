"""`cnnreport export tensorboard`, read back with TensorBoard's own EventAccumulator and projector files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import invoke
from tests.trackers import expected
from tests.trackers.conftest import SWEEP

pytest.importorskip("tensorboard")
pytestmark = pytest.mark.trackers

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

FIGURES = {"learning_curves", "confusion_matrix", "error_gallery", "tsne"}


def export(runs: Path, to: Path, data_dir: Path, *names: str):
    return invoke("export", "tensorboard", *names, "--runs-dir", runs, "--to", to, "--data-dir", data_dir,
                  "--tsne-samples", "40")  # fmt: skip


def events(folder: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def session_hparams(accumulator: EventAccumulator) -> dict[str, object]:
    raw = accumulator.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(raw).session_start_info
    return {name: getattr(value, value.WhichOneof("kind")) for name, value in start.hparams.items()}


@pytest.fixture(scope="module")
def exported(export_runs: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    to = tmp_path_factory.mktemp("tb") / "logs"
    result = export(export_runs, to, data_dir)
    assert result.exit_code == 0, result.output
    return to


def test_every_run_and_sweep_run_gets_a_log_folder(exported: Path, export_runs: Path):
    sweep_runs = sorted(p.name for p in (export_runs / SWEEP).iterdir() if p.is_dir())
    assert len(sweep_runs) == 2
    keys = {"tiny10", "tiny4", "cosine", *(f"{SWEEP}/{name}" for name in sweep_runs)}
    assert set(json.loads((exported / "cnnreport-export.json").read_text())["runs"]) == keys
    for key in keys:
        assert len(list((exported / key).glob("events.out.tfevents.*"))) == 1, key


@pytest.mark.parametrize("key", ["tiny10", "tiny4", "cosine", f"{SWEEP}/dropout0.3-seed0"])
def test_scalars_and_hparams_equal_the_run_json(exported: Path, export_runs: Path, key: str):
    run, accumulator = export_runs / key, events(exported / key)
    rows = expected.epochs(run)
    for field in expected.EPOCH_FIELDS:
        logged = [(event.step, event.value) for event in accumulator.Scalars(field)]
        assert [step for step, _ in logged] == list(range(1, len(rows) + 1)), field
        assert all(expected.close(value, row[field]) for (_, value), row in zip(logged, rows, strict=True)), field
    for name, value in expected.final(run).items():
        (event,) = accumulator.Scalars(f"final/{name}")
        assert event.step == len(rows) and expected.close(event.value, value), name
    hparams = session_hparams(accumulator)
    for name, value in expected.config(run).items():
        assert hparams[name] == expected.hparam(value), name
    assert ("sweep" in hparams) == key.startswith(SWEEP)


def test_a_scheduled_run_logs_its_learning_rate_and_a_constant_one_does_not(exported: Path, export_runs: Path):
    rates = [event.value for event in events(exported / "cosine").Scalars("learning_rate")]
    assert len(rates) == 2
    assert all(expected.close(a, b) for a, b in zip(rates, expected.cosine_rates(export_runs / "cosine"), strict=True))
    assert "learning_rate" not in events(exported / "tiny10").Tags()["scalars"]


def test_the_sweep_runs_carry_their_sweep_and_cell(exported: Path, export_runs: Path):
    sweep = json.loads((export_runs / SWEEP / "sweep.json").read_text())
    for cell in sweep["cells"]:
        for name in cell["runs"]:
            hparams = session_hparams(events(exported / SWEEP / name))
            assert (hparams["sweep"], hparams["cell"]) == (SWEEP, cell["name"])
            assert hparams["dropout"] == cell["options"]["dropout"]


def test_the_reports_figures_are_images(exported: Path):
    from PIL import Image

    accumulator = events(exported / "tiny10")
    assert set(accumulator.Tags()["images"]) == FIGURES
    for tag in FIGURES:
        (event,) = accumulator.Images(tag)
        picture = Image.open(io.BytesIO(event.encoded_image_string))
        assert picture.format == "PNG" and picture.size == (event.width, event.height) and min(picture.size) > 100
    trained_only = events(exported / "cosine").Tags()["images"]
    assert trained_only == ["learning_curves"]  # no evaluation: no confusion matrix, gallery or t-SNE


def test_the_projector_holds_the_tsne_sample_with_labels_and_digits(exported: Path, export_runs: Path, data_dir: Path):
    run = export_runs / "tiny4"
    indices, features, labels, digits = expected.embedded(run)
    names = expected.document(run, "evaluation.json")["class_names"]
    config = (exported / "tiny4" / "projector_config.pbtxt").read_text()
    folder = exported / "tiny4" / config.split('tensor_path: "')[1].split('"')[0].rsplit("/", 1)[0]
    tensors = np.loadtxt(folder / "tensors.tsv", delimiter="\t", ndmin=2)
    np.testing.assert_allclose(tensors, features, rtol=1e-5, atol=1e-6)
    metadata = [line.split("\t") for line in (folder / "metadata.tsv").read_text().splitlines()]
    assert metadata[0] == ["class", "digit", "test_index"]
    assert metadata[1:] == [
        [names[label], str(digit), str(index)] for label, digit, index in zip(labels, digits, indices, strict=True)
    ]
    from PIL import Image

    from cnnreport.ml.data import load_split

    sprite = np.asarray(Image.open(folder / "sprite.png").convert("L")).astype(int)
    side = int(np.ceil(np.sqrt(len(indices))))
    assert sprite.shape == (28 * side, 28 * side)
    images = load_split(data_dir, "mnist", "test").images.numpy()
    for position in (0, 1, len(indices) - 1):  # tiles run left to right, top to bottom, in the embedding's order
        row, column = divmod(position, side)
        tile = sprite[28 * row : 28 * (row + 1), 28 * column : 28 * (column + 1)]
        assert np.abs(tile - images[indices[position]]).max() <= 1, position


def test_exporting_again_skips_unchanged_runs_and_replaces_changed_ones(
    fresh_runs: Path, data_dir: Path, tmp_path: Path
):
    to = tmp_path / "logs"
    assert export(fresh_runs, to, data_dir, "tiny10", "tiny4").exit_code == 0
    first = sorted((to / "tiny10").glob("events.*"))
    again = export(fresh_runs, to, data_dir, "tiny10", "tiny4")
    assert again.exit_code == 0
    assert "tiny10: skipped (unchanged)" in again.output and "0 exported, 0 updated, 2 skipped" in again.output
    assert sorted((to / "tiny10").glob("events.*")) == first
    metrics = fresh_runs / "tiny10" / "metrics.json"
    document = json.loads(metrics.read_text())
    document["epochs"][0]["train_loss"] = 9.5
    metrics.write_text(json.dumps(document))
    changed = export(fresh_runs, to, data_dir, "tiny10", "tiny4")
    assert changed.exit_code == 0 and "tiny10: updated" in changed.output and "tiny4: skipped" in changed.output
    (event_file,) = (to / "tiny10").glob("events.*")  # replaced, not added beside the old one
    assert event_file not in first
    assert events(to / "tiny10").Scalars("train_loss")[0].value == 9.5
    assert not list(to.glob(".*partial*"))
