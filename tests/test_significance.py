"""Welch's t-test over seeds, checked against scipy and against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cnnreport.analyses.seeds import Spread, mean_std
from cnnreport.analyses.significance import ALPHA, against_value, welch

SAMPLES = [
    ([0.981, 0.975, 0.979], [0.990, 0.987, 0.992]),
    ([0.60, 0.95], [0.93, 0.94]),  # two seeds, wild spread: the "beyond the spread" example
    ([0.97, 0.98, 0.975, 0.972, 0.979], [0.971, 0.969]),
    ([0.5, 0.51], [0.49, 0.52, 0.55, 0.47]),
]


@pytest.mark.parametrize(("a", "b"), SAMPLES)
def test_p_value_and_interval_match_scipy(a: list[float], b: list[float]) -> None:
    result = welch(mean_std(a), mean_std(b))
    expected = stats.ttest_ind(a, b, equal_var=False)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    interval = expected.confidence_interval(1 - ALPHA)
    assert (result.low, result.high) == pytest.approx((interval.low, interval.high), rel=1e-9)
    assert result.difference == pytest.approx(np.mean(a) - np.mean(b))
    assert result.established is bool(expected.pvalue < ALPHA)


def test_two_wide_seeds_are_not_established_although_the_gap_exceeds_the_sum_of_stds() -> None:
    # The old rule (gap > std_a + std_b means a difference) called this one real; two seeds cannot show it.
    a, b = Spread(0.86, 0.05, 2), Spread(0.98, 0.05, 2)  # gap 0.12 > 0.05 + 0.05
    result = welch(a, b)
    assert result.established is False and 0.05 < result.p_value < 0.2


def test_one_seed_on_either_side_makes_no_claim() -> None:
    for a, b in ((Spread(0.9, 0.0, 1), Spread(0.8, 0.0, 1)), (Spread(0.9, 0.0, 1), Spread(0.8, 0.01, 3))):
        result = welch(a, b)
        assert result.established is None and result.p_value is None and result.low is None
        assert result.difference == pytest.approx(0.1) and "one seed" in result.reason
    assert welch(Spread(0.9, 0.0, 1), Spread(0.8, 0.0, 1)).reason == "one seed on each side"


def test_equal_means_give_p_one_and_an_interval_around_zero() -> None:
    result = welch(mean_std([0.97, 0.98, 0.99]), mean_std([0.975, 0.985]))
    assert result.difference == pytest.approx(0.0, abs=1e-12)
    assert result.p_value == pytest.approx(1.0) and result.established is False
    assert result.low < 0 < result.high and result.low == pytest.approx(-result.high)


def test_zero_variance_on_both_sides() -> None:
    same = welch(Spread(0.98, 0.0, 3), Spread(0.98, 0.0, 2))
    assert same.p_value == 1.0 and same.established is False and same.low == same.high == 0
    apart = welch(Spread(0.99, 0.0, 3), Spread(0.98, 0.0, 2))
    assert apart.established is True and apart.low == apart.high == pytest.approx(0.01)


def test_zero_variance_on_one_side_is_still_a_welch_test() -> None:
    a, b = [0.98, 0.98, 0.98], [0.97, 0.975, 0.972]
    expected = stats.ttest_ind(a, b, equal_var=False)
    assert welch(mean_std(a), mean_std(b)).p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_against_a_published_value_is_scipys_one_sample_test() -> None:
    ours = [0.981, 0.979, 0.984]
    expected = stats.ttest_1samp(ours, 0.9827)
    result = against_value(mean_std(ours), 0.9827)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    interval = expected.confidence_interval(1 - ALPHA)
    assert result.low == pytest.approx(interval.low - 0.9827) and result.high == pytest.approx(interval.high - 0.9827)
    assert against_value(Spread(0.99, 0.0, 1), 0.98).established is None
