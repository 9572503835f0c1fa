"""The study section 'How far the same budget goes': the tuned recipe beside the write-up, and its ablation.

Reads only finished runs (config.json, run.json, metrics.json): each run's accuracy is its
last epoch's test accuracy, as training recorded it, so no `evaluate` is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnreport.ablation import Ingredient, parameter_count, used_ingredients, without
from cnnreport.analyses.seeds import Experiment, Spread, group_by_experiment, mean_std
from cnnreport.analyses.significance import welch
from cnnreport.config import ExperimentConfig
from cnnreport.errors import CnnReportError
from cnnreport.presets import PRESETS, TUNED
from cnnreport.report.document import Section, Table
from cnnreport.report.format import DASH, RULE, points, spread
from cnnreport.report.format import verdict as difference_verdict
from cnnreport.report.results import RunResults

SECTION_ID = "budget"
TITLE = "How far the same budget goes"
WITH_TUNED = "`cnnreport reproduce --with-tuned --seeds 3`"
WITH_ABLATION = "`cnnreport reproduce --ablation --seeds 3`"
COMPARISON_HEADER = ["experiment", "runs", "parameters", "epochs", "test accuracy", "vs tuned"]
NO_TUNED = "No finished full-MNIST run of the tuned recipe is here (`cnnreport train --preset tuned`)."
ABLATION_HEADER = ["put back", "runs", "parameters", "test accuracy", "vs tuned", "against tuned (Welch's t-test)"]


@dataclass(frozen=True)
class Finished:
    """An experiment's finished runs and their last-epoch test accuracy over seeds."""

    experiment: Experiment
    names: tuple[str, ...]
    accuracy: Spread

    @property
    def runs_text(self) -> str:
        return ", ".join(self.names)


def finished_accuracy(files: RunResults) -> float | None:
    """The test accuracy after the last planned epoch of a finished run; None for any other run."""
    try:
        done = files.status.get("status") == "finished" and len(files.metrics) == files.config.epochs
        value = files.metrics[-1]["test_accuracy"] if done else None
    except (CnnReportError, IndexError, KeyError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def finished_experiments(runs: list[RunResults]) -> dict[ExperimentConfig, Finished]:
    """Full-MNIST experiments without a validation split, by their config at seed 0."""
    reader = {files.run: files for files in runs}
    found = {}
    for experiment in group_by_experiment(reader):
        config = experiment.config
        if config.dataset != "mnist" or config.limit is not None or config.validation:
            continue
        read = [(run.name, finished_accuracy(reader[run])) for run in experiment.runs]
        scored = [(name, value) for name, value in read if value is not None]
        if scored:
            accuracy = mean_std([value for _, value in scored])
            found[config.replace(seed=0)] = Finished(experiment, tuple(name for name, _ in scored), accuracy)
    return found


def difference(item: Finished, tuned: Finished | None) -> str:
    """In points; a dash for the tuned recipe itself, or with no tuned run to compare with."""
    if tuned is None or item is tuned:
        return DASH
    return points(item.accuracy.mean - tuned.accuracy.mean)


def comparison_rows(found: dict[ExperimentConfig, Finished], tuned: Finished | None) -> list[list[str]]:
    """The write-up's experiments in its order, then the tuned recipe."""
    rows = []
    for title, config in [(p.title, p.config) for p in PRESETS.values()] + [(TUNED.title, TUNED.config)]:
        item = found.get(config)
        if item is not None:
            rows.append([
                title, item.runs_text, f"{parameter_count(config):,}", str(config.epochs),
                spread(item.accuracy), difference(item, tuned),
            ])  # fmt: skip
    return rows


def spread_verdict(item: Finished, tuned: Finished | None) -> str:
    if tuned is None:
        return DASH
    return difference_verdict(welch(item.accuracy, tuned.accuracy))


def ablation_row(ingredient: Ingredient, found: dict[ExperimentConfig, Finished], tuned: Finished | None) -> list[str]:
    config = without(ingredient)
    item = found.get(config)
    if item is None:
        return [ingredient.title, f"missing: run {WITH_ABLATION}", f"{parameter_count(config):,}", DASH, DASH, DASH]
    return [
        ingredient.title, item.runs_text, f"{parameter_count(config):,}", spread(item.accuracy),
        difference(item, tuned), spread_verdict(item, tuned),
    ]  # fmt: skip


def budget_section(runs: list[RunResults]) -> Section:
    """The tuned recipe (mean ± std over seeds) beside the write-up's experiments, and its ablation."""
    found = finished_experiments(runs)
    tuned = found.get(TUNED.config)
    ingredients = used_ingredients()
    ablated = [i for i in ingredients if without(i) in found]
    if tuned is None and not ablated:
        # A note, not a `missing` mark, like the write-up comparison's: a report of the write-up's
        # five experiments is complete without the tuned recipe, which is not one of them.
        return Section(
            SECTION_ID, TITLE, notes=[f"{NO_TUNED} {WITH_TUNED} trains it, then {WITH_ABLATION} its ablation."]
        )
    notes = [] if tuned is not None else [f"{NO_TUNED} Run {WITH_TUNED}."]
    if len(ablated) < len(ingredients):
        notes.append(f"Ablation runs are missing for some ingredients; {WITH_ABLATION} trains them.")
    return Section(
        SECTION_ID,
        TITLE,
        intro="The tuned recipe keeps the write-up's network family, under 5,000 parameters and at most 15 "
        "epochs, and trains it with a better recipe. Below it, the recipe with one ingredient at a time put back "
        "to the write-up's value, so each row shows what that ingredient is worth; where the difference is "
        "not established, do not read it as real. Accuracies are the last epoch's test accuracy "
        "of finished full-MNIST runs, mean ± std over seeds; differences are in percentage points. " + RULE,
        tables=[
            Table("The write-up's experiments and the tuned recipe", COMPARISON_HEADER, comparison_rows(found, tuned)),
            Table(
                "Ablation: the tuned recipe with one ingredient put back",
                ABLATION_HEADER,
                [ablation_row(ingredient, found, tuned) for ingredient in ingredients],
            ),
        ],
        notes=notes,
    )
