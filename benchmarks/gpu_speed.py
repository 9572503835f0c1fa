"""Training speed on one CUDA GPU: eager against graphed steps and epochs, side by side.

For each of the write-up's five experiments, on the same GPU in this one process:
- one training step at batch 20 (data already on the GPU), eager and replayed from a graph, in us;
- one epoch of `--images` images, the eager loop (`--no-cuda-graph`) against the graphed one;
and, with `--reproduce DIR`, the wall time of `cnnreport reproduce --device cuda` from empty runs.

    python benchmarks/gpu_speed.py --data-dir ../shared/data --reproduce /tmp/gpu-reproduce
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from cnnreport.config import ExperimentConfig
from cnnreport.ml.data import StudyData, default_data_dir, load_study_data, normalization_of
from cnnreport.ml.graphed import DeviceEpochs
from cnnreport.ml.model import build_model
from cnnreport.ml.recipe import make_optimizer
from cnnreport.ml.train import train_one_epoch
from cnnreport.presets import PRESETS

STEPS = 500  # steps per step-time measurement
DEVICE = torch.device("cuda")  # --cpu-dry-run: cpu, to check the script itself without a GPU


def fresh(config: ExperimentConfig) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(config.seed)
    model = build_model(config).to(DEVICE).to(memory_format=torch.channels_last)
    return model, make_optimizer(model, config, DEVICE)


def timed(work: Any) -> float:
    """Seconds `work()` takes, the GPU's queue drained before and after."""
    synchronize()
    start = time.perf_counter()
    work()
    synchronize()
    return time.perf_counter() - start


def synchronize() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def step_times(data: StudyData, config: ExperimentConfig) -> tuple[float, float]:
    """Microseconds per step: eager (the same step code, uncaptured) and replayed."""
    normalization = normalization_of(data.train_images)
    times = []
    for capture in (False, True):
        epochs = DeviceEpochs(*fresh(config), data, config, normalization, capture and DEVICE.type == "cuda")
        if epochs.capture:
            epochs.graph = epochs.capture_step()
        epochs.start_epoch(1)
        run = epochs.graph.replay if epochs.graph is not None else epochs.indexed_step
        for _ in range(min(20, epochs.plan.full)):  # warm caches and cuDNN's choices before timing
            run()
        epochs.start_epoch(1)
        steps = min(STEPS, epochs.plan.full)

        def many(run: Any = run, steps: int = steps) -> None:
            for _ in range(steps):
                run()

        times.append(timed(many) / steps * 1e6)
    return times[0], times[1]


def epoch_times(data: StudyData, config: ExperimentConfig) -> dict[str, float]:
    """Seconds per epoch: the eager loop, the graphed epoch with its capture, and without."""
    normalization = normalization_of(data.train_images)
    model, optimizer = fresh(config)
    eager = timed(lambda: train_one_epoch(model, optimizer, data, config, 1, normalization))
    epochs = DeviceEpochs(*fresh(config), data, config, normalization, capture=DEVICE.type == "cuda")
    first = timed(lambda: epochs(1))
    second = timed(lambda: epochs(2))
    return {"eager": eager, "graphed_first": first, "graphed": second}


def reproduce_wall_time(folder: Path, data_dir: Path) -> float:
    """Wall seconds of the whole write-up on CUDA, from empty runs to the written report."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "cnnreport", "reproduce", "--device", "cuda", "-o", str(folder / "report.html"),
        "--runs-dir", str(folder / "runs"), "--data-dir", str(data_dir),
    ]  # fmt: skip
    if (folder / "runs").exists() and any((folder / "runs").iterdir()):
        sys.exit(f"{folder / 'runs'} is not empty: the timing is of a reproduce from empty runs")
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--images", type=int, default=None, help="training images per epoch [all 60,000]")
    parser.add_argument("--reproduce", type=Path, default=None, help="time reproduce --device cuda in this folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--cpu-dry-run", action="store_true", help="run the script on the CPU (no timing value)")
    args = parser.parse_args()
    global DEVICE
    if args.cpu_dry_run:
        DEVICE = torch.device("cpu")
    elif not torch.cuda.is_available():
        sys.exit("no CUDA device: this benchmark measures a GPU")
    gpu = torch.cuda.get_device_name(0) if DEVICE.type == "cuda" else "none (CPU dry run)"
    print(f"GPU: {gpu}   torch {torch.__version__}   batch 20", flush=True)
    print("targets: graphed epoch <= 1.0 s and >= 5x the eager loop; reproduce <= 120 s", flush=True)
    results: dict[str, Any] = {"gpu": gpu, "torch": torch.__version__, "presets": {}}
    print(f"{'experiment':<16} {'eager us':>9} {'graph us':>9} {'ratio':>6}  {'eager s/ep':>10} "
          f"{'graph s/ep':>10} {'ratio':>6} {'1st graphed ep':>15}", flush=True)  # fmt: skip
    for preset in PRESETS.values():
        config = preset.config.replace(limit=args.images)
        data = load_study_data(args.data_dir, config.dataset, config.classes, config.limit)
        eager_us, graph_us = step_times(data, config)
        epoch = epoch_times(data, config)
        results["presets"][preset.id] = {"eager_us": eager_us, "graph_us": graph_us, **epoch}
        print(f"{preset.id:<16} {eager_us:>9,.0f} {graph_us:>9,.0f} {eager_us / graph_us:>5.1f}x  "
              f"{epoch['eager']:>10.2f} {epoch['graphed']:>10.2f} {epoch['eager'] / epoch['graphed']:>5.1f}x "
              f"{epoch['graphed_first']:>15.2f}", flush=True)  # fmt: skip
    if args.reproduce is not None:
        seconds = reproduce_wall_time(args.reproduce, args.data_dir)
        results["reproduce_seconds"] = seconds
        print(f"cnnreport reproduce --device cuda, from empty runs: {seconds:.1f} s wall", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
