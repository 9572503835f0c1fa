"""Report sections inside one run's part: calibration, robustness, Grad-CAM, filters, grouping.

Every builder returns a Section; when the run lacks the results it returns one whose
`missing` says what to run, so the report shows the gap instead of failing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnreport.analysis import plots, store
from cnnreport.analysis.robustness import BY_KIND
from cnnreport.analysis.sections_grouping import TITLE as GROUPING_STUDY
from cnnreport.analysis.sections_robustness import TITLE as ROBUSTNESS_STUDY
from cnnreport.analysis.study_plots import Curve, robustness_figure
from cnnreport.data import class_names, dataset_title
from cnnreport.runs import RunDir
from cnnreport.sections import Section, Table, embed

TITLES = {
    "calibration": "Calibration",
    "robustness": "Robustness to perturbed inputs",
    "filters": "Learned first-layer filters",
    "grouping": "Scored on the four groups",
}


def percent(value: float) -> str:
    return f"{value * 100:.2f} %"


def dataset_of(run: RunDir, result: dict[str, Any] | None) -> str:
    """The dataset a run was evaluated on (its config's when the evaluation does not say)."""
    if result and result.get("dataset"):
        return str(result["dataset"])
    config = store.config(run)
    return config.dataset if config else "mnist"


def strength_text(kind: str, strength: float) -> str:
    return BY_KIND[kind].fmt.format(strength) if kind in BY_KIND else f"{strength:g}"


def missing(run: RunDir, key: str, title: str, what: str) -> Section:
    return Section(key, title, missing=f"{what}: {store.evaluate_hint(run)}")


def calibration_section(run: RunDir) -> Section:
    title = TITLES["calibration"]
    result = store.evaluation(run, "ece", "nll", "reliability", "test_accuracy")
    if result is None:
        return missing(run, "calibration", title, "no calibration results")
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
        f"{int(count.sum()):,} {dataset_title(dataset_of(run, result))} test images, 15 equal-width confidence bins.",
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


def robustness_section(run: RunDir) -> Section:
    title = TITLES["robustness"]
    result = store.evaluation(run, "robustness")
    if result is None:
        return missing(run, "robustness", title, "no robustness results")
    kinds = result["robustness"]["kinds"]
    header = ["perturbation"] + [f"level {i}" for i in range(max(len(k["strengths"]) for k in kinds.values()))]
    rows = [
        [kind, *(f"{strength_text(kind, s)}: {percent(a)}" for s, a in zip(k["strengths"], k["accuracy"], strict=True))]
        for kind, k in kinds.items()
    ]
    panels = {
        kind: [Curve(run.name, k["strengths"], np.asarray(k["accuracy"]), np.zeros(len(k["accuracy"])))]
        for kind, k in kinds.items()
    }
    axes_labels = {kind: k.get("axis", kind) for kind, k in kinds.items()}
    name = dataset_title(dataset_of(run, result))
    figure = robustness_figure(panels, axes_labels, f"{run.name}: accuracy on perturbed {name} test images")
    return Section(
        "robustness",
        title,
        intro=f"Test accuracy on {result['robustness']['images']:,} {name} test images, perturbed at growing strength. "
        "Every run sees the very same perturbed images (fixed seed), so runs compare image for image; "
        f"the study-wide comparison is in the section {ROBUSTNESS_STUDY!r}.",
        figures=[embed(figure, f"Robustness curves of {run.name}")],
        tables=[Table("Accuracy at each strength", header, rows)],
    )


def grouping_section(run: RunDir) -> Section:
    title = TITLES["grouping"]
    result = store.evaluation(run, "merged_groups", "test_accuracy", "class_names")
    if result is None:
        return missing(run, "grouping", title, "no grouped scoring")
    dataset = dataset_of(run, result)
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


def filters_section(run: RunDir) -> Section:
    title = TITLES["filters"]
    found = store.arrays(run, "conv1_kernels")
    if found is None:
        return missing(run, "filters", title, "no saved filters")
    kernels = found["conv1_kernels"]
    side = kernels.shape[-1]
    return Section(
        "filters",
        title,
        intro=f"The {len(kernels)} {side}×{side} kernels of the first convolution, as trained on "
        f"{dataset_title(dataset_of(run, store.evaluation(run)))}; red weights add the pixel's brightness, "
        "blue ones subtract it.",
        figures=[embed(plots.filters_figure(kernels), f"The {len(kernels)} first-layer kernels of {run.name}")],
        notes=[f"Weights range from {kernels.min():.3f} to {kernels.max():.3f}; all kernels share one colour scale."],
    )
