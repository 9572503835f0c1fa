"""The one chart the report draws as inline SVG: every run's test accuracy per epoch, on one axis.

SVG rather than a PNG so its text stays sharp and large enough on a phone (16 units in a
560-wide view box is 10 px at 358 px), and so the inline script can add values on hover to
the same drawing; without scripts it is a complete static chart. The legend is HTML, so long
run names wrap. Every name is escaped.
"""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup

WIDTH, HEIGHT = 560, 300
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 12, 44
# matplotlib's tab10, as the report's figures colour classes; runs take them in order.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
DASHES = ("", "6 3", "2 3")  # more runs than colours: the next ten are dashed, then dotted


def colour(position: int) -> tuple[str, str]:
    """A run's line colour and dash pattern, by its position in the report."""
    return PALETTE[position % len(PALETTE)], DASHES[(position // len(PALETTE)) % len(DASHES)]


def nice_step(span: float, most: int = 6) -> float:
    """The smallest 1, 2 or 5 x 10^k step that cuts `span` into at most `most` intervals."""
    step = 10 ** math.floor(math.log10(span / most)) if span > 0 else 1.0
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= most:
            return step * factor
    return step * 10


def accuracy_points(entry: dict[str, Any]) -> list[tuple[int, float]]:
    """(epoch, test accuracy in %) where the test set was scored."""
    return [(e, a * 100) for e, a in zip(entry["epoch"], entry["test_accuracy"], strict=True) if a is not None]


def learning_chart(series: list[dict[str, Any]]) -> Markup:
    """The SVG and its legend; empty when no run has a scored epoch."""
    drawn = [(entry, accuracy_points(entry)) for entry in series]
    values = [a for _, points in drawn for _, a in points]
    if not values:
        return Markup("")
    epochs = [e for _, points in drawn for e, _ in points]
    first, last = min(epochs), max(epochs)
    e0, e1 = (first - 0.5, last + 0.5) if first == last else (first, last)
    step = nice_step(max(max(values) - min(values), 0.2))
    v0, v1 = math.floor(min(values) / step) * step, math.ceil(max(values) / step) * step
    v0, v1 = (v0 - step, v1) if v0 == v1 else (v0, v1)
    x = lambda epoch: LEFT + (epoch - e0) / (e1 - e0) * (WIDTH - LEFT - RIGHT)  # noqa: E731
    y = lambda value: HEIGHT - BOTTOM - (value - v0) / (v1 - v0) * (HEIGHT - TOP - BOTTOM)  # noqa: E731
    parts = [_axes(x, y, (first, last), (v0, v1, step))]
    for position, (_, points) in enumerate(drawn):
        parts.append(_line([(x(e), y(a)) for e, a in points], *colour(position)))
    svg = Markup(
        '<svg class="curves-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{label}" '
        'data-e0="{e0}" data-e1="{e1}" data-v0="{v0}" data-v1="{v1}" data-box="{box}">{body}</svg>'
    ).format(
        w=WIDTH, h=HEIGHT, e0=e0, e1=e1, v0=v0, v1=v1, box=f"{LEFT} {TOP} {WIDTH - RIGHT} {HEIGHT - BOTTOM}",
        label=f"Test accuracy per epoch for {len(drawn)} runs, from {min(values):.2f} % to {max(values):.2f} %.",
        body=Markup("").join(parts),
    )  # fmt: skip
    return svg + legend([entry for entry, _ in drawn])


def _axes(x: Any, y: Any, epochs: tuple[int, int], scale: tuple[float, float, float]) -> Markup:
    v0, v1, step = scale
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    marks = []
    for index in range(round((v1 - v0) / step) + 1):
        value = v0 + index * step
        marks.append(
            Markup(
                '<line class="grid" x1="{a}" x2="{b}" y1="{y}" y2="{y}"/>'
                '<text x="{t}" y="{y}" class="tick y">{v}</text>'
            ).format(a=LEFT, b=WIDTH - RIGHT, y=f"{y(value):.1f}", t=LEFT - 6, v=f"{value:.{decimals}f}")  # fmt: skip
        )
    first, last = epochs
    every = max(1, math.ceil((last - first + 1) / 10))
    for epoch in range(first, last + 1, every):
        marks.append(
            Markup('<text x="{x}" y="{y}" class="tick x">{e}</text>').format(
                x=f"{x(epoch):.1f}", y=HEIGHT - BOTTOM + 20, e=epoch
            )
        )
    marks.append(Markup('<text x="{x}" y="{y}" class="title">epoch</text>').format(x=(LEFT + WIDTH) / 2, y=HEIGHT - 4))
    marks.append(
        Markup('<text x="14" y="{y}" class="title" transform="rotate(-90 14 {y})">test accuracy (%)</text>').format(
            y=(TOP + HEIGHT - BOTTOM) / 2
        )
    )
    return Markup("").join(marks)


def _line(points: list[tuple[float, float]], stroke: str, dash: str) -> Markup:
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    dots = Markup("").join(
        Markup('<circle cx="{x}" cy="{y}" r="3" fill="{c}"/>').format(x=f"{px:.1f}", y=f"{py:.1f}", c=stroke)
        for px, py in points
    )
    return Markup(
        '<polyline points="{p}" fill="none" stroke="{c}" stroke-width="2" stroke-dasharray="{d}"/>{dots}'
    ).format(p=path, c=stroke, d=dash or "none", dots=dots)


def legend(series: list[dict[str, Any]]) -> Markup:
    items = Markup("").join(
        Markup('<li><span class="swatch" style="border-top-color:{c};border-top-style:{s}"></span>{name}</li>').format(
            c=colour(position)[0], s="dashed" if colour(position)[1] else "solid", name=entry["name"]
        )
        for position, entry in enumerate(series)
    )
    return Markup('<ul class="legend">{}</ul>').format(items)
