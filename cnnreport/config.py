"""Experiment configuration: one frozen dataclass, the write-up's presets and figures, dataset names.

The ground floor: imports nothing of cnnreport but errors, and no third-party library, so every
layer (the torch-free report included) can use it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from cnnreport.errors import BadInput

DATASETS = ("mnist", "fashion-mnist", "kmnist")
SCHEDULES = ("constant", "onecycle", "cosine")
WRITEUP_WIDTHS = (16, 8, 4)  # the write-up's channels after conv1, conv2, conv3
MAX_WIDTH = 64  # per convolution; the parameter budget is the preset's business, not the option's

# The write-up's 4-class grouping of digits (visually similar digits share a class).
DIGIT_GROUPS: tuple[tuple[int, ...], ...] = ((0, 6), (1, 7), (2, 3, 5, 8), (4, 9))
# Label 0..9 -> the index of its group in DIGIT_GROUPS.
GROUP_OF_LABEL: tuple[int, ...] = tuple(
    next(group for group, members in enumerate(DIGIT_GROUPS) if label in members) for label in range(10)
)

# The human names of each dataset's labels, and how the report names the dataset.
LABEL_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],  # fmt: skip
    "kmnist": ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"],
}
DATASET_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST"}


def dataset_title(dataset: str) -> str:
    """How the report names a dataset: MNIST, Fashion-MNIST, KMNIST."""
    return DATASET_TITLES.get(dataset, dataset)


def class_names(dataset: str, classes: int) -> list[str]:
    """Names of the model's output classes: labels, or the write-up's groups like "{0,6}"."""
    names = LABEL_NAMES[dataset]
    if classes == 10:
        return names
    return ["{" + ",".join(names[i] for i in group) + "}" for group in DIGIT_GROUPS]


# The accepted range of every numeric option (inclusive). Values beyond them are typos or
# break something (seeds past 2**32 overflow the per-epoch seed, 100000 threads crash torch).
SEED_MAX = 2**32 - 1
TRAIN_IMAGES = 60_000  # every supported dataset's training split; data loading checks the real size
RANGES: dict[str, tuple[int, int]] = {
    "--epochs": (1, 1000),
    "--batch-size": (1, TRAIN_IMAGES),
    "--seed": (0, SEED_MAX),
    "--limit": (1, TRAIN_IMAGES),
    "--jobs": (1, 64),
    "--seeds": (1, 100),
    "--tsne-samples": (10, 10_000),
    "--index": (0, 9_999),
    "--validation": (0, TRAIN_IMAGES - 1),  # at least one image must be left to train on
    "--widths": (1, MAX_WIDTH),  # each of the three
}
LR_MAX = 10.0  # Adam steps are about lr in size; far beyond 1 nothing is learned
# AdamW shrinks each weight by lr * decay per step; past 1 the usual 1e-4..1e-2 lost a decimal point.
WEIGHT_DECAY_MAX = 1.0
ROTATE_MAX = 90.0  # degrees; turned further, a digit lies on its side
SHIFT_MAX = 0.5  # of the image side; further, the digit leaves the picture
THREADS_PER_CORE = 4  # --threads may oversubscribe the cores this much, no more


def check_range(option: str, value: int, low: int | None = None, high: int | None = None) -> None:
    """Refuse an integer option outside its range (RANGES, or the bounds given) as bad input."""
    default_low, default_high = RANGES.get(option, (low, high))
    low, high = default_low if low is None else low, default_high if high is None else high
    if value < low:  # type: ignore[operator]
        raise BadInput(f"{option} must be at least {low} (range {low}..{high}), not {value}")
    if value > high:  # type: ignore[operator]
        raise BadInput(f"{option} must be at most {high} (range {low}..{high}), not {value}")


def range_text(option: str) -> str:
    """The range of an option for its --help text."""
    low, high = RANGES[option]
    return f"{low}..{high}"


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides what a training run computes."""

    dataset: str = "mnist"  # which IDX dataset: mnist, fashion-mnist or kmnist
    classes: int = 10  # 10 = one class per label; 4 = the write-up's DIGIT_GROUPS
    augment: bool = False  # rotation +-10 deg, translation +-10 %, brightness 0.5..1.5
    dropout: float = 0.0  # dropout probability before the output layer; 0 = none
    batch_norm: bool = False  # BatchNorm2d after each convolution, before its ReLU
    epochs: int = 10
    batch_size: int = 20  # the write-up's batch size
    lr: float = 0.001  # Adam's default, the natural reading of the write-up
    seed: int = 0  # seeds weights, shuffling, augmentation and dropout
    limit: int | None = None  # use only the first N training images (quick looks, tests)
    # Issue 12's training options; each default is the write-up's behaviour.
    schedule: str = "constant"  # LR per batch: constant, onecycle (--lr is its peak) or cosine (from --lr to 0)
    label_smoothing: float = 0.0  # softens the one-hot targets; curbs over-confidence on easy digits
    weight_decay: float = 0.0  # > 0: AdamW's decoupled decay keeps small weights without fighting Adam's scaling
    widths: tuple[int, int, int] = WRITEUP_WIDTHS  # output channels of the three convolutions
    validation: int = 0  # hold out the last N training images to choose settings without the test set
    ema: float = 0.0  # > 0: score and save a moving average of the weights with this decay per step
    rotate: float = 0.0  # > 0: a milder augmentation than --augment's: rotation up to +-this many degrees
    shift: float = 0.0  # ... and shifts up to +-this fraction of the side; brightness stays as it is

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(self.widths))  # a list from JSON or the CLI compares as a tuple
        problems = [
            (self.dataset not in DATASETS, f"--dataset must be one of {', '.join(DATASETS)}"),
            (self.classes not in (10, 4), f"--classes must be 10 or 4, not {self.classes}"),
            (not 0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), not {self.dropout}"),
            (not 0.0 < self.lr <= LR_MAX, f"--lr must be in (0, {LR_MAX:g}], not {self.lr}"),
            *self._recipe_problems(),
        ]
        for failed, message in problems:
            if failed:
                raise BadInput(message)
        check_range("--epochs", self.epochs)
        check_range("--batch-size", self.batch_size)
        check_range("--seed", self.seed)
        if self.limit is not None:
            check_range("--limit", self.limit)
        self._check_recipe_ranges()

    def _recipe_problems(self) -> list[tuple[bool, str]]:
        """The non-integer checks of issue 12's options (kept apart from the original ones above)."""
        return [
            (
                self.schedule not in SCHEDULES,
                f"--schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}",
            ),
            (not 0.0 <= self.label_smoothing < 1.0, f"--label-smoothing must be in [0, 1), not {self.label_smoothing}"),
            (
                not 0.0 <= self.weight_decay <= WEIGHT_DECAY_MAX,
                f"--weight-decay must be in [0, {WEIGHT_DECAY_MAX:g}], not {self.weight_decay}",
            ),
            (not 0.0 <= self.ema < 1.0, f"--ema must be in [0, 1), not {self.ema}"),
            (not 0.0 <= self.rotate <= ROTATE_MAX, f"--rotate must be in [0, {ROTATE_MAX:g}], not {self.rotate}"),
            (not 0.0 <= self.shift <= SHIFT_MAX, f"--shift must be in [0, {SHIFT_MAX:g}], not {self.shift}"),
            (
                self.augment and self.mild_augment,
                "--rotate/--shift set a milder augmentation than --augment's; use one or the other",
            ),
            (
                len(self.widths) != 3 or not all(_is_int(w) for w in self.widths),
                f"--widths must be three whole numbers from 1 to {MAX_WIDTH}, like 16,8,4",
            ),
        ]

    def _check_recipe_ranges(self) -> None:
        """The integer ranges of issue 12's options, then whether --validation leaves a batch to train on."""
        for width in self.widths:
            check_range("--widths", width)
        check_range("--validation", self.validation)
        available = (self.limit or TRAIN_IMAGES) - self.validation
        if self.validation > 0 and available < self.batch_size:
            raise BadInput(f"--validation {self.validation} leaves {available} training images, less than one batch")

    @property
    def mild_augment(self) -> bool:
        """Whether --rotate/--shift ask for the milder augmentation (never together with --augment)."""
        return bool(self.rotate or self.shift)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def options(self) -> dict[str, list[str]]:
        """Each setting as the words `cnnreport train` takes for it, all spelled out (no --limit: [])."""
        return {
            "dataset": ["--dataset", self.dataset],
            "classes": ["--classes", str(self.classes)],
            "augment": ["--augment" if self.augment else "--no-augment"],
            "dropout": ["--dropout", f"{self.dropout:g}"],
            "batch_norm": ["--batch-norm" if self.batch_norm else "--no-batch-norm"],
            "epochs": ["--epochs", str(self.epochs)],
            "batch_size": ["--batch-size", str(self.batch_size)],
            "lr": ["--lr", f"{self.lr:g}"],
            "seed": ["--seed", str(self.seed)],
            "limit": ["--limit", str(self.limit)] if self.limit is not None else [],
            "schedule": ["--schedule", self.schedule],
            "label_smoothing": ["--label-smoothing", f"{self.label_smoothing:g}"],
            "weight_decay": ["--weight-decay", f"{self.weight_decay:g}"],
            "widths": ["--widths", ",".join(map(str, self.widths))],
            "validation": ["--validation", str(self.validation)],
            "ema": ["--ema", f"{self.ema:g}"],
            "rotate": ["--rotate", f"{self.rotate:g}"],
            "shift": ["--shift", f"{self.shift:g}"],
        }

    def differences(self, other: ExperimentConfig) -> list[str]:
        """Where `other` asks for other settings, as "--epochs 3, not --epochs 4" (ours first)."""
        ours, theirs = self.options(), other.options()
        spell = lambda words: " ".join(words) or "no --limit"  # noqa: E731 - only --limit can be absent
        return [f"{spell(ours[key])}, not {spell(theirs[key])}" for key in ours if ours[key] != theirs[key]]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        """Build from a dict read from disk, refusing unknown or mistyped fields; absent ones take defaults."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = set(data) - set(fields)
        if unknown:
            raise BadInput(f"config has unknown fields: {', '.join(sorted(unknown))}")
        for name, value in data.items():
            if not _type_ok(fields[name].type, value):
                raise BadInput(f"config field {name!r} has a wrong type: {value!r}")
        return cls(**data)

    def replace(self, **changes: Any) -> ExperimentConfig:
        return dataclasses.replace(self, **changes)

    def study_settings(self) -> dict[str, Any]:
        """The settings that make a run one of the write-up's experiments (not seed, not dataset)."""
        return {k: v for k, v in self.to_dict().items() if k not in ("seed", "dataset", "limit")}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_ok(annotation: Any, value: Any) -> bool:
    expected = {
        "str": (str,),
        "int": (int,),
        "bool": (bool,),
        "float": (int, float),
        "int | None": (int, type(None)),
        "tuple[int, int, int]": (list, tuple),  # JSON gives a list, the checkpoint a tuple
    }[str(annotation)]
    if isinstance(value, bool) and bool not in expected:
        return False
    return isinstance(value, expected)
