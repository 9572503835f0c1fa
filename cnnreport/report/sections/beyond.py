"""Sections inside one run's part beyond the write-up: calibration, robustness, filters, grouping.

Every builder returns a Section; when the run lacks the results it returns one whose
`missing` says what to run, so the report shows the gap instead of failing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnreport.config import class_names, dataset_title
from cnnreport.report.document import Section, Table
from cnnreport.report.figures import analyses as plots
from cnnreport.report.figures import embed
from cnnreport.report.figures.study import Curve, robustness_figure
from cnnreport.report.format import percent, strength
from cnnreport.report.results import RunResults, evaluate_hint
from cnnreport.report.sections.grouping import TITLE as GROUPING_STUDY
from cnnreport.report.sections.robustness import TITLE as ROBUSTNESS_STUDY

TITLES = {
    "calibration": "Calibration",
    "robustness": "Robustness to perturbed inputs",
    "filters": "Learned first-layer filters",
    "grouping": "Scored on the four groups",
}


def dataset_of(files: RunResults, result: dict[str, Any] | None) -> str:
    """The dataset a run was evaluated on (its config's when the evaluation does not say)."""
    if result and result.get("dataset"):
        return str(result["dataset"])
    config = files.config_or_none()
    return config.dataset if config else "mnist"


def missing(files: RunResults, key: str, title: str, what: str) -> Section:
    return Section(key, title, missing=f"{what}: {evaluate_hint(files.run)}")


def calibration_section(files: RunResults) -> Section:
    title = TITLES["calibration"]
    result = files.evaluation_with("ece", "nll", "reliability", "test_accuracy")
    if result is None:
        return missing(files, "calibration", title, "no calibration results")
    count = np.asarray(result["reliability"]["count"])
    confidence = float((count * np.asarray(result["reliability"]["confidence"])).sum() / max(count.sum(), 1))
    gap = confidence - result["test_accuracy"]
    rows = [
        ["test accuracy", percent(result["test_accuracy"])],
        ["mean top-label confidence", percent(confidence)],
        ["expected calibration error (15 bins)", f"{result['ece']:.4f}"],
        ["negative log-likelihood (nats per test image)", f"{result['nll']:.4f}"],
    ]
    leaning = "over-confident" if gap > 0 else "under-confident"
    return Section(
        "calibration",
        title,
        intro=f"Does a confidence of 90 % mean right 9 times in 10? Top-label reliability on the "
        f"{int(count.sum()):,} {dataset_title(dataset_of(files, result))} test images, 15 equal-width confidence bins.",
        figures=[
            embed(
                plots.reliability_figure(result["reliability"], result["ece"]),
                "Reliability diagram",
                "Bars: accuracy per confidence bin; orange: gap to the bin's mean confidence; below: images per bin.",
            )
        ],
        tables=[Table("Calibration on the test set", ["measure", "value"], rows)],
        notes=[f"On average the network is {leaning} by {abs(gap) * 100:.2f} points (mean confidence minus accuracy)."],
    )


def robustness_section(files: RunResults) -> Section:
    title = TITLES["robustness"]
    result = files.evaluation_with("robustness")
    if result is None:
        return missing(files, "robustness", title, "no robustness results")
    kinds = result["robustness"]["kinds"]
    header = ["perturbation"] + [f"level {i}" for i in range(max(len(k["strengths"]) for k in kinds.values()))]
    rows = [
        [kind, *(f"{strength(kind, s)}: {percent(a)}" for s, a in zip(k["strengths"], k["accuracy"], strict=True))]
        for kind, k in kinds.items()
    ]
    panels = {
        kind: [Curve(files.run.name, k["strengths"], np.asarray(k["accuracy"]), np.zeros(len(k["accuracy"])))]
        for kind, k in kinds.items()
    }
    axes_labels = {kind: k.get("axis", kind) for kind, k in kinds.items()}
    name = dataset_title(dataset_of(files, result))
    figure = robustness_figure(panels, axes_labels, f"{files.run.name}: accuracy on perturbed {name} test images")
    return Section(
        "robustness",
        title,
        intro=f"Test accuracy on {result['robustness']['images']:,} {name} test images, perturbed at growing strength. "
        "Every run sees the very same perturbed images (fixed seed), so runs compare image for image; "
        f"the study-wide comparison is in the section {ROBUSTNESS_STUDY!r}.",
        figures=[embed(figure, f"Robustness curves of {files.run.name}")],
        tables=[Table("Accuracy at each strength", header, rows)],
    )


def grouping_section(files: RunResults) -> Section:
    title = TITLES["grouping"]
    result = files.evaluation_with("merged_groups", "test_accuracy", "class_names")
    if result is None:
        return missing(files, "grouping", title, "no grouped scoring")
    dataset = dataset_of(files, result)
    groups = ", ".join(class_names(dataset, 4))
    section_id = "grouping"
    merged = result["merged_groups"]
    if merged is None:
        intro = f"This run is trained on the four groups ({groups}) directly; the study section {GROUPING_STUDY!r} "
        return Section(section_id, title, intro=intro + "compares it with 10-class runs scored on the same groups.")
    rows = [
        ["10 classes (as trained)", percent(result["test_accuracy"])],
        ["4 groups: argmax, then the predicted label's group", percent(merged["accuracy_argmax"])],
        ["4 groups: largest summed probability of the group's labels", percent(merged["accuracy_summed"])],
    ]
    return Section(
        section_id,
        title,
        intro=f"The 10-class predictions merged into the write-up's four groups ({groups}): what this network "
        "would score on Experiment 2's easier task without being trained on it.",
        tables=[
            Table("Test accuracy of the 10-class model on 10 classes and on 4 groups", ["scoring", "accuracy"], rows)
        ],
        notes=[f"The two merging rules disagree on {merged['disagreements']:,} of {merged['images']:,} test images."],
    )


def filters_section(files: RunResults) -> Section:
    title = TITLES["filters"]
    found = files.analysis_with("conv1_kernels")
    if found is None:
        return missing(files, "filters", title, "no saved filters")
    kernels = found["conv1_kernels"]
    side = kernels.shape[-1]
    return Section(
        "filters",
        title,
        intro=f"The {len(kernels)} {side}×{side} kernels of the first convolution, as trained on "
        f"{dataset_title(dataset_of(files, files.evaluation_with()))}; red weights add the pixel's brightness, "
        "blue ones subtract it.",
        figures=[embed(plots.filters_figure(kernels), f"The {len(kernels)} first-layer kernels of {files.run.name}")],
        notes=[f"Weights range from {kernels.min():.3f} to {kernels.max():.3f}; all kernels share one colour scale."],
    )
