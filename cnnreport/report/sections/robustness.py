"""The study-wide robustness section: every experiment's curves on the shared perturbed images."""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnreport.analyses.perturbations import PERTURBATIONS, SEED
from cnnreport.analyses.seeds import Spread, mean_std
from cnnreport.config import dataset_title
from cnnreport.report.document import Figure, Section, Table
from cnnreport.report.figures import analyses as plots
from cnnreport.report.figures import embed
from cnnreport.report.figures.study import Curve, robustness_figure
from cnnreport.report.format import spread, strength
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
from cnnreport.storage.rundir import RunDir

SECTION_ID = "robustness"
TITLE = "Robustness across experiments"
CURVES_CAPTION = "Lines: mean over seeds; bands: ± std where an experiment has several seeds; dashed: 4-class runs."
# Table columns: (kind, index into its strengths, headline); the clean column first, then the
# middle and the strongest level of each perturbation. Seed-spread notes cover the headlines.
COLUMNS = [(PERTURBATIONS[0].kind, 0, True)] + [
    (p.kind, i, i == len(p.strengths) - 1) for p in PERTURBATIONS for i in (3, len(p.strengths) - 1)
]


def current(result: dict[str, Any]) -> bool:
    """True when a run's curves use this version's strengths (older ones cannot be averaged in)."""
    kinds = result["robustness"].get("kinds", {})
    return all(p.kind in kinds and list(kinds[p.kind]["strengths"]) == list(p.strengths) for p in PERTURBATIONS)


def column_name(kind: str, index: int) -> str:
    if index == 0:
        return "clean"
    perturbation = next(p for p in PERTURBATIONS if p.kind == kind)
    return f"{kind} {strength(kind, perturbation.strengths[index])}"


def accuracies(item: Measured, kind: str) -> np.ndarray:
    """[runs, strengths] accuracies of one experiment for one perturbation kind."""
    return np.array([result["robustness"]["kinds"][kind]["accuracy"] for result in item.results], dtype=float)


def curves(items: list[Measured]) -> dict[str, list[Curve]]:
    panels: dict[str, list[Curve]] = {p.kind: [] for p in PERTURBATIONS}
    for item in items:
        for p in PERTURBATIONS:
            matrix = accuracies(item, p.kind)
            std = matrix.std(axis=0, ddof=1) if len(matrix) > 1 else np.zeros(matrix.shape[1])
            label = f"{item.label} (n={len(matrix)})" if len(matrix) > 1 else item.label
            panels[p.kind].append(
                Curve(label, p.strengths, matrix.mean(axis=0), std, item.experiment.config.classes == 4)
            )
    return panels


def spreads(item: Measured) -> list[Spread]:
    return [mean_std(accuracies(item, kind)[:, index]) for kind, index, _ in COLUMNS]


def examples_figure(items: list[Measured], dataset: str, reader: dict[RunDir, RunResults]) -> Figure | None:
    """The perturbed images themselves (identical for all runs of a dataset), from the first run that saved them."""
    for run in (run for item in items for run in item.runs):
        found = reader[run].analysis_with("robustness_examples")
        if found is not None and found["robustness_examples"].shape[0] == len(PERTURBATIONS):
            labels = [[strength(p.kind, s) for s in p.strengths] for p in PERTURBATIONS]
            figure = plots.perturbation_figure(found["robustness_examples"], labels, [p.kind for p in PERTURBATIONS])
            return embed(
                figure, f"Perturbed {dataset_title(dataset)} test images", "Two of the shared images at every strength."
            )
    return None


def dataset_part(
    dataset: str, items: list[Measured], reader: dict[RunDir, RunResults]
) -> tuple[list[Figure], list[list[str]], list[str]]:
    """Figures, table rows and spread notes for the experiments of one dataset."""
    name = dataset_title(dataset)
    axes = {p.kind: p.axis for p in PERTURBATIONS}
    drawn = robustness_figure(curves(items), axes, f"{name}: accuracy on perturbed test images")
    figures = [embed(drawn, f"Robustness curves of every {name} experiment", CURVES_CAPTION)]
    example = examples_figure(items, dataset, reader)
    figures += [example] if example is not None else []
    table = {item.label: spreads(item) for item in items}
    rows = [[item.label, name, run_names(item), *(spread(s) for s in table[item.label])] for item in items]
    notes = []
    for column, (kind, index, headline) in enumerate(COLUMNS):
        if headline:
            notes += spread_notes(f"{name}, {column_name(kind, index)}", {k: v[column] for k, v in table.items()})
    return figures, rows, notes


def robustness_study_section(runs: list[RunResults]) -> Section:
    items, lacking = measured(runs, "robustness", accept=current)
    reader = {files.run: files for files in runs}
    if not items:
        return Section(SECTION_ID, TITLE, missing=missing_text("no robustness results"))
    figures, rows, notes = [], [], []
    for dataset, group in by_dataset(items).items():
        part = dataset_part(dataset, group, reader)
        figures += part[0]
        rows += part[1]
        notes += part[2]
    header = ["experiment", "dataset", "runs", *(column_name(kind, index) for kind, index, _ in COLUMNS)]
    images = items[0].results[0]["robustness"]["images"]
    return Section(
        SECTION_ID,
        TITLE,
        intro=f"Did augmentation and dropout buy robustness? Every run is scored on the same {images:,} test images "
        f"(chosen and perturbed with the fixed seed {SEED}): rotated by up to 45°, shifted by up to 30 % of the side "
        "along each axis, darkened down to a tenth of their brightness, and with Gaussian noise. 4-class runs solve "
        "an easier task, so compare them with each other (dashed lines).",
        figures=figures,
        tables=[Table("Test accuracy at selected strengths (mean ± std over seeds)", header, rows)],
        notes=notes + lacking_note(lacking, "robustness results"),
    )
