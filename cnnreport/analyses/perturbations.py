"""The perturbations of the robustness analysis and their strengths: plain data, no torch.

The report reads this table to label saved curves, so it stays free of the code that computes them
(robustness.py).
"""

from __future__ import annotations

from dataclasses import dataclass

SEED = 1234  # shared by all runs; changing it changes every run's curves
IMAGES = 1000  # test images per strength: ~1 % resolution, 21,000 forward passes (a few seconds on 2 cores)


@dataclass(frozen=True)
class Perturbation:
    """One kind of perturbation and the strengths it is tested at (the first leaves images as they are)."""

    kind: str
    axis: str  # axis label of its curve
    strengths: tuple[float, ...]


PERTURBATIONS = (
    Perturbation("rotation", "rotation angle (degrees)", (0, 9, 18, 27, 36, 45)),
    Perturbation("translation", "translation (fraction of the side, each axis)", (0, 0.06, 0.12, 0.18, 0.24, 0.3)),
    # Darkening only: brightening saturates at 1 and barely changes a digit.
    Perturbation("brightness", "brightness factor", (1.0, 0.8, 0.6, 0.4, 0.2, 0.1)),
    Perturbation("noise", "Gaussian noise std (pixel range 0..1)", (0, 0.1, 0.2, 0.3, 0.4, 0.5)),
)
BY_KIND = {p.kind: p for p in PERTURBATIONS}
