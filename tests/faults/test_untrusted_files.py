"""Files in a run dir may come from anyone: a checkpoint that would run code is refused without
running it, and damaged or foreign checkpoints and JSON documents give one clear error."""

from __future__ import annotations

import contextlib
import json
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from cnnreport.errors import RunError
from cnnreport.storage.rundir import RunDir
from tests.faults.helpers import RUN_COMMANDS, assert_fails, cli, copy_run, run_command, train_command


class CreatesFile:
    """Unpickling this object runs code: it creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


def plant(path: Path, marker: Path, form: str) -> None:
    """Write a checkpoint that creates `marker` when unpickled: torch's zip format or a bare pickle."""
    payload = {"schema_version": 1, "model": CreatesFile(marker)}
    if form == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))  # torch's own protocol: it reaches the global


@pytest.mark.parametrize("form", ["torch.save", "pickle"])
def test_the_planted_checkpoint_really_runs_code_when_unpickled(tmp_path: Path, form: str) -> None:
    marker = tmp_path / "pwned"
    plant(tmp_path / "evil.pt", marker, form)
    with contextlib.suppress(Exception):  # torch complains about a bare pickle only after running it
        torch.load(tmp_path / "evil.pt", weights_only=False)  # what an unsafe loader would do
    assert marker.exists()


@pytest.mark.parametrize("form", ["torch.save", "pickle"])
@pytest.mark.parametrize("command", RUN_COMMANDS)
def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(
    tmp_path: Path, fault_data: Path, reference: RunDir, command: str, form: str
) -> None:
    run = copy_run(reference, tmp_path / "runs")
    marker = tmp_path / "pwned"
    plant(run.checkpoint_file, marker, form)
    result = cli(*run_command(command, tmp_path / "runs", fault_data))
    assert_fails(
        result, 2, str(run.checkpoint_file), "refused: it holds more than tensors", "import __builtin__.exec",
        "loading it could run code",
    )  # fmt: skip
    assert "weights_only" not in result.stderr
    assert not marker.exists()


