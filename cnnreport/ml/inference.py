"""Running a model on images: logits and features, and the test metrics training reports per epoch."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnnreport.ml.data import StudyData, batches

# Small evaluation batches are twice as fast on a CPU: a 128-image batch's activations
# (6 MB for conv1) are reused from the allocator and cache, while a 1000-image batch's
# 50 MB are mapped and faulted in afresh for every layer (33k vs 17k images/s, one thread).
EVAL_BATCH = 128
CUDA_EVAL_BATCH = 4096  # on a GPU small batches wait on kernel launches; 4096 images need ~0.3 GB


@torch.no_grad()
def predict(
    model: nn.Module, images: torch.Tensor, normalization: tuple[float, float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and penultimate features for unit-float images, in eval mode, on the CPU."""
    device = next(model.parameters()).device
    mean, std = normalization
    model.eval()
    logits, features = [], []
    for index in batches(len(images), eval_batch_size(device)):
        x = ((images[index] - mean) / std).to(device, memory_format=torch.channels_last)
        feats = model.features(x)  # type: ignore[operator]
        features.append(feats.cpu())
        logits.append(model.fc(feats).cpu())  # type: ignore[operator]
    return torch.cat(logits), torch.cat(features)


def eval_batch_size(device: torch.device) -> int:
    """Images per evaluation batch: 128 on a CPU (measured, see EVAL_BATCH), large on a GPU."""
    return CUDA_EVAL_BATCH if device.type == "cuda" else EVAL_BATCH


def test_metrics(model: nn.Module, data: StudyData, normalization: tuple[float, float]) -> dict[str, float]:
    """Test loss and accuracy of the model as it is now."""
    return split_metrics(model, data.test_images, data.test_labels, normalization, "test")


def split_metrics(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, normalization: tuple[float, float], split: str
) -> dict[str, float]:
    """`{split}_loss` and `{split}_accuracy` of the model as it is now (plain cross-entropy, no smoothing)."""
    logits, _ = predict(model, images, normalization)
    return {
        f"{split}_loss": float(F.cross_entropy(logits, labels)),
        f"{split}_accuracy": float((logits.argmax(1) == labels).float().mean()),
    }
