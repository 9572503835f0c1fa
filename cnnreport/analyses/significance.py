"""Is a difference between two experiments established? Welch's t-test over their seeds.

Each experiment is summarised by the mean, sample std (ddof=1) and count of one metric over
its seeds (a seeds.Spread). Welch's test does not assume equal variances and needs only those
three numbers per side, so every comparison in the report uses it the same way:

    comparison = welch(mean_std(accuracies_a), mean_std(accuracies_b))
    comparison.established   # True (p < 0.05), False, or None when no claim can be made

No claim can be made when a side has fewer than two seeds: one value carries no estimate of
the seed-to-seed variation, so any difference may be noise. Two sides that both show no
variation at all (deterministic results) differ exactly when their means differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cnnreport.analyses.seeds import Spread

ALPHA = 0.05  # two-sided; the report states it beside every verdict
CONFIDENCE = 1 - ALPHA
MIN_SEEDS = 2  # per side; below it no variance can be estimated
ONE_SAMPLE = "one-sample t"


@dataclass(frozen=True)
class Comparison:
    """The difference a - b of two means and what Welch's test says about it.

    p_value, low and high (the 95 % confidence interval of the difference) are None when no
    test is possible; `reason` then says why.
    """

    difference: float
    n_a: int
    n_b: int
    p_value: float | None = None
    low: float | None = None
    high: float | None = None
    reason: str = ""
    test: str = "Welch"  # or "one-sample t", against a published figure

    @property
    def established(self) -> bool | None:
        """True when p < ALPHA, False when not, None when no claim can be made."""
        return None if self.p_value is None else self.p_value < ALPHA


def welch(a: Spread, b: Spread) -> Comparison:
    """Welch's two-sided t-test of mean_a - mean_b, with the 95 % confidence interval of the difference."""
    difference = a.mean - b.mean
    if min(a.n, b.n) < MIN_SEEDS:
        return Comparison(difference, a.n, b.n, reason=_too_few(a.n, b.n))
    share_a, share_b = a.std**2 / a.n, b.std**2 / b.n
    error = math.sqrt(share_a + share_b)
    if error == 0:  # every seed gave the same value on both sides
        return Comparison(difference, a.n, b.n, 1.0 if difference == 0 else 0.0, difference, difference)
    df = (share_a + share_b) ** 2 / (share_a**2 / (a.n - 1) + share_b**2 / (b.n - 1))
    return _tested(difference, error, df, a.n, b.n)


def against_value(a: Spread, value: float) -> Comparison:
    """One-sample two-sided t-test of mean_a - value, for a published figure that has no spread of its own."""
    difference = a.mean - value
    if a.n < MIN_SEEDS:
        return Comparison(difference, a.n, 1, reason="one seed", test=ONE_SAMPLE)
    error = a.std / math.sqrt(a.n)
    if error == 0:
        exact = 1.0 if difference == 0 else 0.0
        return Comparison(difference, a.n, 1, exact, difference, difference, test=ONE_SAMPLE)
    return replace(_tested(difference, error, a.n - 1, a.n, 1), test=ONE_SAMPLE)


def _tested(difference: float, error: float, df: float, n_a: int, n_b: int) -> Comparison:
    from scipy import stats  # scikit-learn's own dependency; imported only when a test runs

    p_value = float(2 * stats.t.sf(abs(difference) / error, df))
    margin = float(stats.t.ppf(1 - ALPHA / 2, df)) * error
    return Comparison(difference, n_a, n_b, p_value, difference - margin, difference + margin)


def _too_few(n_a: int, n_b: int) -> str:
    if max(n_a, n_b) < MIN_SEEDS:
        return "one seed on each side"
    return "one seed on one side"
