"""The study section 'Grouping or coarser scoring?': 4-class models against merged 10-class ones."""

from __future__ import annotations

from cnnreport.analyses.seeds import Spread
from cnnreport.analyses.significance import welch
from cnnreport.config import class_names, dataset_title
from cnnreport.report.document import Figure, Section, Table
from cnnreport.report.figures import embed
from cnnreport.report.figures.study import Bar, grouping_figure
from cnnreport.report.format import spread
from cnnreport.report.format import verdict as difference_verdict
from cnnreport.report.results import RunResults
from cnnreport.report.sections.measured import Measured, by_dataset, lacking_note, measured, missing_text, run_names

SECTION_ID = "grouping"
TITLE = "Grouping or coarser scoring?"
BAR_CAPTION = "Green: trained on the groups; blue: 10-class models merged after training. Error bars: ± std over seeds."
HEADER = ["experiment", "dataset", "runs", "trained on", "scored as", "accuracy on the 4 groups"]


def own_accuracy(item: Measured) -> Spread:
    return item.spread(lambda r: r["test_accuracy"])


def merged(item: Measured, rule: str) -> Spread:
    return item.spread(lambda r: r["merged_groups"][f"accuracy_{rule}"])


def rows_and_bars(items: list[Measured], dataset: str) -> tuple[list[list[str]], list[Bar]]:
    rows, bars = [], []
    name = dataset_title(dataset)
    for item in items:
        base = [item.label, name, run_names(item)]
        if item.experiment.config.classes == 4:
            rows.append([*base, "4 groups", "trained on the groups", spread(own_accuracy(item))])
            bars.append(Bar(f"{item.label}: trained on the groups", own_accuracy(item), True))
            continue
        for rule, words in (
            ("argmax", "10 classes, argmax then group"),
            ("summed", "10 classes, summed group probability"),
        ):
            rows.append([*base, "10 classes", words, spread(merged(item, rule))])
            bars.append(Bar(f"{item.label}: {words}", merged(item, rule), False))
    return rows, bars


def differences(four: Measured, ten: Measured) -> str:
    """Settings other than the class count in which two experiments differ, as a parenthesis."""
    a, b = four.experiment.config.study_settings(), ten.experiment.config.study_settings()
    differ = [key for key in a if key != "classes" and a[key] != b[key]]
    return f" (the two also differ in {', '.join(differ)})" if differ else ""


def verdict(four: Measured, ten: Measured) -> str:
    """Does training on the groups beat the 10-class model scored on the same groups?"""
    trained, coarse, plain = own_accuracy(four), merged(ten, "summed"), own_accuracy(ten)
    head = (
        f"{four.label} scores {spread(trained)} on the four groups; {ten.label} scores {spread(plain)} on its "
        f"10 classes and {spread(coarse)} once its probabilities are summed per group{differences(four, ten)}. "
    )
    comparison = welch(trained, coarse)
    test = f"Trained on the groups minus summed scoring: {difference_verdict(comparison)}. "
    if comparison.established is None:
        return (head + test).rstrip()
    if not comparison.established:
        return head + test + "Grouping does not measurably help."
    if comparison.difference > 0:
        return head + test + "Training on the groups helps beyond the coarser scoring."
    return (
        head
        + test
        + (
            "Training on the groups adds nothing (the merged 10-class model is ahead): "
            "the 4-class accuracy's lead over the 10-class one comes from the coarser scoring."
        )
    )


def dataset_part(dataset: str, items: list[Measured]) -> tuple[Figure, list[list[str]], list[str]]:
    rows, bars = rows_and_bars(items, dataset)
    name = dataset_title(dataset)
    drawn = grouping_figure(bars, f"{name}: accuracy on the four groups")
    figure = embed(drawn, f"Four-group accuracy on {name}", BAR_CAPTION)
    fours = [item for item in items if item.experiment.config.classes == 4]
    tens = [item for item in items if item.experiment.config.classes == 10]
    notes = [verdict(four, ten) for four in fours for ten in tens]
    if not fours:
        notes.append(f"No 4-class {name} run to compare with: train one (`cnnreport train --classes 4`).")
    if not tens:
        notes.append(f"No 10-class {name} run to compare with: train one (`cnnreport train`).")
    return figure, rows, notes


def grouping_study_section(runs: list[RunResults]) -> Section:
    items, lacking = measured(runs, "merged_groups", "test_accuracy")
    if not items:
        return Section(SECTION_ID, TITLE, missing=missing_text("no grouped scoring"))
    figures, rows, notes = [], [], []
    for dataset, group in by_dataset(items).items():
        figure, part_rows, part_notes = dataset_part(dataset, group)
        figures.append(figure)
        rows += part_rows
        notes += part_notes
    groups = "; ".join(f"{dataset_title(d)}: {', '.join(class_names(d, 4))}" for d in by_dataset(items))
    return Section(
        SECTION_ID,
        TITLE,
        intro=f"Experiment 2's four groups ({groups}) are an easier task than ten classes, so its higher accuracy "
        "mixes two effects: training on the groups, and scoring that forgives confusions inside a group. Scoring the "
        "10-class model on the same groups (its predictions merged after training) measures the second effect alone.",
        figures=figures,
        tables=[Table("Test accuracy on the four groups (mean ± std over seeds)", HEADER, rows)],
        notes=notes + lacking_note(lacking, "grouped scoring"),
    )
