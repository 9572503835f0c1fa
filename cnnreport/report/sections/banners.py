"""The warnings the report opens with: runs too short to stand for the study, runs that are not the write-up's.

A short run (a quick run, an image limit, fewer epochs than its experiment's preset, or
training that stopped early) answers "does it work?", not "how well?"; a reader who opens
the report must learn that before reading any number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cnnreport.config import ExperimentConfig, dataset_title
from cnnreport.presets import CHOOSABLE, Recipe, matching_preset, recipe_of
from cnnreport.report.results import RunResults


def closest_recipe(config: ExperimentConfig) -> Recipe:
    """The preset whose study settings (epochs aside) are closest to `config`'s: the one it shortens or varies."""
    exact = recipe_of(config, ignoring=("epochs",))
    if exact is not None:
        return exact
    ours = config.study_settings()

    def distance(recipe: Recipe) -> int:
        theirs = recipe.config.study_settings()
        return sum(theirs[key] != ours[key] for key in theirs if key != "epochs")

    return min(CHOOSABLE.values(), key=distance)


def short_reasons(files: RunResults) -> list[str]:
    """Why a run is short, e.g. ['2 of Experiment 1's 10 epochs', 'first 3,000 training images']; empty if it is not."""
    config = files.config_or_none()
    if config is None:
        return []
    reasons = []
    recipe = closest_recipe(config)
    if config.epochs < recipe.config.epochs:
        reasons.append(f"{config.epochs} of the {recipe.config.epochs} epochs of {recipe.title}")
    done = _epochs_done(files)
    if done is not None and done < config.epochs:
        reasons.append(f"training stopped after {done} of {config.epochs} epochs")
    if config.limit is not None:
        reasons.append(f"first {config.limit:,} training images only")
    return reasons


def _epochs_done(files: RunResults) -> int | None:
    try:
        return len(files.metrics)
    except Exception:  # noqa: BLE001 - no metrics: the run's own part says so
        return None


def not_writeup_reason(files: RunResults) -> str | None:
    """Why a run is not one of the write-up's experiments; None when it is (or has no readable config)."""
    config = files.config_or_none()
    if config is None or matching_preset(config) is not None:
        return None
    if config.dataset != "mnist":
        return f"trained on {dataset_title(config.dataset)}"
    recipe = recipe_of(config)
    return f"the {recipe.title.split(':')[0].lower()}" if recipe is not None else "other settings"


def banners(runs: Sequence[RunResults], sweeps: Mapping[str, Sequence[RunResults]] | None = None) -> list[str]:
    """At most two sentences: which runs (and sweeps) are short, and which other runs are not the write-up's.

    A sweep is named once, with the reasons any of its runs is short, rather than run by run.
    """
    short = {files.run.name: short_reasons(files) for files in runs}
    for name, members in (sweeps or {}).items():
        reasons = [reason for files in members for reason in short_reasons(files)]
        short[f"sweep {name}"] = list(dict.fromkeys(reasons))
    short = {name: reasons for name, reasons in short.items() if reasons}
    texts = []
    if short:
        listed = "; ".join(f"{name} ({', '.join(reasons)})" for name, reasons in short.items())
        every = "Everything here is short" if len(short) == len(runs) + len(sweeps or {}) else "Short runs"
        texts.append(
            f"{every}: {listed}. Read their numbers as a check that everything works, not as the study's results; "
            "`cnnreport reproduce` trains the write-up's experiments in full."
        )
    others = {files.run.name: not_writeup_reason(files) for files in runs if files.run.name not in short}
    others = {name: why for name, why in others.items() if why}
    if others:
        listed = "; ".join(f"{name} ({why})" for name, why in others.items())
        texts.append(
            f"Not the write-up's experiments: {listed}. They are compared with each other, "
            "never with the write-up's figures."
        )
    return texts
