"""End-to-end wall time of the five experiments: cnnreport versus the notebook way.

Runs the write-up's five experiments (optionally with fewer epochs and images, the same
for both sides) first as `cnnreport reproduce` does it (tensor-resident data, batched
augmentation, parallel worker processes, evaluation, inspection and the HTML report
included), then as the notebook did (torchvision MNIST + DataLoader + per-image PIL
transforms, one process, training and a test pass only), and prints the ratio.

    python benchmarks/reproduce_speed.py --epoch-scale 0.2 --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from torchvision import datasets
from train_speed import notebook_transform  # noqa: I001 - a sibling script

from cnnreport.config import ExperimentConfig
from cnnreport.jobs.reproduce import Job, Settings, plan, run_all
from cnnreport.ml.data import default_data_dir
from cnnreport.ml.model import build_model
from cnnreport.report.build import build_report
from cnnreport.storage.rundir import RunDir
from cnnreport.system import available_cores


def scaled_jobs(epoch_scale: float, images: int | None) -> list[Job]:
    """The five presets with epochs scaled (at least 1) and optionally fewer images."""
    return [
        Job(job.name, job.config.replace(epochs=max(1, round(job.config.epochs * epoch_scale)), limit=images))
        for job in plan()
    ]


def cnnreport_way(jobs: list[Job], data_dir: Path, processes: int) -> float:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        runs_dir = Path(folder) / "runs"
        threads = max(1, available_cores() // processes)
        settings = Settings(runs_dir, data_dir, "cpu", threads=threads)
        outcome = run_all(jobs, settings, processes, on_update=lambda _update: None)
        assert not outcome.failures, outcome.failures
        runs = [RunDir(runs_dir / job.name) for job in jobs]
        build_report(runs, Path(folder) / "report.html", ready=outcome.parts)
    return time.perf_counter() - start


def notebook_way(jobs: list[Job], data_dir: Path) -> float:
    start = time.perf_counter()
    for job in jobs:
        notebook_experiment(job.config, data_dir)
    return time.perf_counter() - start


def notebook_experiment(config: ExperimentConfig, data_dir: Path) -> float:
    """Train and test one experiment the way the notebook did; returns test accuracy."""
    train = datasets.MNIST(str(data_dir), train=True, transform=notebook_transform(config.augment))
    test = datasets.MNIST(str(data_dir), train=False, transform=notebook_transform(False))
    subset = Subset(train, range(config.limit)) if config.limit else train
    loader = DataLoader(subset, batch_size=config.batch_size, shuffle=True)
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _epoch in range(config.epochs):
        model.train()
        for x, y in loader:
            if config.classes == 4:
                y = torch.tensor([[0, 1, 2, 2, 3, 2, 0, 1, 2, 3][int(v)] for v in y])
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(test, batch_size=1000):
            correct += int((model(x).argmax(1) == y).sum())
    return correct / len(test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epoch-scale", type=float, default=0.2, help="fraction of each experiment's epochs")
    parser.add_argument("--images", type=int, default=None, help="training images per epoch [all]")
    parser.add_argument("--jobs", type=int, default=available_cores(), help="cnnreport worker processes")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    args = parser.parse_args()
    jobs = scaled_jobs(args.epoch_scale, args.images)
    epochs = sum(job.config.epochs for job in jobs)
    print(f"five experiments, {epochs} epochs in all, {args.images or 60000} images each, {available_cores()} cores")
    ours = cnnreport_way(jobs, args.data_dir, args.jobs)
    print(f"cnnreport (train, evaluate, inspect, report; {args.jobs} processes): {ours:.1f} s")
    theirs = notebook_way(jobs, args.data_dir)
    print(f"notebook loop (train and test only, one process): {theirs:.1f} s")
    print(f"speed-up: {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
