"""One backoff policy for the delivery jobs (domain/retry.py)."""

from __future__ import annotations

import pytest

from consentline.domain.retry import REPLY_RETRY, WEBHOOK_RETRY, Backoff


def test_replies_retry_after_5_10_20_seconds_and_never_wait_more_than_5_minutes() -> None:
    assert [REPLY_RETRY.delay_s(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
    assert REPLY_RETRY.delay_s(0) == 5.0  # a first attempt waits the first delay too


def test_webhooks_double_to_an_hour_and_spread_by_at_most_a_fifth() -> None:
    assert WEBHOOK_RETRY.delay_s(11) == 3600.0
    assert WEBHOOK_RETRY.delay_s(3, jitter=0.0) == 20.0
    assert 20.0 < WEBHOOK_RETRY.delay_s(3, jitter=0.999) < 24.0


def test_a_subscriber_down_for_months_still_gets_a_delay_not_an_overflow() -> None:
    # 2.0 ** 1100 does not fit a float: the old formula raised OverflowError here.
    assert WEBHOOK_RETRY.delay_s(5000) == 3600.0
    assert REPLY_RETRY.delay_s(10**9) == 300.0


@pytest.mark.parametrize(
    ("first", "cap", "spread"), [(0.0, 1.0, 0.0), (5.0, 1.0, 0.0), (1.0, 2.0, 1.5)]
)
def test_a_backoff_that_makes_no_sense_is_refused(first: float, cap: float, spread: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(first, cap, spread)
