"""Run every analysis beyond the write-up for one evaluated model; evaluate_run calls `analyze`.

Returns the JSON-able fields for evaluation.json (and `evaluate --json`) and the arrays for
the run's analysis.npz. The keys of that file are listed in ARRAY_KEYS; the report reads
them through cnnreport.analysis.store.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from cnnreport.analysis import gradcam, robustness
from cnnreport.analysis.efficiency import efficiency
from cnnreport.analysis.filters import first_layer_kernels
from cnnreport.analysis.grouping import merged_summary
from cnnreport.config import ExperimentConfig
from cnnreport.data import StudyData, to_uint8
from cnnreport.train import predict

ARRAY_KEYS = (
    "robustness_examples",  # uint8 [kinds, images, strengths, 28, 28]
    "conv1_kernels",  # float32 [16, 7, 7]
    "gradcam_gallery_indices",  # int64 [G]: predictions.npz's error gallery, same order
    "gradcam_gallery_predicted",  # float16 [G, 28, 28] in [0, 1]: map for the predicted class
    "gradcam_gallery_true",  # float16 [G, 28, 28]: map for the true class
    "gradcam_correct_indices",  # int64 [C]: correctly classified test images, class by class
    "gradcam_correct_images",  # uint8 [C, 28, 28]
    "gradcam_correct",  # float16 [C, 28, 28]: map for the (correct) predicted class
)


def analyze(
    model: nn.Module,
    config: ExperimentConfig,
    state: dict[str, Any],
    data: StudyData,
    test_logits: np.ndarray,
    gallery: np.ndarray,
    dataset: str,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """All analyses for one run: (fields for evaluation.json, arrays for analysis.npz)."""
    normalization = (float(state["normalization"][0]), float(state["normalization"][1]))

    def predict_classes(images: torch.Tensor) -> np.ndarray:
        return predict(model, images, normalization)[0].argmax(1).numpy()

    attribution, side = attribution_arrays(model, data, normalization, test_logits, gallery)
    fields = {
        "dataset": dataset,
        "robustness": robustness.robustness(predict_classes, data.test_images, data.test_labels.numpy()),
        "merged_groups": merged_summary(test_logits, data.test_digits.numpy()) if config.classes == 10 else None,
        "efficiency": efficiency(model, list(state["metrics"])),
        "gradcam": {
            "layer": "conv3",
            "map_side": side,
            "gallery": len(gallery),
            "correct_per_class": gradcam.CORRECT_PER_CLASS,
        },
    }
    arrays = {
        "robustness_examples": robustness.examples(data.test_images),
        "conv1_kernels": first_layer_kernels(model),
        **attribution,
    }
    return fields, arrays


def attribution_arrays(
    model: nn.Module,
    data: StudyData,
    normalization: tuple[float, float],
    test_logits: np.ndarray,
    gallery: np.ndarray,
) -> tuple[dict[str, np.ndarray], int]:
    """Grad-CAM maps on conv3 for the error gallery and a few correct images per class; and the maps' side."""
    mean, std = normalization
    device = next(model.parameters()).device
    labels, predictions = data.test_labels.numpy(), test_logits.argmax(1)
    side = data.test_images.shape[-1]
    layer = model.get_submodule("conv3")  # the last convolution

    def maps(indices: np.ndarray, targets: np.ndarray) -> np.ndarray:
        inputs = ((data.test_images[torch.from_numpy(indices)] - mean) / std).to(device)
        raw = gradcam.grad_cam(model, layer, inputs, torch.from_numpy(targets))
        return gradcam.upsample(raw, side).astype(np.float16)

    correct = gradcam.correct_examples(predictions, labels, test_logits.shape[1])
    arrays = {
        "gradcam_gallery_indices": np.asarray(gallery, dtype=np.int64),
        "gradcam_gallery_predicted": maps(gallery, predictions[gallery]),
        "gradcam_gallery_true": maps(gallery, labels[gallery]),
        "gradcam_correct_indices": correct,
        "gradcam_correct_images": to_uint8(data.test_images[torch.from_numpy(correct)]),
        "gradcam_correct": maps(correct, labels[correct]),
    }
    # The maps' native resolution (conv3's output side), worth stating next to the overlays.
    probe = torch.zeros(1, 1, side, side, device=device)
    map_side = gradcam.grad_cam(model, layer, probe, torch.zeros(1, dtype=torch.long)).shape[-1]
    return arrays, int(map_side)
