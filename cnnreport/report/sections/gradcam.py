"""The Grad-CAM section of one run: where the last conv layer looked, for errors and for hits."""

from __future__ import annotations

import numpy as np

from cnnreport.report.document import Figure, Section
from cnnreport.report.figures import analyses as plots
from cnnreport.report.figures import embed
from cnnreport.report.results import RunResults, evaluate_hint
from cnnreport.storage.rundir import ANALYSIS_ARRAYS

TITLE = "Grad-CAM: where the network looked"
NEEDED = tuple(key for key in ANALYSIS_ARRAYS if key.startswith("gradcam"))


def gradcam_section(files: RunResults) -> Section:
    section_id = "gradcam"
    result = files.evaluation_with("gradcam", "class_names")
    found, predicted = files.analysis_with(*NEEDED), files.predictions_or_none()
    if result is None or found is None or predicted is None:
        return Section(section_id, TITLE, missing=f"no Grad-CAM maps: {evaluate_hint(files.run)}")
    if not np.array_equal(found["gradcam_gallery_indices"], predicted["gallery_indices"]):
        return Section(
            section_id, TITLE, missing=f"Grad-CAM maps older than the predictions: {evaluate_hint(files.run)}"
        )
    names = list(result["class_names"])
    side = result["gradcam"]["map_side"]
    figures = [error_figure(found, predicted, names), correct_figure(found, predicted, names)]
    return Section(
        section_id,
        TITLE,
        intro=f"Grad-CAM on the last convolution (conv3): each of its channels is weighted by the mean gradient "
        f"of the class score, and the weighted sum, rectified, shows which places raised that score. conv3's "
        f"output is only {side}×{side}, so each map cell covers about {28 // max(side, 1)} pixels: read the maps as "
        "coarse regions, not strokes.",
        figures=[figure for figure in figures if figure is not None],
        notes=[] if len(found["gradcam_gallery_indices"]) else ["No misclassified test images: no error maps to show."],
    )


def error_figure(found: dict[str, np.ndarray], predicted: dict[str, np.ndarray], names: list[str]) -> Figure | None:
    gallery = found["gradcam_gallery_indices"]
    if len(gallery) == 0:
        return None
    labels, guesses = predicted["labels"][gallery], predicted["logits"][gallery].argmax(1)
    titles = [f"{names[t]} → {names[p]}" for t, p in zip(labels, guesses, strict=True)]
    figure = plots.gradcam_errors_figure(
        predicted["gallery_images"], found["gradcam_gallery_predicted"], found["gradcam_gallery_true"], titles
    )
    shown = min(len(gallery), plots.ERRORS_SHOWN)
    return embed(
        figure,
        "Grad-CAM maps of misclassified test images",
        f"The {shown} worst errors (true → predicted): the image, then the maps for the predicted and the true class.",
    )


def correct_figure(found: dict[str, np.ndarray], predicted: dict[str, np.ndarray], names: list[str]) -> Figure | None:
    indices = found["gradcam_correct_indices"]
    if len(indices) == 0:
        return None
    figure = plots.gradcam_correct_figure(
        found["gradcam_correct_images"], found["gradcam_correct"], predicted["labels"][indices], names
    )
    return embed(figure, "Grad-CAM maps of correctly classified test images", "Correct predictions, a few per class.")
