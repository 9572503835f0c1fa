"""train -> evaluate -> inspect end to end through the CLI, and every bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from cnnreport.storage.rundir import RunDir
from tests.helpers import invoke
from tests.idx_files import idx_bytes


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
    assert 0 <= report["train_accuracy"] <= 1 and 0 <= report["running_train_accuracy"] <= 1
    assert (report["params_total"], report["params_trainable"]) == (4368, 4368)
    assert saved["features"].shape == (200, 16)


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
