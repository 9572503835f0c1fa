"""How the tuned preset was chosen: candidate recipes scored on a validation split only.

Each candidate trains on the first 55,000 MNIST training images and is scored on the last
5,000 (the same split as `cnnreport train --validation 5000`); the test set is never read.
Every candidate also keeps a moving average of its weights (decay 0.999, as `--ema 0.999`),
scored beside the trained weights, so one training shows what the average adds.
One line of JSON per candidate and seed: parameters, validation accuracy per epoch, seconds.

    python benchmarks/recipe_search.py --data-dir ../shared/data --seeds 0,1,2   # rounds 2 to 9
    python benchmarks/recipe_search.py --only w14-8-12 --seeds 1                  # one candidate

Round 1 (one seed) ran with fused Adam and four random draws per augmented image (commit
bcb7481); rounds 2 to 9 with this version. Either way the differences between candidates, not
the digits, are what carries over. The augmentation here draws rotation and shift as
`train --rotate D --shift F` does (uniform, brightness untouched), from its own stream of draws.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from cnnreport.config import ExperimentConfig
from cnnreport.ml.augment import AffineParams, apply
from cnnreport.ml.averaging import PAST_WARM_UP, WeightAverage
from cnnreport.ml.data import batches, load_study_data, normalization_of
from cnnreport.ml.model import build_model

VALIDATION = 5000
EPOCHS = 15
EMA_DECAY = 0.999


class Candidate(NamedTuple):
    """One recipe tried: batch norm always, and 15 epochs except in round 9."""

    widths: tuple[int, int, int]
    batch_size: int = 64
    peak_lr: float = 0.01
    smoothing: float = 0.0
    augmentation: tuple[float, float] = (0, 0)  # rotation degrees, shift as a fraction of the side
    weight_decay: float = 0.0  # AdamW's (Adam) or L2 (SGD)
    optimizer: str = "adam"  # or "sgd": Nesterov momentum 0.9, cycled 0.85-0.95 by one-cycle
    schedule: str = "onecycle"  # or "cosine": from peak_lr down to 0, as `--schedule cosine`
    decay_norms: bool = True  # False: weight decay on conv and linear weights only, not biases or batch norm
    epochs: int = EPOCHS


W = (14, 8, 12)
AUG8 = (8, 0.08)
# Listed in the order they were tried.
CANDIDATES: dict[str, Candidate] = {
    # round 1: one seed
    "w12-10-8-aug-ls": Candidate((12, 10, 8), smoothing=0.05, augmentation=AUG8),
    "w16-8-4-aug-ls": Candidate((16, 8, 4), smoothing=0.05, augmentation=AUG8),
    "w12-10-8": Candidate((12, 10, 8)),
    "w12-10-8-b32": Candidate((12, 10, 8), batch_size=32),
    "w12-10-8-ls": Candidate((12, 10, 8), smoothing=0.05),
    "w12-10-8-mildaug": Candidate((12, 10, 8), augmentation=(4, 0.04)),
    "w14-8-12": Candidate(W),
    "w12-10-10": Candidate((12, 10, 10)),
    "w14-8-12-lr0.02": Candidate(W, peak_lr=0.02),
    # round 2: three seeds, the moving average beside each
    "w14-8-12-aug8": Candidate(W, augmentation=AUG8),
    "w14-8-12-aug10": Candidate(W, augmentation=(10, 0.1)),
    "w12-8-16-aug8": Candidate((12, 8, 16), augmentation=AUG8),
    # round 3: three seeds; weight decay, label smoothing 0.1, SGD, with and without augmentation
    "w14-8-12-wd0.01": Candidate(W, weight_decay=0.01),
    "w14-8-12-wd0.05": Candidate(W, weight_decay=0.05),
    "w14-8-12-aug8-wd0.01": Candidate(W, augmentation=AUG8, weight_decay=0.01),
    "w14-8-12-aug8-wd0.05": Candidate(W, augmentation=AUG8, weight_decay=0.05),
    "w14-8-12-aug8-ls0.1": Candidate(W, augmentation=AUG8, smoothing=0.1),
    "w14-8-12-sgd": Candidate(W, peak_lr=0.1, weight_decay=5e-4, optimizer="sgd"),
    "w14-8-12-aug8-sgd": Candidate(W, peak_lr=0.1, augmentation=AUG8, weight_decay=5e-4, optimizer="sgd"),
    # round 4: three seeds; round 3's choice with one value moved a step either way
    "w14-8-12-wd0.1": Candidate(W, weight_decay=0.1),
    "w14-8-12-wd0.2": Candidate(W, weight_decay=0.2),
    "w14-8-12-wd0.05-lr0.005": Candidate(W, peak_lr=0.005, weight_decay=0.05),
    "w14-8-12-wd0.05-lr0.02": Candidate(W, peak_lr=0.02, weight_decay=0.05),
    "w14-8-12-wd0.05-b32": Candidate(W, batch_size=32, weight_decay=0.05),
    "w14-8-12-wd0.05-b128": Candidate(W, batch_size=128, weight_decay=0.05),
    # round 5: three seeds; what the issue lists that no round had tried with weight decay
    "w14-8-12-wd0.05-cosine": Candidate(W, weight_decay=0.05, schedule="cosine"),
    "w14-8-12-wd0.05-ls0.05": Candidate(W, smoothing=0.05, weight_decay=0.05),
    "w14-8-12-wd0.05-aug4": Candidate(W, augmentation=(4, 0.04), weight_decay=0.05),
    # round 6: three seeds; other widths within 5,000 parameters, now with weight decay
    "w12-8-16-wd0.05": Candidate((12, 8, 16), weight_decay=0.05),
    "w16-8-8-wd0.05": Candidate((16, 8, 8), weight_decay=0.05),
    "w11-8-19-wd0.05": Candidate((11, 8, 19), weight_decay=0.05),
    # round 7: three seeds; weight decay on the conv and linear weights only, as AdamW is usually run
    "w14-8-12-wd0.05-weights": Candidate(W, weight_decay=0.05, decay_norms=False),
    "w14-8-12-wd0.1-weights": Candidate(W, weight_decay=0.1, decay_norms=False),
    "w14-8-12-wd0.2-weights": Candidate(W, weight_decay=0.2, decay_norms=False),
    # round 8: three seeds; a wider middle convolution (every candidate with weight decay had 8)
    "w10-10-14-wd0.05": Candidate((10, 10, 14), weight_decay=0.05),
    "w11-10-12-wd0.05": Candidate((11, 10, 12), weight_decay=0.05),
    "w8-12-14-wd0.05": Candidate((8, 12, 14), weight_decay=0.05),
    # round 9: three seeds; each breaks one of the limits on purpose, to show which one binds
    "w14-8-12-wd0.05-e30": Candidate(W, weight_decay=0.05, epochs=30),
    "w14-8-12-wd0.05-aug8-e30": Candidate(W, augmentation=AUG8, weight_decay=0.05, epochs=30),
    "w20-12-24-wd0.05": Candidate((20, 12, 24), weight_decay=0.05),
}


def make_optimizer(model: nn.Module, candidate: Candidate) -> torch.optim.Optimizer:
    """Adam, AdamW when there is weight decay, or SGD with Nesterov momentum."""
    lr, decay = candidate.peak_lr, candidate.weight_decay
    if candidate.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=decay)
    if decay:
        params: list[dict[str, object]] = [{"params": list(model.parameters())}]
        if not candidate.decay_norms:  # decay kernels and the output matrix; spare biases and batch norm
            params = [
                {"params": [p for p in model.parameters() if p.dim() > 1]},
                {"params": [p for p in model.parameters() if p.dim() <= 1], "weight_decay": 0.0},
            ]
        return torch.optim.AdamW(params, lr=lr, weight_decay=decay)
    return torch.optim.Adam(model.parameters(), lr=lr)


def augment(images: torch.Tensor, generator: torch.Generator, degrees: float, shift: float) -> torch.Tensor:
    """Rotation and shift only (no brightness), drawn per image."""
    uniform = torch.rand(len(images), 3, generator=generator) * 2 - 1
    params = AffineParams(uniform[:, 0] * degrees, uniform[:, 1:3] * shift * images.shape[-1], torch.ones(len(images)))
    return apply(images, params)


def search(name: str, data_dir: Path, seed: int) -> dict[str, object]:
    """Train one candidate; its validation accuracy (trained and averaged) after each epoch."""
    candidate = CANDIDATES[name]
    batch_size, (degrees, shift) = candidate.batch_size, candidate.augmentation
    data = load_study_data(data_dir, "mnist", 10)
    train_x, train_y = data.train_images[:-VALIDATION], data.train_labels[:-VALIDATION]
    val_x, val_y = data.train_images[-VALIDATION:], data.train_labels[-VALIDATION:]
    mean, std = normalization_of(train_x)
    torch.manual_seed(seed)
    model = build_model(ExperimentConfig(batch_norm=True, widths=candidate.widths))
    model = model.to(memory_format=torch.channels_last)
    # As the recorded rounds ran, before --ema had its warm-up: so they repeat exactly.
    average = WeightAverage(model, EMA_DECAY, updates=PAST_WARM_UP)
    optimizer = make_optimizer(model, candidate)
    steps = candidate.epochs * math.ceil(len(train_y) / batch_size)
    if candidate.schedule == "cosine":
        schedule: torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    else:
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=candidate.peak_lr, total_steps=steps)

    def score(scored: nn.Module) -> float:
        scored.eval()
        with torch.no_grad():
            hits = sum(
                int((scored((val_x[i] - mean) / std).argmax(1) == val_y[i]).sum()) for i in batches(VALIDATION, 1000)
            )
        return round(100 * hits / VALIDATION, 2)

    trained, averaged, started = [], [], time.perf_counter()
    for epoch in range(1, candidate.epochs + 1):
        generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        model.train()
        for index in batches(len(train_y), batch_size, generator):
            images = train_x[index]
            if degrees or shift:
                images = augment(images, generator, degrees, shift)
            logits = model(((images - mean) / std).contiguous(memory_format=torch.channels_last))
            loss = F.cross_entropy(logits, train_y[index], label_smoothing=candidate.smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            average.update(model)
        trained.append(score(model))
        averaged.append(score(average.model))
    params = sum(p.numel() for p in model.parameters())
    seconds = round(time.perf_counter() - started)
    return {"candidate": name, "seed": seed, "params": params, "validation": trained, "validation_ema": averaged,
            "seconds": seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--only", choices=sorted(CANDIDATES), action="append")
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.only or CANDIDATES:
        for seed in (int(s) for s in args.seeds.split(",")):
            print(json.dumps(search(name, args.data_dir, seed)), flush=True)


if __name__ == "__main__":
    main()
