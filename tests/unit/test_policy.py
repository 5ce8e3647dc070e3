"""Enforcement models, TTLs and quiet hours (docs/model.md, "The decision" 4-5; C24, C26)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from consentline.domain.errors import InvalidConfig, InvalidTime
from consentline.domain.ledger import IN, NONE, OUT, PENDING
from consentline.domain.policy import (
    PurposeRule,
    QuietHours,
    TenantPolicy,
    check_model,
    decide_state,
    quiet_now,
)

HOUR = 3_600_000_000
MARKETING = PurposeRule("marketing", "restrictive")
RECEIPTS = PurposeRule("transactional", "non_restrictive")


@pytest.mark.parametrize(
    ("state", "rule", "expected"),
    [
        (OUT, MARKETING, (False, "opted_out")),
        (OUT, RECEIPTS, (False, "opted_out")),
        (IN, MARKETING, (True, "opted_in")),
        (IN, RECEIPTS, (True, "opted_in")),
        (NONE, MARKETING, (False, "no_consent")),
        (NONE, RECEIPTS, (True, "not_opted_out")),
        (PENDING, MARKETING, (False, "pending_confirmation")),
        (PENDING, RECEIPTS, (True, "not_opted_out")),
    ],
)
def test_state_and_model_give_the_decision(state: str, rule: PurposeRule, expected: tuple) -> None:
    assert decide_state(state, 0, rule, TenantPolicy(), at_us=HOUR) == expected


def test_consent_older_than_the_tenant_ttl_is_expired_for_restrictive_sends() -> None:  # C26
    policy = TenantPolicy(consent_ttl=timedelta(days=365))
    day = 24 * HOUR
    assert decide_state(IN, 0, MARKETING, policy, at_us=364 * day) == (True, "opted_in")
    assert decide_state(IN, 0, MARKETING, policy, at_us=365 * day) == (False, "consent_expired")
    assert decide_state(IN, 0, RECEIPTS, policy, at_us=400 * day) == (True, "not_opted_out")


def test_a_purpose_ttl_overrides_the_tenant_ttl() -> None:
    rule = PurposeRule("marketing", "restrictive", consent_ttl=timedelta(hours=1))
    assert decide_state(IN, 0, rule, TenantPolicy(), at_us=2 * HOUR)[1] == "consent_expired"


def test_a_pending_request_dies_after_the_pending_ttl() -> None:  # C24
    policy = TenantPolicy(pending_ttl=timedelta(hours=2))
    assert decide_state(PENDING, 0, MARKETING, policy, at_us=HOUR)[1] == "pending_confirmation"
    assert decide_state(PENDING, 0, MARKETING, policy, at_us=2 * HOUR)[1] == "no_consent"


def test_quiet_hours_wrap_past_midnight() -> None:
    window = QuietHours.parse("21:00-08:00")
    assert window.contains(time(23, 30)) and window.contains(time(7, 59))
    assert not window.contains(time(8, 0)) and not window.contains(time(20, 59))
    assert str(window) == "21:00-08:00"


def test_quiet_hours_in_any_possible_zone_forbid_the_send() -> None:
    window = QuietHours.parse("21:00-08:00")
    # 13:30 UTC on 2 March = 08:30 in New York (EST) but 05:30 in Los Angeles.
    at = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)
    assert not quiet_now(window, ("America/New_York",), at)
    assert quiet_now(window, ("America/Los_Angeles",), at)
    assert quiet_now(window, ("America/New_York", "America/Los_Angeles"), at)


def test_bad_windows_and_models_are_typed_errors() -> None:
    with pytest.raises(InvalidTime):
        QuietHours.parse("nine till five")
    with pytest.raises(InvalidTime):
        QuietHours.parse("09:00-09:00")
    with pytest.raises(InvalidConfig):
        check_model("strict")
