"""Training throughput: cnnreport's loop versus the notebook's DataLoader loop, side by side.

Both train the same model at the same batch size on the same first N MNIST images, one
after the other in this process; the notebook way uses torchvision's MNIST dataset, a
DataLoader and per-image PIL transforms, as the write-up's notebook did.

    python benchmarks/train_speed.py --images 12000 --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset
from torchvision import datasets, transforms

from cnnreport.config import ExperimentConfig
from cnnreport.ml.data import default_data_dir, load_study_data, normalization_of
from cnnreport.ml.model import build_model
from cnnreport.ml.recipe import make_optimizer
from cnnreport.ml.train import train_one_epoch
from cnnreport.system import available_cores, set_threads


def notebook_transform(augment: bool) -> transforms.Compose:
    steps: list = []
    if augment:
        steps = [
            transforms.RandomRotation(10),
            transforms.RandomAffine(0, translate=(0.1, 0.1)),
            transforms.ColorJitter(brightness=0.5),
        ]
    return transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])


def notebook_epoch(data_dir: Path, images: int, augment: bool, batch_size: int) -> float:
    """One epoch the notebook way; returns images per second."""
    dataset = datasets.MNIST(str(data_dir), train=True, download=False, transform=notebook_transform(augment))
    loader = DataLoader(Subset(dataset, range(images)), batch_size=batch_size, shuffle=True)
    torch.set_num_threads(available_cores())  # torch's default, as the notebook ran
    torch.manual_seed(0)
    model = build_model(ExperimentConfig())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
    model.train()
    start = time.perf_counter()
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return images / (time.perf_counter() - start)


def cnnreport_epoch(data_dir: Path, images: int, augment: bool, batch_size: int) -> float:
    """One epoch cnnreport's way (data loading included); returns images per second."""
    set_threads(None)  # cnnreport's measured default
    start = time.perf_counter()
    config = ExperimentConfig(augment=augment, batch_size=batch_size, limit=images)
    data = load_study_data(data_dir, "mnist", 10, images)
    torch.manual_seed(0)
    model = build_model(config).to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config, torch.device("cpu"))
    train_one_epoch(model, optimizer, data, config, 1, normalization_of(data.train_images))
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12000, help="training images per epoch")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    args = parser.parse_args()
    print(f"{args.images} images, batch {args.batch_size}")
    print(f"threads: {available_cores()} for both (torch's default and cnnreport's)")
    print(f"{'augment':>8} {'notebook img/s':>15} {'cnnreport img/s':>16} {'ratio':>6}")
    for augment in (False, True):
        ours = cnnreport_epoch(args.data_dir, args.images, augment, args.batch_size)
        theirs = notebook_epoch(args.data_dir, args.images, augment, args.batch_size)
        print(f"{str(augment):>8} {theirs:>15,.0f} {ours:>16,.0f} {ours / theirs:>5.2f}x")


if __name__ == "__main__":
    main()
