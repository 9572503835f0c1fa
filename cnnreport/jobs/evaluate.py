"""Evaluate a trained run: predictions, features, metrics and every analysis, saved in the run dir.

`evaluate_run` loads the model, scores clean train and test data, and hands the logits to
the analyses; `analyze` runs those beyond the write-up and returns the JSON-able fields for
evaluation.json (and `evaluate --json`) and the arrays for analysis.npz
(storage.rundir.ANALYSIS_ARRAYS lists its keys).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnreport.analyses import calibration, gradcam, robustness
from cnnreport.analyses.anatomy import parameter_counts
from cnnreport.analyses.efficiency import efficiency
from cnnreport.analyses.filters import first_layer_kernels
from cnnreport.analyses.grouping import merged_summary
from cnnreport.analyses.metrics import accuracy, error_gallery, summarize_predictions
from cnnreport.analyses.thumbnails import thumbnail_indices
from cnnreport.config import ExperimentConfig, class_names
from cnnreport.ml.data import StudyData, load_study_data, to_uint8
from cnnreport.ml.inference import predict
from cnnreport.ml.model import load_model
from cnnreport.storage.rundir import RunDir


def evaluate_run(run: RunDir, data_dir: Path, device: str = "cpu", dataset: str | None = None) -> dict[str, Any]:
    """Evaluate the checkpoint on clean train and test data; save and return the results."""
    model, config, state = load_model(run, device)
    dataset = dataset or config.dataset
    data = load_study_data(data_dir, dataset, config.classes, config.limit, config.validation)
    normalization = (float(state["normalization"][0]), float(state["normalization"][1]))
    train_logits, _ = predict(model, data.train_images, normalization)
    test_logits, features = predict(model, data.test_images, normalization)
    names = class_names(dataset, config.classes)
    labels = data.test_labels.numpy()
    result = summarize_predictions(test_logits.numpy(), labels, names) | calibration.summary(
        test_logits.numpy(), labels
    )
    counts = parameter_counts(model)
    result |= {
        "run": run.name,
        "train_accuracy": accuracy(data.train_labels.numpy(), train_logits.argmax(1).numpy()),
        "running_train_accuracy": float(state["metrics"][-1]["train_accuracy"]),
        "epochs_trained": int(state["epoch"]),
        "params_total": counts["total"],
        "params_trainable": counts["trainable"],
        "class_names": names,
    }
    gallery = error_gallery(test_logits.numpy(), labels)
    thumbnails = thumbnail_indices(test_logits.numpy(), labels)  # what the report's explorers may show
    run.write_arrays(
        run.predictions_file,
        gallery_indices=gallery,
        gallery_images=to_uint8(data.test_images[gallery]),
        logits=test_logits.numpy(),
        features=features.numpy(),
        labels=labels,
        digits=data.test_digits.numpy(),
        thumbnail_indices=thumbnails,
        thumbnail_images=to_uint8(data.test_images[torch.from_numpy(thumbnails)]),
    )
    # Analyses beyond the write-up (robustness, grouping, Grad-CAM, filters, efficiency).
    fields, arrays = analyze(model, config, state, data, test_logits.numpy(), gallery, dataset)
    result |= fields
    run.write_arrays(run.analysis_file, **arrays)
    run.write_json(run.evaluation_file, result)
    return result


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
