"""Shared plumbing for the sections that compare experiments: who has results, per dataset, spreads."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cnnreport.analyses.seeds import Experiment, Spread, group_by_experiment, mean_std
from cnnreport.analyses.significance import welch
from cnnreport.report.format import verdict
from cnnreport.report.results import RunResults, hint
from cnnreport.storage.rundir import RunDir


@dataclass(frozen=True)
class Measured:
    """An experiment and the evaluation.json of each of its runs that has the needed fields."""

    experiment: Experiment
    runs: tuple[RunDir, ...]  # the experiment's runs that have the results, in order
    results: tuple[dict[str, Any], ...]  # their evaluation.json, parallel to runs

    @property
    def label(self) -> str:
        return self.experiment.label

    @property
    def seeds(self) -> tuple[int, ...]:
        seed_of = dict(zip(self.experiment.runs, self.experiment.seeds, strict=True))
        return tuple(seed_of[run] for run in self.runs)

    def spread(self, value: Callable[[dict[str, Any]], float]) -> Spread:
        """Mean ± std over seeds of one number taken from each run's results."""
        return mean_std([value(result) for result in self.results])


def measured(
    everything: Sequence[RunResults], *needed: str, accept: Callable[[dict[str, Any]], bool] = lambda _: True
) -> tuple[list[Measured], list[str]]:
    """Experiments with at least one run holding `needed` (and passing `accept`); names of runs that lack them."""
    found, lacking = [], []
    reader = {files.run: files for files in everything}
    for experiment in group_by_experiment(reader):
        runs, results = [], []
        for run in experiment.runs:
            result = reader[run].evaluation_with(*needed)
            if result is None or not accept(result):
                lacking.append(run.name)
            else:
                runs.append(run)
                results.append(result)
        if results:
            found.append(Measured(experiment, tuple(runs), tuple(results)))
    return found, lacking


def by_dataset(items: Sequence[Measured]) -> dict[str, list[Measured]]:
    """Experiments split by dataset, since accuracies on different datasets do not compare."""
    groups: dict[str, list[Measured]] = {}
    for item in items:
        groups.setdefault(item.experiment.dataset, []).append(item)
    return groups


def lacking_note(lacking: Sequence[str], what: str) -> list[str]:
    """A note naming runs left out of a comparison, with the command that fills the gap."""
    if not lacking:
        return []
    commands = "; ".join(hint("evaluate", name) for name in lacking)
    return [f"Not included (no {what} saved): {', '.join(lacking)}. Run {commands}."]


def missing_text(what: str) -> str:
    return f"{what} for any run; run {hint('evaluate', 'NAME')} for each run"


def run_names(item: Measured) -> str:
    """The runs behind an experiment's row, e.g. 'runs a, b (seeds 0, 1)'."""
    names = ", ".join(run.name for run in item.runs)
    seeds = ", ".join(str(seed) for seed in item.seeds)
    return f"{names} (seed{'s' if len(item.seeds) > 1 else ''} {seeds})"


def spread_notes(metric: str, spreads: dict[str, Spread], scale: float = 100.0, unit: str = "pp") -> list[str]:
    """One sentence per pair of experiments whose difference in `metric` Welch's test does not establish.

    With the defaults, fractions are reported in percentage points; pass scale=1, unit=""
    for a metric such as ECE. Pairs with one seed on a side are named once, together.
    """
    notes, untested = [], []
    for (name_a, a), (name_b, b) in itertools.combinations(spreads.items(), 2):
        comparison = welch(a, b)
        if comparison.established is None:
            untested.append(f"{name_a} and {name_b}")
        elif not comparison.established:
            digits = 2 if unit else 4
            notes.append(
                f"{metric}, {name_a} against {name_b}: {verdict(comparison, scale, digits, unit)}; "
                "do not read this difference as real."
            )
    if untested:
        notes.append(f"{metric}: one seed on a side, so no claim is made about {'; '.join(untested)}.")
    return notes
