"""Study sections that compare experiments on calibration and on cost (efficiency)."""

from __future__ import annotations

from cnnreport.config import dataset_title
from cnnreport.report.document import Section, Table
from cnnreport.report.figures import embed
from cnnreport.report.figures.study import Point, efficiency_figure
from cnnreport.report.format import spread
from cnnreport.report.results import RunResults
from cnnreport.report.sections.measured import (
    Measured,
    by_dataset,
    lacking_note,
    measured,
    missing_text,
    run_names,
    spread_notes,
)

CALIBRATION_ID, CALIBRATION_TITLE = "calibration", "Calibration across experiments"
EFFICIENCY_ID, EFFICIENCY_TITLE = "efficiency", "Accuracy for the cost"
CALIBRATION_HEADER = ["experiment", "dataset", "runs", "test accuracy", "ECE (15 bins)", "NLL (nats)"]
EFFICIENCY_HEADER = [
    "experiment",
    "dataset",
    "runs",
    "test accuracy",  # before the costs: the column a reader compares them with stays on screen
    "parameters",
    "multiply-adds per image",
    "epochs",
    "training time",
    "seconds per epoch",
]


def accuracy_notes(items: list[Measured], metric: str = "test accuracy") -> list[str]:
    """Seed-spread notes on test accuracy, within each dataset."""
    notes = []
    for dataset, group in by_dataset(items).items():
        spreads = {item.label: item.spread(lambda r: r["test_accuracy"]) for item in group}
        notes += spread_notes(f"{dataset_title(dataset)} {metric}", spreads)
    return notes


def calibration_study_section(runs: list[RunResults]) -> Section:
    items, lacking = measured(runs, "ece", "nll", "test_accuracy")
    if not items:
        return Section(CALIBRATION_ID, CALIBRATION_TITLE, missing=missing_text("no calibration results"))
    rows = [
        [
            item.label,
            dataset_title(item.experiment.dataset),
            run_names(item),
            spread(item.spread(lambda r: r["test_accuracy"])),
            spread(item.spread(lambda r: r["ece"]), scale=1, digits=4, unit=""),
            spread(item.spread(lambda r: r["nll"]), scale=1, digits=4, unit=""),
        ]
        for item in items
    ]
    notes = []
    for dataset, group in by_dataset(items).items():
        spreads = {item.label: item.spread(lambda r: r["ece"]) for item in group}
        notes += spread_notes(f"{dataset_title(dataset)} ECE", spreads, scale=1, unit="")
    return Section(
        CALIBRATION_ID,
        CALIBRATION_TITLE,
        intro="Expected calibration error (top label, 15 bins; 0 = confidence matches accuracy) and negative "
        "log-likelihood of the test labels. Dropout and augmentation change how confident a network is, not only "
        "how often it is right; each run's reliability diagram is in its own part of the report.",
        tables=[Table("Calibration on the test set (mean ± std over seeds)", CALIBRATION_HEADER, rows)],
        notes=notes + lacking_note(lacking, "calibration results"),
    )


def efficiency_row(item: Measured) -> list[str]:
    cost = item.spread
    return [
        item.label,
        dataset_title(item.experiment.dataset),
        run_names(item),
        spread(cost(lambda r: r["test_accuracy"])),
        f"{cost(lambda r: r['efficiency']['params']).mean:,.0f}",
        f"{cost(lambda r: r['efficiency']['mult_adds']).mean:,.0f}",
        f"{cost(lambda r: r['efficiency']['epochs']).mean:g}",
        spread(cost(lambda r: r["efficiency"]["train_seconds"]), scale=1, digits=1, unit="s"),
        spread(cost(lambda r: r["efficiency"]["seconds_per_epoch"]), scale=1, digits=1, unit="s"),
    ]


def efficiency_point(item: Measured) -> Point:
    return Point(
        label=item.label,
        params=item.spread(lambda r: r["efficiency"]["params"]),
        mult_adds=item.spread(lambda r: r["efficiency"]["mult_adds"]),
        seconds=item.spread(lambda r: r["efficiency"]["train_seconds"]),
        accuracy=item.spread(lambda r: r["test_accuracy"]),
    )


def efficiency_study_section(runs: list[RunResults]) -> Section:
    items, lacking = measured(runs, "efficiency", "test_accuracy")
    if not items:
        return Section(EFFICIENCY_ID, EFFICIENCY_TITLE, missing=missing_text("no efficiency results"))
    figure = efficiency_figure([efficiency_point(item) for item in items])
    return Section(
        EFFICIENCY_ID,
        EFFICIENCY_TITLE,
        intro="What each experiment paid for its accuracy: parameters and multiply-adds for one 28×28 image "
        "(torchinfo), and wall-clock training time summed over epochs (metrics.json).",
        figures=[
            embed(
                figure,
                "Test accuracy against parameters, multiply-adds and training time",
                "Points: mean over seeds; error bars: ± std where an experiment has several seeds.",
            )
        ],
        tables=[
            Table("Cost and accuracy (mean ± std over seeds)", EFFICIENCY_HEADER, [efficiency_row(i) for i in items])
        ],
        notes=accuracy_notes(items)
        + [
            "Training times are wall-clock seconds on the machine and thread count each run used; "
            "compare them only between runs trained on the same machine."
        ]
        + lacking_note(lacking, "efficiency results"),
    )
