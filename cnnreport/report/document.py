"""Report building blocks shared by every producer of report content.

A producer (the core report, the analyses beyond the write-up) returns Sections made
of figures, tables and notes; the template renders any Section the same way, so adding
an analysis never means touching the template.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

from matplotlib.figure import Figure as MplFigure


@dataclass(frozen=True)
class Figure:
    """An embedded image: a data: URI, its alt text and an optional caption."""

    data_uri: str
    alt: str
    caption: str = ""


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class Section:
    """One titled part of the report; `missing` names what is absent when it cannot be shown."""

    id: str
    title: str
    intro: str = ""
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: str | None = None


def embed(figure: MplFigure, alt: str, caption: str = "", dpi: int = 110) -> Figure:
    """Render a matplotlib figure to an embedded PNG; the figure is released afterwards."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    figure.clear()  # object-API figures are freed when unreferenced; clearing drops artists now
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Figure(f"data:image/png;base64,{encoded}", alt, caption)
