"""Retention (C22): evidence kept N years after the last message relying on it, then
purged without ever losing a suppression."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import consentline as c
from consentline import Consentline
from tests.conftest import Clock, worked_setup

KEY = "r" * 40
OLD = "+14155550123"
NEW = "+14155550124"


@pytest.fixture
def ecl(db_url: str, clock: Clock) -> Iterator[Consentline]:
    client = c.connect(db_url, clock=clock, cache_seconds=0.0, erasure_key=KEY)
    try:
        yield client
    finally:
        client.close()


def test_evidence_past_retention_is_listed_masked_then_purged_keeping_opt_outs(
    ecl: Consentline, clock: Clock
) -> None:
    worked_setup(ecl)
    ecl.set_purpose("t", "marketing", model="restrictive")
    ecl.record(OLD, "opt_out", account="a", source="api", proof={"ip": "192.0.2.1"})
    ecl.record("+14155550125", "opt_in", account="a", purpose="marketing", proof={"ip": "x"})
    clock.advance(days=3 * 365)
    ecl.handle_inbound(from_=NEW, to="+18005550101", text="STOP")  # relied on recently
    clock.advance(days=2 * 365)
    listed = ecl.retention(account="t", dry_run=True)
    assert listed.years == 4
    assert [i.address for i in listed.due] == ["+1415***0123", "+1415***0125"]
    assert "4155550123" not in repr(listed.as_dict())
    assert ecl.check(OLD, from_="+18005550101", purpose="marketing").reason == "opted_out"
    purged = ecl.retention(account="t", dry_run=False)
    assert purged.purged == 2
    assert ecl.retention(account="t", dry_run=True).due == ()
    # The suppression outlives its evidence; the opt-in does not.
    assert ecl.check(OLD, from_="+18005550101", purpose="marketing").reason == "opted_out"
    assert not ecl.check("+14155550125", from_="+18005550101", purpose="marketing").allowed
    assert ecl.history(OLD, account="t") == []
    assert ecl.history(NEW, account="t") != []  # within retention: untouched
    assert ecl.verify().ok


def test_the_retention_period_is_a_tenant_setting(ecl: Consentline, clock: Clock) -> None:
    worked_setup(ecl)
    ecl.record(OLD, "opt_out", account="a")
    clock.advance(days=5 * 365)
    assert ecl.set_retention("t", 6) == 6
    assert ecl.retention(account="t").due == ()
    assert ecl.set_retention("t", None) == 4
    assert len(ecl.retention(account="t").due) == 1
    with pytest.raises(c.InvalidInput):
        ecl.set_retention("t", 0)


def test_purging_needs_the_erasure_key(db_url: str, clock: Clock) -> None:
    with c.connect(db_url, clock=clock, cache_seconds=0.0) as cl:
        worked_setup(cl)
        cl.record(OLD, "opt_out", account="a")
        clock.advance(days=5 * 365)
        assert len(cl.retention(account="t").due) == 1  # listing needs no key
        with pytest.raises(c.ErasureKeyMissing):
            cl.retention(account="t", dry_run=False)
