"""Figures for the report: matplotlib's object API on the Agg canvas, never pyplot.

pyplot keeps every figure in a global registry until closed; these figures are freed as soon
as `embed` has rendered them and the caller drops them, so memory stays flat over many runs.
Every figure of the report is made by `new_figure` and turned into a data URI by `embed`.
"""

from __future__ import annotations

import base64
import io
from typing import Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from cnnreport.report import document


def new_figure(width: float, height: float, layout: Literal["constrained"] | None = "constrained") -> Figure:
    """A figure drawn by the Agg canvas, whatever backend the process has configured."""
    figure = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(figure)
    return figure


def embed(figure: Figure, alt: str, caption: str = "", dpi: int = 110) -> document.Figure:
    """Render a figure to an embedded PNG; the figure is released afterwards."""
    encoded = base64.b64encode(png_bytes(figure, dpi)).decode("ascii")
    return document.Figure(f"data:image/png;base64,{encoded}", alt, caption)


def png_bytes(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (for the report, or for a tracker's image); the figure is released afterwards."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    figure.clear()  # object-API figures are freed when unreferenced; clearing drops artists now
    return buffer.getvalue()
