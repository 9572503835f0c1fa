"""train -> evaluate -> inspect end to end through the CLI, and every bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import typer
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from cnnreport.cli import app
from cnnreport.ml.data import load_study_data
from cnnreport.ml.inference import predict
from cnnreport.ml.model import load_model
from cnnreport.presets import PRESETS
from cnnreport.storage.rundir import RunDir
from tests.helpers import invoke, runner
from tests.idx_files import idx_bytes, write_dataset


def test_run_dir_holds_what_a_report_needs(trained_runs: Path) -> None:
    run = RunDir(trained_runs / "tiny10")
    for path in (run.config_file, run.status_file, run.metrics_file, run.checkpoint_file, run.evaluation_file,
                 run.predictions_file, run.anatomy_file, run.layer_outputs_file):  # fmt: skip
        assert path.is_file(), path
    assert run.read_status()["status"] == "finished"
    epochs = run.read_metrics()
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert set(epochs[0]) >= {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"}
    state = torch.load(run.checkpoint_file, weights_only=True)
    assert state["config"]["classes"] == 10 and state["epoch"] == 2


def test_evaluate_json_agrees_with_sklearn(trained_runs: Path, data_dir: Path) -> None:
    result = invoke("evaluate", "tiny4", "--runs-dir", trained_runs, "--data-dir", data_dir, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    saved = RunDir(trained_runs / "tiny4").read_arrays(RunDir(trained_runs / "tiny4").predictions_file)
    predicted = saved["logits"].argmax(1)
    assert report["confusion_matrix"] == confusion_matrix(saved["labels"], predicted, labels=range(4)).tolist()
    precision, recall, f1, _ = precision_recall_fscore_support(
        saved["labels"], predicted, labels=range(4), zero_division=0
    )
    assert np.allclose([c["precision"] for c in report["per_class"]], precision)
    assert np.allclose([c["f1"] for c in report["per_class"]], f1)
    assert report["test_accuracy"] == pytest.approx((predicted == saved["labels"]).mean())
    run = RunDir(trained_runs / "tiny4")
    assert report["running_train_accuracy"] == run.read_metrics()[-1]["train_accuracy"]  # the last epoch's
    assert report["train_accuracy"] == pytest.approx(clean_train_accuracy(run, data_dir), abs=1e-12)
    assert (report["params_total"], report["params_trainable"]) == (4368, 4368)
    assert saved["features"].shape == (200, 16)


def clean_train_accuracy(run: RunDir, data_dir: Path) -> float:
    """Accuracy on the training images as they are, recomputed from the checkpoint alone."""
    model, config, state = load_model(run)
    data = load_study_data(data_dir, config.dataset, config.classes, config.limit)
    logits, _ = predict(model, data.train_images, tuple(state["normalization"]))
    return float((logits.argmax(1) == data.train_labels).double().mean())


def test_inspect_saves_layer_outputs_and_prints_the_table(trained_runs: Path, data_dir: Path) -> None:
    result = invoke("inspect", "tiny10", "--index", "3", "--runs-dir", trained_runs, "--data-dir", data_dir, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["params_total"] == 4470
    run = RunDir(trained_runs / "tiny10")
    arrays = run.read_arrays(run.layer_outputs_file)
    assert arrays["output:Conv2d-1"].shape == (16, 28, 28) and arrays["output:AvgPool2d-6"].shape == (4, 2, 2)
    assert set(k for k in arrays if k.startswith("activation:")) == {
        "activation:Conv2d-1",
        "activation:Conv2d-3",
        "activation:Conv2d-5",
    }


def test_inspect_untrained_four_class_model() -> None:
    result = invoke("inspect", "--classes", "4", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["params_total"] == 4368 and summary["layers"][-1]["output_shape"] == [4]


def test_inspect_shows_a_presets_untrained_network_and_options_change_it() -> None:
    tuned = json.loads(invoke("inspect", "--preset", "tuned", "--json").stdout)
    assert tuned["params_total"] == 4942 and [layer["output_shape"][0] for layer in tuned["layers"][:2]] == [14, 14]
    plain = json.loads(invoke("inspect", "--preset", "tuned", "--no-batch-norm", "--widths", "16,8,4", "--json").stdout)
    assert plain["params_total"] == 4470


def test_inspect_refuses_untrained_model_options_with_a_run(trained_runs: Path) -> None:
    result = invoke("inspect", "tiny10", "--widths", "8,8,8", "--runs-dir", trained_runs)
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "error: --widths describes an untrained model; a run's network comes from its checkpoint"
    )


def test_existing_run_is_not_overwritten_without_resume(trained_runs: Path, data_dir: Path) -> None:
    before = (trained_runs / "tiny10" / "checkpoint.pt").read_bytes()
    result = invoke("train", "--epochs", "2", "--name", "tiny10", "--runs-dir", trained_runs, "--data-dir", data_dir)
    assert result.exit_code == 2 and "--resume" in result.output
    assert (trained_runs / "tiny10" / "checkpoint.pt").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--classes", "3"], "--classes must be 10 or 4"),
        (["train", "--epochs", "-1"], "--epochs must be at least 1"),
        (["train", "--dropout", "1.5"], "--dropout"),
        (["train", "--preset", "nope"], "unknown --preset"),
        (["train", "--device", "tpu"], "--device"),
        (["evaluate", "no-such-run"], "unknown run 'no-such-run'"),
        (["inspect", "no-such-run"], "unknown run"),
        (["inspect", "--classes", "7"], "--classes must be 10 or 4"),
        (["inspect", "--preset", "nope"], "unknown --preset 'nope'"),
        (["inspect", "--widths", "8,8"], "--widths"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, data_dir: Path, args: list[str], message: str) -> None:
    result = invoke(*args, "--runs-dir", tmp_path, "--data-dir", data_dir)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_data_exits_2_naming_the_folder(tmp_path: Path) -> None:
    result = invoke("train", "--runs-dir", tmp_path / "runs", "--data-dir", tmp_path / "empty")
    assert result.exit_code == 2 and "empty" in result.output and "train-images-idx3-ubyte" in result.output


def test_corrupt_idx_exits_2(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "data"
    shutil.copytree(data_dir, bad)
    (bad / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    (bad / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(5, np.uint8))[:-2])
    result = invoke("train", "--epochs", "1", "--runs-dir", tmp_path / "runs", "--data-dir", bad)
    assert result.exit_code == 2 and "t10k-labels-idx1-ubyte" in result.output


def test_truncated_checkpoint_exits_2(tmp_path: Path, trained_runs: Path, data_dir: Path) -> None:
    shutil.copytree(trained_runs / "tiny10", tmp_path / "runs" / "tiny10")
    checkpoint = tmp_path / "runs" / "tiny10" / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:500])
    result = invoke("evaluate", "tiny10", "--runs-dir", tmp_path / "runs", "--data-dir", data_dir)
    assert result.exit_code == 2 and "checkpoint.pt" in result.output and "Traceback" not in result.output


def test_runs_and_data_default_to_folders_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CNNREPORT_RUNS_DIR", raising=False)
    monkeypatch.delenv("CNNREPORT_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    write_dataset(tmp_path / "data")  # ./data, flat
    assert invoke("train", "--epochs", "1", "--limit", "40", "--threads", "1").exit_code == 0
    assert RunDir(tmp_path / "runs" / "mnist10-e1-limit40").read_status()["status"] == "finished"
    result = invoke("evaluate", "mnist10-e1-limit40", "--json")  # found in ./runs, scored on ./data
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "mnist10-e1-limit40" / "evaluation.json").is_file()


def test_runs_and_data_folders_come_from_the_environment(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CNNREPORT_RUNS_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("CNNREPORT_DATA_DIR", str(data_dir))
    monkeypatch.chdir(tmp_path)
    assert invoke("train", "--epochs", "1", "--limit", "40", "--threads", "1").exit_code == 0
    assert (tmp_path / "elsewhere" / "mnist10-e1-limit40" / "checkpoint.pt").is_file()
    assert not (tmp_path / "runs").exists()
    assert invoke("evaluate", "mnist10-e1-limit40").exit_code == 0


def test_list_shows_each_run_and_names_a_damaged_one(tmp_path: Path, trained_runs: Path) -> None:
    for name in ("tiny10", "tiny4"):
        shutil.copytree(trained_runs / name, tmp_path / name)
    (tmp_path / "tiny4" / "metrics.json").write_text("{")  # a damaged run is listed, not fatal
    listed = json.loads(invoke("list", "--runs-dir", tmp_path, "--json").stdout)["runs"]
    tiny10 = RunDir(tmp_path / "tiny10").read_metrics()
    assert listed[0] == {
        "name": "tiny10", "status": "finished", "epochs_done": 2, "epochs": 2,
        "test_accuracy": tiny10[-1]["test_accuracy"], "seconds": sum(row["seconds"] for row in tiny10),
    }  # fmt: skip
    assert listed[1]["name"] == "tiny4" and listed[1]["status"].startswith("unreadable: ")
    table = invoke("list", "--runs-dir", tmp_path)
    assert table.exit_code == 0 and "2 runs in" in table.stdout and "2/2" in table.stdout
    missing = invoke("list", "--runs-dir", tmp_path / "nowhere")
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_a_preset_with_an_option_that_overrides_it(tmp_path: Path, data_dir: Path) -> None:
    common = ["--runs-dir", tmp_path, "--data-dir", data_dir, "--threads", "1"]
    result = invoke("train", "--preset", "dropout-augment", "--epochs", "1", "--limit", "40", *common)
    assert result.exit_code == 0, result.output
    config = RunDir(tmp_path / "mnist10-aug-drop0.3-e1-limit40").read_config()
    assert config == PRESETS["dropout-augment"].config.replace(epochs=1, limit=40)  # augment, dropout 0.3 kept


def test_evaluate_on_another_dataset(tmp_path: Path, trained_runs: Path) -> None:
    shutil.copytree(trained_runs / "tiny10", tmp_path / "runs" / "tiny10")
    fashion = write_dataset(tmp_path / "fashion", layout="torchvision", dataset="fashion-mnist")
    common = ["--runs-dir", tmp_path / "runs", "--data-dir", fashion]
    result = invoke("evaluate", "tiny10", "--dataset", "fashion-mnist", "--json", *common)
    assert result.exit_code == 0, result.output  # the folder holds no MNIST: it was not read
    report = json.loads(result.stdout)
    assert report["dataset"] == "fashion-mnist" and report["class_names"][9] == "Ankle boot"
    saved = RunDir(tmp_path / "runs" / "tiny10").read_json(RunDir(tmp_path / "runs" / "tiny10").evaluation_file)
    assert saved["dataset"] == "fashion-mnist"


COMMANDS = [[], ["train"], ["evaluate"], ["inspect"], ["reproduce"], ["report"], ["sweep"], ["list"], ["export"]]
COMMANDS += [["export", "tensorboard"], ["export", "mlflow"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "cnnreport")
def test_every_command_has_help_listing_its_options(command: list[str]) -> None:
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ") and result.stderr == ""
    click_command = typer.main.get_command(app)
    for name in command:
        click_command = click_command.commands[name]  # type: ignore[attr-defined]
    for param in click_command.params:
        for option in [*param.opts, *param.secondary_opts] if param.param_type_name == "option" else []:
            assert option in result.stdout, option


def test_the_command_list_shows_each_summary_whole() -> None:
    """`cnnreport --help` on an 80-column terminal: each command's first sentence, never cut to "..."."""
    result = runner.invoke(app, ["--help"], terminal_width=80)
    listed = result.stdout.split("Commands:")[1]
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        summary = command.help.split(".")[0]  # the first sentence
        assert f"{name} " in listed and summary in " ".join(listed.split()), name
    assert "..." not in listed
