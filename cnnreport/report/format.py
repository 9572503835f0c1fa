"""How the report writes numbers and prose: one module, also registered as the templates' Jinja filters.

Percentages are written one way everywhere, "98.27 %" (a space before the unit, as for pp,
s and MB); differences of two accuracies in signed percentage points, "+0.12 pp".
"""

from __future__ import annotations

import re
from collections.abc import Callable

import jinja2
from markupsafe import Markup

from cnnreport.analyses.seeds import Spread
from cnnreport.analyses.significance import ALPHA, ONE_SAMPLE, Comparison

DASH = "—"  # a value a run cannot provide (yet)
NOT_AVAILABLE = "n/a"  # a mean over no values
_VALUE = r"[−+-]?[\d,]*\.?\d+"
# A number with its unit, a duration, or a mean ± std over seeds ('99.23 ± 0.03 % (n=3)').
NUMBER = re.compile(rf"^{_VALUE}\s*(%|pp|s|MB)?$|^\d+ min \d+ s$|^{_VALUE} ± {_VALUE}\s*(%|pp|s)? \(n=\d+\)$")


def percent(fraction: float, digits: int = 2) -> str:
    """A fraction as a percentage: 0.98273 -> '98.27 %'."""
    return f"{fraction * 100:.{digits}f} %"


def points(difference: float) -> str:
    """A difference of two accuracies in percentage points, signed: '+0.12 pp'."""
    return f"{difference * 100:+.2f} pp"


def duration(seconds: float) -> str:
    """'2 min 05 s', or '4.2 s' under a minute."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{seconds:.1f} s"


def spread(value: Spread, scale: float = 100.0, digits: int = 2, unit: str = "%") -> str:
    """'98.27 %' for one value, '98.27 ± 0.12 % (n=3)' for several, 'n/a' for none."""
    if value.n == 0:
        return NOT_AVAILABLE
    suffix = unit and " " + unit
    if value.n == 1:
        return f"{value.mean * scale:.{digits}f}{suffix}"
    return f"{value.mean * scale:.{digits}f} ± {value.std * scale:.{digits}f}{suffix} (n={value.n})"


def p_value(value: float) -> str:
    """'p = 0.31', 'p = 0.012', 'p < 0.001'."""
    return "p < 0.001" if value < 0.001 else f"p = {value:.2g}"


def verdict(comparison: Comparison, scale: float = 100.0, digits: int = 2, unit: str = "pp") -> str:
    """A difference and whether Welch's test over seeds establishes it, in one phrase.

    '+1.20 pp, established (Welch p = 0.012; 95 % CI +0.40 to +2.00 pp; n = 3 vs 3)';
    '+0.30 pp, not established (...)'; '+0.30 pp; one seed on each side: no claim can be made'.
    """
    suffix = unit and " " + unit

    def signed(value: float) -> str:
        return f"{value * scale:+.{digits}f}"

    gap = signed(comparison.difference) + suffix
    if comparison.p_value is None or comparison.low is None or comparison.high is None:
        return f"{gap}; {comparison.reason}: no claim can be made"
    word = "established" if comparison.established else "not established"
    interval = f"{100 * (1 - ALPHA):g} % CI {signed(comparison.low)} to {signed(comparison.high)}{suffix}"
    sides = f"n = {comparison.n_a}" if comparison.test == ONE_SAMPLE else f"n = {comparison.n_a} vs {comparison.n_b}"
    return f"{gap}, {word} ({comparison.test} {p_value(comparison.p_value)}; {interval}; {sides})"


RULE = (
    f"A difference is called established when Welch's two-sided t-test over the seeds of the two sides gives "
    f"p < {ALPHA:g}; the {100 * (1 - ALPHA):g} % confidence interval of the difference and the number of seeds "
    "per side (n) are shown with it. With one seed on a side there is no estimate of the seed-to-seed variation, "
    "so no claim is made."
)


STRENGTHS: dict[str, Callable[[float], str]] = {
    "rotation": lambda degrees: f"{degrees:g}°",
    "translation": lambda fraction: percent(fraction, 0),
    "brightness": lambda factor: f"×{factor:g}",
    "noise": lambda sigma: f"σ={sigma:g}",
}


def strength(kind: str, value: float) -> str:
    """One perturbation strength as tables and figures label it: '18°', '12 %', '×0.4', 'σ=0.2'."""
    return STRENGTHS[kind](value) if kind in STRENGTHS else f"{value:g}"


def is_numeric(text: object) -> bool:
    """Whether a table cell is a number."""
    return bool(NUMBER.match(str(text).strip()))


def numeric_columns(rows: list[list[str]]) -> set[int]:
    """The columns the template aligns right: every value a number, or a dash or n/a standing for one."""
    columns = set()
    for index in range(max(map(len, rows), default=0)):
        values = [row[index] for row in rows if index < len(row) and row[index] not in (DASH, NOT_AVAILABLE)]
        if values and all(map(is_numeric, values)):
            columns.add(index)
    return columns


LONGEST_WHOLE_WORD = 30  # characters; a longer word may still wrap, or it would not fit a phone


def prose(text: object) -> Markup:
    """A sentence the report wrote, escaped: hyphenated words kept whole, and `...` shown as code."""
    pieces = re.split(r"`([^`]*)`", str(text))  # odd indexes: what stood between backquotes
    return Markup("").join(
        Markup("<code>{}</code>").format(whole_words(piece)) if index % 2 else whole_words(piece)
        for index, piece in enumerate(pieces)
    )


def whole_words(text: object) -> Markup:
    """Escaped text, verbatim (a recorded command), in which a line does not break inside a word.

    Browsers may wrap after any hyphen, which splits "--seeds" into "-" and "-seeds" at a line
    end, so each word that holds one is kept whole (CSS class "word"); lines still break between
    words.
    """
    return Markup("").join(
        Markup('<span class="word">{}</span>').format(word)
        if "-" in word and len(word) <= LONGEST_WHOLE_WORD
        else Markup.escape(word)
        for word in re.split(r"(\s+)", str(text))
        if word
    )


def register(environment: jinja2.Environment) -> None:
    """Make these the templates' filters and the `numeric` test.

    A cell that is a number is aligned right wherever it stands; `numeric_columns` also aligns
    the header, and the dashes, of a column of numbers.
    """
    environment.filters.update(
        percent=percent, points=points, duration=duration, prose=prose, whole_words=whole_words,
        numeric_columns=numeric_columns,
    )  # fmt: skip
    environment.tests["numeric"] = is_numeric
