"""The report's opening: how each run was made, and every run side by side with the write-up.

Every value comes from the run's own files; a value that a run cannot provide yet (no
evaluation, a crashed run) shows as a dash instead of stopping the report.
"""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from cnnreport.config import ExperimentConfig
from cnnreport.presets import PRESETS, TUNED, Preset, matching_preset
from cnnreport.report.document import Table
from cnnreport.report.format import DASH, duration, percent, points
from cnnreport.report.results import RunResults
from cnnreport.system import machine_facts

SETTING_LABELS = {"classes": "classes", "augment": "augmentation", "dropout": "dropout", "batch_norm": "batch norm",
                  "epochs": "epochs", "batch_size": "batch size", "lr": "learning rate", "schedule": "schedule",
                  "label_smoothing": "label smoothing", "weight_decay": "weight decay", "widths": "widths",
                  "validation": "validation images", "ema": "weight averaging", "rotate": "rotation",
                  "shift": "shift"}  # fmt: skip


def augmentation_text(config: ExperimentConfig) -> str:
    """yes (the write-up's), the --rotate/--shift ranges, or no."""
    if config.augment:
        return "yes"
    if config.mild_augment:
        return f"rotation ±{config.rotate:g}°, shift ±{100 * config.shift:g} %"
    return "no"


def attempt(value: Callable[[], str]) -> str:
    """The value, or a dash when the run lacks the file or field it comes from."""
    try:
        return value()
    except Exception:  # noqa: BLE001 - a missing piece is shown as a dash, never fatal
        return DASH


def timestamp(path: Path) -> str:
    try:
        moment = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    except OSError:
        return DASH
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def environment_rows() -> tuple[list[list[str]], list[list[str]]]:
    """The machine building the report and the library versions it uses."""
    import jinja2
    import numpy

    facts = machine_facts()
    machine = [
        ["Host", facts["host"]],
        ["Platform", facts["platform"]],
        ["CPU", f"{facts['processor']} ({facts['cores']} cores)"],
        ["GPU", facts["gpu"] or "none"],
        ["Python", facts["python"]],
    ]
    versions = {**facts["versions"], "numpy": numpy.__version__, "jinja2": jinja2.__version__}
    return machine, [[name, version] for name, version in versions.items()]


def explicit_commands(name: str, config: ExperimentConfig) -> list[str]:
    """Every training option spelled out, so the run repeats exactly whatever the defaults become."""
    train = ["cnnreport", "train", *itertools.chain(*config.options().values()), "--name", name]
    return [shlex.join(train), *(shlex.join(["cnnreport", step, name]) for step in ("evaluate", "inspect"))]


def commands_for(files: RunResults) -> list[str]:
    try:
        return explicit_commands(files.run.name, files.config)
    except Exception:  # noqa: BLE001 - without a readable config there is nothing to repeat
        return []


def match_text(config: ExperimentConfig) -> str:
    """Why a run does or does not re-run one of the write-up's experiments, from its config."""
    preset = matching_preset(config)
    if preset is not None:
        return f"{preset.title}: same {', '.join(SETTING_LABELS.values())}; full MNIST (seed {config.seed})"
    if config.dataset != "mnist":
        return f"none: dataset {config.dataset}, the write-up used MNIST"
    if config.limit is not None:
        return f"none: a quick run on the first {config.limit:,} training images only (--limit, reproduce --quick)"
    if config.replace(seed=0) == TUNED.config:
        return f"none: {TUNED.title} (the tuned preset, not one of the write-up's experiments)"
    closest = min(PRESETS.values(), key=lambda p: len(_differences(p, config)))
    return f"none: closest is {closest.title}, which differs in {', '.join(_differences(closest, config))}"


def _differences(preset: Preset, config: ExperimentConfig) -> list[str]:
    theirs, ours = preset.config.study_settings(), config.study_settings()
    return [f"{SETTING_LABELS[k]} ({theirs[k]} vs ours {ours[k]})" for k in SETTING_LABELS if theirs[k] != ours[k]]


def status_warning(files: RunResults) -> str:
    """A line for runs whose training did not end normally; empty for finished runs."""
    status = files.status
    state, error = status.get("status"), status.get("error", "")
    return {
        "finished": "",
        "failed": f"Training failed{': ' + error if error else ''}. What it saved before failing is shown.",
        "interrupted": f"Training was interrupted; resume with `cnnreport train ... --name {files.run.name} --resume`.",
        "running": "Still training: this shows the last saved epoch.",
        "missing": "No run.json: training never started properly.",
    }.get(str(state), f"Run status is {state}{': ' + error if error else ''}.")


def run_facts(files: RunResults) -> list[list[str]]:
    """Status, device, when, and the recorded command of one run."""
    run, status = files.run, files.status
    state = str(status.get("status", DASH)) + (f": {status['error']}" if status.get("error") else "")
    return [
        ["Status", state],
        ["Device", str(status.get("device", DASH))],
        ["Started", timestamp(run.config_file)],
        ["Last status update", timestamp(run.status_file)],
        ["Write-up experiment", attempt(lambda: match_text(files.config))],
        ["Recorded command", attempt(lambda: run.read_command() or DASH)],
        ["Folder", str(run.path)],
    ]


def summary_table(parts: list[RunResults]) -> Table:
    """All runs side by side: one column per run, one row per property."""
    rows = [[label, *(_cell(value, files) for files in parts)] for label, value in SUMMARY_ROWS]
    return Table("All runs side by side", ["", *(files.run.name for files in parts)], rows)


def _cell(value: Callable[[RunResults], str], files: RunResults) -> str:
    return attempt(lambda: value(files))


def _reported(files: RunResults) -> Preset:
    preset = matching_preset(files.config)
    if preset is None:
        raise LookupError("not a write-up experiment")
    return preset


def _running_train(files: RunResults) -> float:
    return float(files.metrics[-1]["train_accuracy"])


def _test(files: RunResults) -> float:
    return float(files.evaluation["test_accuracy"])


def _epochs(files: RunResults) -> str:
    done, planned = len(files.metrics), files.config.epochs
    return str(done) if done == planned else f"{done} of {planned}"


SUMMARY_ROWS: list[tuple[str, Callable[[RunResults], str]]] = [
    ("Write-up experiment", lambda f: p.title if (p := matching_preset(f.config)) else "none"),
    ("Classes", lambda f: str(f.config.classes)),
    ("Augmentation", lambda f: augmentation_text(f.config)),
    ("Dropout", lambda f: f"{f.config.dropout:g}" if f.config.dropout else "none"),
    ("Batch norm", lambda f: "yes" if f.config.batch_norm else "no"),
    ("Epochs", _epochs),
    ("Parameters", lambda f: f"{f.evaluation['params_total']:,}"),
    ("Running train accuracy", lambda f: percent(_running_train(f))),
    ("Clean train accuracy", lambda f: percent(f.evaluation["train_accuracy"])),
    ("Test accuracy", lambda f: percent(_test(f))),
    ("Write-up train accuracy", lambda f: percent(_reported(f).reported_train_accuracy)),
    ("Ours − write-up (train)", lambda f: points(_running_train(f) - _reported(f).reported_train_accuracy)),
    ("Write-up test accuracy", lambda f: percent(_reported(f).reported_test_accuracy)),
    ("Ours − write-up (test)", lambda f: points(_test(f) - _reported(f).reported_test_accuracy)),
    ("Training time", lambda f: duration(sum(float(row["seconds"]) for row in f.metrics))),
    ("Device", lambda f: str(f.status["device"])),
    ("Status", lambda f: str(f.status["status"])),
]
