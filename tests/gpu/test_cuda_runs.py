"""Whole training runs on a GPU: graphed against eager, and resume after an interruption."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnreport.config import ExperimentConfig
from cnnreport.ml.checkpoint import load_checkpoint
from cnnreport.ml.train import train_run
from cnnreport.storage.rundir import RunDir, create_run
from tests.gpu.conftest import needs_cuda
from tests.test_train import StopAfter

pytestmark = needs_cuda


def final_accuracy(tmp_path: Path, data_dir: Path, name: str, config: ExperimentConfig, graphed: bool) -> float:
    run = create_run(tmp_path, name)
    metrics = train_run(run, config, data_dir=data_dir, device="cuda", cuda_graph=graphed)
    return metrics[-1]["test_accuracy"]


def test_graphed_and_eager_runs_agree_within_the_seed_spread(tmp_path: Path, gpu_data_dir: Path) -> None:
    # The paths draw their shuffles and augmentations from different generators (the graphed
    # one on the GPU), so a seed is a different sample on each: compare the three seeds' means.
    config = ExperimentConfig(epochs=3, limit=12000, augment=True, dropout=0.3)
    eager = [final_accuracy(tmp_path, gpu_data_dir, f"eager{s}", config.replace(seed=s), False) for s in range(3)]
    graphed = [final_accuracy(tmp_path, gpu_data_dir, f"graphed{s}", config.replace(seed=s), True) for s in range(3)]
    spread = max(max(eager) - min(eager), max(graphed) - min(graphed))
    assert abs(sum(graphed) / 3 - sum(eager) / 3) <= max(spread, 0.005), (graphed, eager)


def test_an_interrupted_graphed_run_resumes_to_nearly_the_uninterrupted_result(
    tmp_path: Path, gpu_data_dir: Path
) -> None:
    config = ExperimentConfig(epochs=3, limit=6000, augment=True, dropout=0.3, batch_norm=True)
    straight = train_run(create_run(tmp_path, "straight"), config, data_dir=gpu_data_dir, device="cuda")
    interrupted = create_run(tmp_path, "interrupted")
    with pytest.raises(KeyboardInterrupt):
        train_run(interrupted, config, data_dir=gpu_data_dir, device="cuda", on_epoch=StopAfter(1))
    resumed = train_run(interrupted, config, data_dir=gpu_data_dir, device="cuda", resume=True)
    assert [row["epoch"] for row in resumed] == [1, 2, 3]
    # Each epoch's draws depend on (seed, epoch) alone, so only GPU arithmetic order differs.
    for mine, theirs in zip(resumed, straight, strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=0.02)
    assert abs(resumed[-1]["test_accuracy"] - straight[-1]["test_accuracy"]) <= 0.01


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_a_killed_training_process_resumes_with_resume(tmp_path: Path, gpu_data_dir: Path, how: int) -> None:
    args = [
        sys.executable, "-m", "cnnreport", "train", "--device", "cuda", "--epochs", "20", "--limit", "6000",
        "--name", "killed", "--runs-dir", str(tmp_path), "--data-dir", str(gpu_data_dir),
    ]  # fmt: skip
    log = tmp_path / "stderr.txt"  # a file, not a pipe: a full pipe would stall the child
    with log.open("wb") as stderr:
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)
    run = RunDir(tmp_path / "killed")
    deadline = time.monotonic() + 180
    while not run.metrics_file.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(how)
    process.wait(timeout=60)
    assert process.returncode == (130 if how == signal.SIGINT else -signal.SIGKILL), log.read_text()
    done = load_checkpoint(run)["epoch"]
    assert 1 <= done < 20
    result = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert [row["epoch"] for row in run.read_metrics()] == list(range(1, 21))
    assert run.read_status()["status"] == "finished"
