"""Spike detection: median + MAD of the account's recent sends, with its guards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentline.domain.spikes import DEFAULT_RULE, SpikeRule, detect, rate

rates = st.floats(min_value=0.0, max_value=0.2, allow_nan=False)


def test_a_rate_well_above_a_steady_baseline_is_a_spike() -> None:
    verdict = detect(30, 1000, [0.001, 0.0012, 0.0009, 0.0011, 0.001, 0.0013])
    assert verdict.spike
    assert verdict.reason == "spike"
    assert verdict.threshold is not None and verdict.rate > verdict.threshold


def test_two_opt_outs_of_forty_is_no_alarm_however_high_the_rate() -> None:
    verdict = detect(2, 40, [0.0] * 10)
    assert verdict.rate == 0.05
    assert not verdict.spike
    assert verdict.reason == "too_few_opt_outs"


def test_the_minimum_count_is_inclusive() -> None:
    rule = SpikeRule(min_opt_outs=5)
    assert not detect(4, 100, [0.0] * 10, rule).spike
    assert detect(5, 100, [0.0] * 10, rule).spike


def test_an_all_equal_baseline_has_mad_zero_and_the_margin_floor_applies() -> None:
    baseline = [0.01] * 8
    # 0.011 is above the median but inside max(0.002, 0.5 x median) = 0.005.
    calm = detect(11, 1000, baseline)
    assert calm.mad == 0.0
    assert not calm.spike
    assert calm.threshold == pytest.approx(0.015)
    assert detect(16, 1000, baseline).spike


def test_a_baseline_of_zeros_still_needs_the_absolute_margin() -> None:
    assert not detect(5, 10_000, [0.0] * 10).spike  # 0.05 % < 0.2 points
    assert detect(25, 10_000, [0.0] * 10).spike  # 0.25 %


def test_too_few_earlier_sends_fall_back_to_the_absolute_rate() -> None:
    short = [0.0001] * (DEFAULT_RULE.min_baseline - 1)
    verdict = detect(10, 1000, short)  # 1 %: below the 2 % fallback
    assert verdict.median is None
    assert not verdict.spike
    assert detect(30, 1000, short).spike  # 3 %


def test_one_odd_send_in_the_baseline_does_not_raise_the_threshold_much() -> None:
    steady = [0.001] * 9
    with_outlier = [0.5, *steady]
    assert detect(20, 1000, steady).spike
    assert detect(20, 1000, with_outlier).spike  # the median ignores the 50 % send


def test_only_the_most_recent_sends_count() -> None:
    rule = SpikeRule(baseline_sends=5)
    recent_low, old_high = [0.001] * 5, [0.5] * 50
    assert detect(20, 1000, recent_low + old_high, rule).spike


def test_a_send_that_reached_nobody_is_never_a_spike() -> None:
    verdict = detect(7, 0, [0.0] * 10)
    assert not verdict.spike and verdict.reason == "no_recipients" and verdict.rate == 0.0
    assert rate(3, 0) == 0.0


@given(st.lists(rates, min_size=0, max_size=40), st.integers(0, 500), st.integers(1, 5000))
def test_fewer_opt_outs_than_the_minimum_is_never_a_spike(
    baseline: list[float], opt_outs: int, allowed: int
) -> None:
    verdict = detect(min(opt_outs, DEFAULT_RULE.min_opt_outs - 1), allowed, baseline)
    assert not verdict.spike


@given(st.lists(rates, min_size=5, max_size=40), st.integers(5, 500), st.integers(1, 5000))
def test_a_spike_is_always_above_the_baseline_median(
    baseline: list[float], opt_outs: int, allowed: int
) -> None:
    verdict = detect(opt_outs, allowed, baseline)
    if verdict.spike:
        assert verdict.median is not None and verdict.rate > verdict.median


@given(st.lists(rates, min_size=5, max_size=40), st.integers(5, 500), st.integers(1, 5000))
def test_more_opt_outs_never_turn_a_spike_into_none(
    baseline: list[float], opt_outs: int, allowed: int
) -> None:
    if detect(opt_outs, allowed, baseline).spike:
        assert detect(opt_outs + 1, allowed, baseline).spike


@given(st.floats(min_value=0.0, max_value=0.2), st.integers(5, 40))
def test_an_all_equal_baseline_never_alarms_at_its_own_rate(value: float, n: int) -> None:
    allowed = 10_000
    assert not detect(round(value * allowed), allowed, [value] * n).spike