DAMAGE: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "a newer schema version": (lambda s: s | {"schema_version": 2}, "not a cnnreport checkpoint of schema version 1"),
    "no normalization": (lambda s: {k: v for k, v in s.items() if k != "normalization"}, "lacks 'normalization'"),
    "weights in a list": (lambda s: s | {"model": list(s["model"].values())}, "'model' is not a dict"),
    "text among the weights": (lambda s: s | {"model": s["model"] | {"fc.weight": "x"}}, "other than tensors"),
    "weights of another shape": (
        lambda s: s | {"model": {k: v.reshape(-1)[:1] for k, v in s["model"].items()}},
        "weights do not fit the model",
    ),
    "an epoch without metrics": (lambda s: s | {"metrics": []}, "disagrees with its metrics"),
    "metrics without losses": (lambda s: s | {"metrics": [{"epoch": 1}] * s["epoch"]}, "need numbers"),
    "a negative count of average updates": (lambda s: s | {"average_updates": -1}, "'average_updates' is not a count"),
    "a list, not a dict": (lambda s: [s], "not a cnnreport checkpoint"),
    "cut short": (None, "unreadable checkpoint"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_or_foreign_checkpoint_is_one_clear_error(
    tmp_path: Path, fault_data: Path, reference: RunDir, damage: str
) -> None:
    run = copy_run(reference, tmp_path)
    change, message = DAMAGE[damage]
    if change is None:
        run.checkpoint_file.write_bytes(run.checkpoint_file.read_bytes()[:3000])
    else:
        torch.save(change(torch.load(run.checkpoint_file, weights_only=True)), run.checkpoint_file)
    result = cli("evaluate", "reference", "--runs-dir", tmp_path, "--data-dir", fault_data)
    assert_fails(result, 2, "checkpoint.pt", message)


CONFIG_DAMAGE: dict[str, tuple[Callable[[str], str], str]] = {
    "an unknown schema version": (
        lambda text: text.replace('"schema_version": 1', '"schema_version": 99'),
        "schema version 99 is not supported (this cnnreport reads version 1)",
    ),
    "no schema version": (lambda text: text.replace('"schema_version": 1,', ""), "not a cnnreport file"),
    "an unknown field": (lambda text: text.replace('"seed": 0', '"seed": 0, "colour": 1'), "unknown fields: colour"),
    "a field of the wrong type": (lambda text: text.replace('"epochs": 4', '"epochs": "4"'), "wrong type"),
    "a value out of range": (lambda text: text.replace('"classes": 10', '"classes": 3'), "--classes must be 10 or 4"),
    "cut short": (lambda text: text[: len(text) // 2], "not valid JSON"),
}


@pytest.mark.parametrize("damage", CONFIG_DAMAGE)
def test_a_damaged_config_json_is_one_clear_error_on_resume(
    tmp_path: Path, fault_data: Path, reference: RunDir, damage: str
) -> None:
    run = copy_run(reference, tmp_path)
    change, message = CONFIG_DAMAGE[damage]
    damaged = change(run.config_file.read_text())
    assert damaged != run.config_file.read_text()
    run.config_file.write_text(damaged)
    result = cli(*train_command(tmp_path, fault_data, "reference", "--resume"))
    assert_fails(result, 2, "config.json", message)


def metrics_document(**changes: Any) -> dict[str, Any]:
    row = {"epoch": 1, "train_loss": 0.5, "train_accuracy": 0.9, "test_loss": 0.4, "test_accuracy": 0.9, "seconds": 2}
    return {"schema_version": 1, "epochs": [row | changes]}


METRICS_DAMAGE = {
    "an unknown schema version": (metrics_document() | {"schema_version": 2}, "schema version 2 is not supported"),
    "epochs not a list": ({"schema_version": 1, "epochs": {"1": {}}}, "list of objects"),
    "a loss that is text": (metrics_document(train_loss="low"), "need numbers"),
    "a missing accuracy": (metrics_document(test_accuracy=None), "need numbers"),
    # With --validation the test set is scored at the end only: null is allowed there, an absent field is not.
    "a test field absent beside validation": (
        {
            "schema_version": 1,
            "epochs": [
                {
                    "epoch": 1,
                    "train_loss": 0.5,
                    "train_accuracy": 0.9,
                    "seconds": 2,
                    "validation_loss": 0.4,
                    "validation_accuracy": 0.9,
                }
            ],
        },
        "need numbers",
    ),  # fmt: skip
    "a validation accuracy that is text": (
        metrics_document(validation_loss=0.4, validation_accuracy="high", test_loss=None),
        "need numbers",
    ),
    "epochs out of order": (metrics_document(epoch=2), "epoch 1 need numbers"),
}


@pytest.mark.parametrize("damage", METRICS_DAMAGE)
def test_metrics_json_is_checked_against_its_schema(tmp_path: Path, damage: str) -> None:
    document, message = METRICS_DAMAGE[damage]
    run = RunDir(tmp_path)
    run.metrics_file.write_text(json.dumps(document))
    with pytest.raises(RunError, match=message) as error:
        run.read_metrics()
    assert str(run.metrics_file) in str(error.value)


def test_a_status_file_of_an_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.status_file.write_text(json.dumps({"schema_version": 7, "status": "finished"}))
    with pytest.raises(RunError, match="run.json: schema version 7 is not supported"):
        run.read_status()


def test_a_well_formed_metrics_json_reads_back(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.write_metrics(metrics_document()["epochs"])
    assert run.read_metrics() == metrics_document()["epochs"]


def test_an_npz_holding_an_object_array_is_refused_without_unpickling(tmp_path: Path, trained_runs: Path) -> None:
    shutil.copytree(trained_runs / "tiny10", tmp_path / "runs" / "tiny10", ignore=shutil.ignore_patterns(".lock"))
    run = RunDir(tmp_path / "runs" / "tiny10")
    marker = tmp_path / "pwned"
    hostile = np.array([CreatesFile(marker)], dtype=object)
    np.savez(run.predictions_file, logits=hostile, labels=hostile)  # numpy pickles object arrays
    with pytest.raises(RunError, match="predictions.npz: unreadable .*allow_pickle=False"):
        run.read_arrays(run.predictions_file)
    result = cli("report", "--runs-dir", tmp_path / "runs", "-o", tmp_path / "r.html", "--tsne-samples", "50")
    assert result.exit_code == 0, result.output  # the rest of the run is still shown
    html = (tmp_path / "r.html").read_text()
    assert "predictions.npz" in html and "allow_pickle=False" in html
    assert not marker.exists()
