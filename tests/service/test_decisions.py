"""Fold and decision edge cases through the public API, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consentline import Consentline, UnknownPurpose
from tests.conftest import Clock, worked_setup


def test_disabled_purpose_is_never_checked_but_says_so(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.set_purpose("t", "fraud_alert", "disabled")
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    d = cl.check(w.x, from_=w.L1, purpose="fraud_alert")
    assert (d.allowed, d.reason) == (True, "enforcement_disabled")


def test_a_marketing_only_opt_out_leaves_transactional_sends_allowed(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_out", account="t", purpose="marketing", source="keyword")
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "opted_out"
    assert cl.check(w.x, from_=w.L1, purpose="transactional").reason == "not_opted_out"


def test_a_topic_opt_out_leaves_the_other_topics_opted_in(cl: Consentline) -> None:
    w = worked_setup(cl)
    for topic in ("volunteer", "events"):
        cl.record(w.x, "opt_in", account="a", purpose="marketing", topic=topic, source="keyword")
    cl.record(w.x, "opt_out", via=w.L1, topic="volunteer", source="keyword")
    assert cl.check(w.x, from_=w.L1, purpose="marketing", topic="volunteer").reason == "opted_out"
    assert cl.check(w.x, from_=w.L1, purpose="marketing", topic="events").reason == "opted_in"


def test_opt_outs_do_not_enter_an_isolated_account_from_above(cl: Consentline) -> None:
    w = worked_setup(cl, b_isolated=True)
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    cl.record(w.x, "opt_in", account="a", purpose="marketing", source="web_form")
    assert cl.check(w.x, from_=w.L3, purpose="transactional").reason == "not_opted_out"
    # ... and opt-ins given above do not reach inside it either.
    assert cl.check(w.x, from_=w.L3, purpose="marketing").reason == "no_consent"


def test_an_opt_out_never_crosses_tenants(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.create_account("other", default_region="US")
    cl.add_line("+18005550199", account="other")
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    assert cl.check(w.x, from_="+18005550199", purpose="transactional").allowed


def test_consent_expires_after_the_tenant_ttl(cl: Consentline, clock: Clock) -> None:  # C26
    w = worked_setup(cl)
    cl.set_policy("t", consent_ttl=timedelta(days=30))
    cl.record(w.x, "opt_in", account="a", purpose="marketing", source="web_form")
    clock.advance(days=29)
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "opted_in"
    clock.advance(days=2)
    d = cl.check(w.x, from_=w.L1, purpose="marketing")
    assert (d.allowed, d.reason) == (False, "consent_expired")
    assert cl.check(w.x, from_=w.L1, purpose="transactional").allowed
    many = list(cl.check_many([w.x], from_=w.L1, purpose="marketing"))
    assert many[0].reason == "consent_expired"


def test_a_fresh_opt_in_renews_expired_consent(cl: Consentline, clock: Clock) -> None:
    w = worked_setup(cl)
    cl.set_policy("t", consent_ttl=timedelta(days=30))
    cl.record(w.x, "opt_in", account="a", purpose="marketing", source="web_form")
    clock.advance(days=40)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", source="web_form")
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "opted_in"


def test_pending_double_opt_in_denies_until_confirmed_and_dies_after_ttl(
    cl: Consentline, clock: Clock
) -> None:  # C24
    w = worked_setup(cl)
    cl.set_policy("t", pending_ttl=timedelta(hours=24))
    cl.record(w.x, "pending", account="a", purpose="marketing", source="web_form")
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "pending_confirmation"
    clock.advance(hours=25)
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "no_consent"


def test_quiet_hours_apply_in_the_recipients_local_time(cl: Consentline, clock: Clock) -> None:
    w = worked_setup(cl)
    cl.set_purpose("t", "marketing", "restrictive", quiet_hours="21:00-08:00")
    la, ny = "+14155550123", "+12125550123"
    for number in (la, ny):
        cl.record(number, "opt_in", account="a", purpose="marketing", source="web_form")
    clock.now = datetime(2026, 3, 2, 13, 30, tzinfo=UTC)  # 08:30 New York, 05:30 Los Angeles
    assert cl.check(ny, from_=w.L1, purpose="marketing").reason == "opted_in"
    d = cl.check(la, from_=w.L1, purpose="marketing")
    assert (d.allowed, d.reason) == (False, "quiet_hours")
    assert d.event is not None and d.event.action == "opt_in"  # still cites the consent
    assert [r.reason for r in cl.check_many([ny, la], from_=w.L1, purpose="marketing")] == [
        "opted_in",
        "quiet_hours",
    ]


def test_a_number_with_several_zones_waits_until_every_zone_is_awake(
    cl: Consentline, clock: Clock
) -> None:
    w = worked_setup(cl)
    cl.set_purpose("t", "informational", "non_restrictive", quiet_hours="21:00-08:00")
    au = "+61412345678"  # Australian mobile: Perth (UTC+8) .. Lord Howe (UTC+11)
    # 22:30 UTC on 1 March = 09:30 Sydney (UTC+11 in summer) but 06:30 Perth.
    clock.now = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)
    assert cl.check(au, from_=w.L1, purpose="informational").reason == "quiet_hours"
    # 02:00 UTC = 13:00 Sydney, 10:00 Perth: awake everywhere.
    clock.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert cl.check(au, from_=w.L1, purpose="informational").reason == "not_opted_out"


def test_a_backdated_import_never_resubscribes_a_later_opt_out(
    cl: Consentline, clock: Clock
) -> None:  # C25
    w = worked_setup(cl)
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    cl.record(
        w.x,
        "opt_in",
        account="a",
        purpose="marketing",
        source="import",
        occurred_at=clock.now - timedelta(days=90),
    )
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "opted_out"


def test_check_at_a_past_moment_folds_only_what_had_happened(cl: Consentline, clock: Clock) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", source="web_form")
    before_stop = clock.advance(hours=1)
    clock.advance(hours=1)
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    # Re-opting in compacts the projection; the past question still has its answer.
    clock.advance(hours=1)
    cl.record(w.x, "opt_in", account="t", purpose="marketing", source="web_form")
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "opted_in"
    past = cl.check(
        w.x, from_=w.L1, purpose="marketing", at=before_stop + timedelta(hours=1, minutes=1)
    )
    assert past.reason == "opted_out"
    assert cl.check(w.x, from_=w.L1, purpose="marketing", at=before_stop).reason == "opted_in"
    assert [
        d.reason
        for d in cl.check_many(
            [w.x], from_=w.L1, purpose="marketing", at=before_stop + timedelta(hours=1, minutes=1)
        )
    ] == ["opted_out"]


def test_an_opt_out_is_effective_at_once_even_if_stamped_slightly_ahead(
    cl: Consentline, clock: Clock
) -> None:  # C14: a provider clock a little fast must not delay the opt-out
    w = worked_setup(cl)
    cl.record(
        w.x, "opt_out", via=w.L1, source="keyword", occurred_at=clock.now + timedelta(seconds=30)
    )
    assert cl.check(w.x, from_=w.L1, purpose="transactional").reason == "opted_out"


def test_check_many_agrees_with_check_for_every_recipient(cl: Consentline) -> None:
    w = worked_setup(cl, a_reach="account")
    numbers = [f"+1415555{n:04d}" for n in range(40)]
    for n, number in enumerate(numbers):
        if n % 3 == 0:
            cl.record(number, "opt_in", account="a", purpose="marketing", source="import")
        if n % 4 == 0:
            cl.record(number, "opt_out", via=w.L1, source="keyword")
        if n % 8 == 0:
            cl.record(number, "resume", via=w.L1, source="keyword")
        if n % 5 == 0:
            cl.record(number, "pending", account="a", purpose="marketing", source="web_form")
    recipients = [*numbers, "(415) 555-0001", "not a number", "+15555550100"]
    for line in (w.L1, w.L2, w.L3):
        for purpose in ("marketing", "transactional"):
            bulk = list(cl.check_many(recipients, from_=line, purpose=purpose))
            assert len(bulk) == len(recipients)
            for raw, decision in zip(recipients, bulk, strict=True):
                if decision.reason == "invalid_address":
                    assert raw in ("not a number", "+15555550100")
                    continue
                single = cl.check(raw, from_=line, purpose=purpose)
                assert decision == single


def test_check_many_is_lazy_and_accepts_any_iterable(cl: Consentline) -> None:
    w = worked_setup(cl)
    numbers = (f"+1415555{n:04d}" for n in range(12_000))
    results = cl.check_many(numbers, from_=w.L1, purpose="transactional")
    first = next(iter(results))
    assert first.reason == "not_opted_out"
    assert sum(1 for _ in results) == 11_999


def test_unknown_purpose_is_a_typed_error_on_check_and_record(cl: Consentline) -> None:
    w = worked_setup(cl)
    with pytest.raises(UnknownPurpose):
        cl.check(w.x, from_=w.L1, purpose="astrology")
    with pytest.raises(UnknownPurpose):
        cl.record(w.x, "opt_in", account="a", purpose="astrology")
    with pytest.raises(UnknownPurpose):
        list(cl.check_many([w.x], from_=w.L1, purpose="astrology"))


def test_check_many_on_a_disabled_purpose_still_normalises_and_flags_bad_numbers(
    cl: Consentline,
) -> None:
    w = worked_setup(cl)
    cl.set_purpose("t", "fraud_alert", "disabled")
    results = list(cl.check_many(["(415) 555-0123", "nope"], from_=w.L1, purpose="fraud_alert"))
    assert [(d.to, d.reason) for d in results] == [
        ("+14155550123", "enforcement_disabled"),
        ("nope", "invalid_address"),
    ]


@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("+447911123456", "+4407911123456"),  # a national prefix left after +44
        ("+33612345678", "+330612345678"),
        ("+61412345678", "+610412345678"),
    ],
)
def test_an_e164_shaped_but_uncanonical_number_finds_its_opt_out(
    cl: Consentline, stored: str, asked: str
) -> None:
    cl.create_account("intl", default_region="US")
    cl.add_line("+18005550177", account="intl")
    cl.record(stored, "opt_out", account="intl", source="keyword")
    single = cl.check(asked, from_="+18005550177", purpose="marketing")
    assert (single.to, single.reason, single.allowed) == (stored, "opted_out", False)
    [bulk] = list(cl.check_many([asked], from_="+18005550177", purpose="marketing"))
    assert (bulk.to, bulk.reason, bulk.allowed) == (stored, "opted_out", False)
