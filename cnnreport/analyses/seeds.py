"""Seeds: group runs into experiments and say how far apart experiments really are.

An *experiment* is every run whose configuration is the same except for the seed (same
study settings, same dataset, same --limit). When an experiment has several seeds, a
comparison should show mean +- std, and significance.welch says whether two experiments
really differ. Typical use, e.g. for a summary table:

    for experiment in group_by_experiment(runs):
        spread = mean_std([accuracy_of(run) for run in experiment.runs])
        row = [experiment.label, format.spread(spread)]    # report/format.py writes it
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cnnreport.config import ExperimentConfig
from cnnreport.errors import CnnReportError
from cnnreport.storage.rundir import RunDir


@dataclass(frozen=True)
class Experiment:
    """Runs that share one configuration except the seed, in run-name order."""

    label: str  # experiment_name: the runs' own name, never a second one made from the options
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


def experiment_name(run_names: Sequence[str]) -> str:
    """The one name an experiment goes by everywhere: its runs' name without the seed suffix.

    `reproduce --seeds 3` names seeds mnist10, mnist10-seed1, mnist10-seed2: the experiment is
    "mnist10", as in titles and `cnnreport list`. Runs named otherwise are listed by name.
    """
    stems = list(dict.fromkeys(SEED_SUFFIX.sub("", name) for name in run_names))
    return stems[0] if len(stems) == 1 else ", ".join(run_names)


SEED_SUFFIX = re.compile(r"-seed\d+$")


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
                label=experiment_name([run.name for run, _ in members]),
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
