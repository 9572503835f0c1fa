"""Seeds: group runs into experiments and say how far apart experiments really are.

An *experiment* is every run whose configuration is the same except for the seed (same
study settings, same dataset, same --limit). When an experiment has several seeds, a
comparison should show mean +- std and say when two experiments differ by less than
their spread. Typical use, e.g. for a summary table:

    for experiment in group_by_experiment(runs):
        spread = mean_std([accuracy_of(run) for run in experiment.runs])
        row = [experiment.label, format.spread(spread)]    # report/format.py writes it

`within_spread` is a rough reading aid (do the mean +- std intervals overlap?), not a
significance test; with one seed on both sides it answers None (no spread to judge).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cnnreport.config import ExperimentConfig, dataset_title
from cnnreport.errors import CnnReportError
from cnnreport.presets import default_run_name, recipe_of
from cnnreport.storage.rundir import RunDir


@dataclass(frozen=True)
class Experiment:
    """Runs that share one configuration except the seed, in run-name order."""

    label: str
    config: ExperimentConfig  # the first run's config (its seed is just one of `seeds`)
    runs: tuple[RunDir, ...]
    seeds: tuple[int, ...]

    @property
    def dataset(self) -> str:
        return self.config.dataset


def experiment_key(config: ExperimentConfig) -> tuple[tuple[str, object], ...]:
    """What makes two runs seeds of one experiment: the whole config except the seed.

    This is config.study_settings() plus dataset and --limit: a run on 1,000 images is
    not another seed of a run on 60,000.
    """
    return tuple(sorted((k, v) for k, v in config.to_dict().items() if k != "seed"))


def experiment_label(config: ExperimentConfig) -> str:
    """The write-up's (or the tuned recipe's) title when the settings match a preset, else a name from the options."""
    preset = recipe_of(config)
    if preset is None:
        return default_run_name(config.replace(seed=0))
    label = preset.title
    if config.dataset != "mnist":
        label += f" on {dataset_title(config.dataset)}"
    if config.limit is not None:
        label += f" (first {config.limit} images)"
    return label


def group_by_experiment(runs: Iterable[RunDir]) -> list[Experiment]:
    """Group runs into experiments, in order of first appearance; unreadable configs are skipped."""
    groups: dict[tuple, list[tuple[RunDir, ExperimentConfig]]] = {}
    for run in runs:
        try:
            config = run.read_config()
        except CnnReportError:
            continue
        groups.setdefault(experiment_key(config), []).append((run, config))
    experiments = []
    for members in groups.values():
        first = members[0][1]
        experiments.append(
            Experiment(
                label=experiment_label(first),
                config=first,
                runs=tuple(run for run, _ in members),
                seeds=tuple(config.seed for _, config in members),
            )
        )
    return experiments


@dataclass(frozen=True)
class Spread:
    """Mean, sample standard deviation (0 for a single value) and count of some values."""

    mean: float
    std: float
    n: int


def mean_std(values: Sequence[float] | np.ndarray) -> Spread:
    """Mean and sample std (ddof=1, the seed-to-seed spread); NaNs are ignored."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return Spread(float("nan"), float("nan"), 0)
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return Spread(float(array.mean()), std, int(array.size))


def within_spread(a: Spread, b: Spread) -> bool | None:
    """True when |mean_a - mean_b| <= std_a + std_b (the mean ± std intervals overlap).

    None when neither side has two or more values, since then there is no spread to judge.
    """
    if max(a.n, b.n) < 2 or min(a.n, b.n) == 0:
        return None
    return abs(a.mean - b.mean) <= a.std + b.std
