"""Figures for the report: matplotlib's object API on the Agg canvas, never pyplot.

pyplot keeps every figure in a global registry until closed; these figures are freed as soon
as `embed` has rendered them and the caller drops them, so memory stays flat over many runs.
Every figure of the report is made by `new_figure` and turned into a data URI by `embed`.
"""

from __future__ import annotations

import base64
import io
import math
import struct
from typing import Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from cnnreport.report import document


def new_figure(width: float, height: float, layout: Literal["constrained"] | None = "constrained") -> Figure:
    """A figure drawn by the Agg canvas, whatever backend the process has configured."""
    figure = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(figure)
    return figure


def embed(figure: Figure, alt: str, caption: str = "", dpi: int = 110) -> document.Figure:
    """Render a figure to an embedded PNG; the figure is released afterwards.

    The smallest text drawn (in the PNG's pixels) and the PNG's width give the narrowest width
    the image may be shown at with every text still document.READABLE_PX tall: the phone layout
    keeps images at least that wide and lets them scroll sideways instead of shrinking further.
    """
    text_px = smallest_text_points(figure) * dpi / 72
    png = png_bytes(figure, dpi)
    encoded = base64.b64encode(png).decode("ascii")
    readable = math.ceil(png_width(png) * document.READABLE_PX / text_px) if text_px else 0
    return document.Figure(f"data:image/png;base64,{encoded}", alt, caption, round(text_px, 2), readable)


def png_bytes(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (for the report, or for a tracker's image); the figure is released afterwards."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    figure.clear()  # object-API figures are freed when unreferenced; clearing drops artists now
    return buffer.getvalue()


def smallest_text_points(figure: Figure) -> float:
    """The font size, in points, of the smallest visible text in the figure (0 when it holds none)."""
    sizes = [
        float(text.get_fontsize())
        for text in figure.findobj(Text)
        if isinstance(text, Text) and text.get_visible() and text.get_text().strip()
    ]
    return min(sizes, default=0.0)


def png_width(png: bytes) -> int:
    """A PNG's width in pixels, from its IHDR chunk (bytes 16-19, big-endian)."""
    return int(struct.unpack(">I", png[16:20])[0])
