"""The report's structure, independent of HTML: runs, sections, figures, tables, notes.

Section builders return Sections made of figures, tables and notes; the template renders
any Section the same way, so adding an analysis never means touching the template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Figure:
    """An embedded image: a data: URI, its alt text and an optional caption."""

    data_uri: str
    alt: str
    caption: str = ""
    text_px: float = 0.0  # the smallest text in the image, in the image's own pixels (0: unknown)
    readable_width: int = 0  # the narrowest display width, in CSS px, at which that text is READABLE_PX tall

    @property
    def readable_style(self) -> str:
        """A CSS variable the phone layout uses as the image's minimum width (empty when unknown)."""
        return f"--readable: {self.readable_width}px" if self.readable_width else ""


READABLE_PX = 10  # the smallest text size, in CSS px, a figure may shrink to on a phone


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


@dataclass
class RunPart:
    """Everything the template shows for one run."""

    name: str
    anchor: str
    facts: list[list[str]]
    commands: list[str]
    sections: list[Section]
    analyses: list[Section] = field(default_factory=list)
    warning: str = ""  # training that did not end normally
    waiting: list[str] = field(default_factory=list)  # commands whose files this run's parts wait for
    explore: dict[str, Any] = field(default_factory=dict)  # the explorers' data (report.explore.run_data)
