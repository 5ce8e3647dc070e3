"""Erasure that keeps the suppression (C22), on both databases.

After ``erase`` the number, its messages and the personal proof are gone from every
table (and, on SQLite, from the database file's bytes), a later check, record or
batch check still finds the opt-out, and ``verify`` passes and still catches a
change to any field that remains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import consentline as c
from consentline import Consentline
from consentline.domain.ledger import verify_link
from consentline.storage import schema as t
from consentline.storage.repository import select_events, stored_event
from tests.conftest import Clock, worked_setup

KEY = "k" * 40
X = "+14155550123"
DIGITS = b"4155550123"
SECRET_TEXT = "STOP texting me, this is Zanzibarine"
PROOF = {
    "ip": "203.0.113.77",
    "user_agent": "Mozilla/5.0 Zanzibarine",
    "name": "Zanzibarine Quux",
    "legal_basis": "consent",
    "jurisdiction": "US",
    "consent_text_version": "v3",
}


@pytest.fixture
def ecl(db_url: str, clock: Clock) -> Iterator[Consentline]:
    client = c.connect(db_url, clock=clock, cache_seconds=0.0, erasure_key=KEY)
    try:
        yield client
    finally:
        client.close()


def _opted_out(cl: Consentline) -> None:
    worked_setup(cl)
    cl.set_purpose("t", "marketing", model="restrictive")
    cl.record(
        X,
        "opt_in",
        account="a",
        purpose="marketing",
        source="web_form",
        proof=PROOF,
        contact_ref="salesforce:003Zanzibarine",  # a CRM's record id identifies too
    )
    cl.record("+14155550999", "opt_in", account="a", purpose="marketing", source="web_form")
    cl.handle_inbound(from_=X, to="+18005550101", text=SECRET_TEXT, message_id="SM1")
    assert not cl.check(X, from_="+18005550101", purpose="marketing").allowed


def _rows_text(cl: Consentline) -> str:
    out: list[str] = []
    with cl.engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                out.append(repr(tuple(row)))
    return "\n".join(out)


def test_erasure_keeps_the_opt_out_and_removes_the_number(ecl: Consentline) -> None:
    _opted_out(ecl)
    report = ecl.erase(X, account="t", reason="subject_request")
    assert report.events >= 2 and report.inbound == 1 and report.outbox >= 1
    assert X not in repr(report.as_dict())
    # The suppression holds on every read path.
    assert ecl.check(X, from_="+18005550101", purpose="marketing").reason == "opted_out"
    [d] = ecl.check_many([X], from_="+18005550101", purpose="marketing")
    assert not d.allowed and d.reason == "opted_out"
    other = ecl.check("+14155550999", from_="+18005550101", purpose="marketing")
    assert other.allowed
    # Nothing of the number, its message or its personal proof remains in any row.
    text = _rows_text(ecl)
    assert "4155550123" not in text and "Zanzibarine" not in text and "203.0.113.77" not in text
    assert "consent_text_version" in text  # the non-personal proof stays
    assert ecl.verify().ok, ecl.verify().problems
    assert ecl.history(X, account="t") == []


def test_a_later_write_of_the_number_still_sees_the_opt_out(ecl: Consentline) -> None:
    _opted_out(ecl)
    ecl.erase(X, account="t")
    # A STOP again, then a fresh opt-in with consent: both fold with the erased history.
    ecl.record(X, "opt_out", account="a", source="api")
    assert not ecl.check(X, from_="+18005550101", purpose="marketing").allowed
    with ecl.units() as uow:
        [key] = uow.privacy.erasures(1)[0:1]
        rows = list(uow.store.state_rows(1))
    assert [a for _, a, _ in rows if a.startswith("erased:")] == [key.address_key]
    assert all(a != X for _, a, _ in rows)  # the row stays under the keyed hash
    ecl.record(X, "opt_in", account="a", purpose="marketing", source="web_form", proof=PROOF)
    assert ecl.check(X, from_="+18005550101", purpose="marketing").allowed
    assert ecl.verify().ok, ecl.verify().problems
    # Erasing again removes the new data too (a second erasure record).
    second = ecl.erase(X, account="t")
    assert second.erasure == 2 and not second.already_erased
    assert not ecl.check(X, from_="+18005550101", purpose="marketing").allowed
    assert ecl.verify().ok, ecl.verify().problems


def test_an_opt_in_cannot_stand_once_its_evidence_is_erased(ecl: Consentline) -> None:
    worked_setup(ecl)
    ecl.set_purpose("t", "marketing", model="restrictive")
    ecl.record(X, "opt_in", account="a", purpose="marketing", source="web_form", proof=PROOF)
    assert ecl.check(X, from_="+18005550101", purpose="marketing").allowed
    report = ecl.erase(X, account="t")
    assert report.lapsed == 1
    decision = ecl.check(X, from_="+18005550101", purpose="marketing")
    assert not decision.allowed and decision.reason == "no_consent"
    assert ecl.verify().ok


def test_erasing_twice_is_idempotent_and_an_unknown_number_is_an_error(ecl: Consentline) -> None:
    _opted_out(ecl)
    first = ecl.erase(X, account="t")
    again = ecl.erase(X, account="t")
    assert again.already_erased and again.erasure == first.erasure
    with pytest.raises(c.UnknownAddress) as caught:
        ecl.erase("+14155550000", account="t")
    assert "4155550000" not in str(caught.value)
    with pytest.raises(c.UnknownAccount):
        ecl.erase(X, account="nope")
    with pytest.raises(c.InvalidConfig):
        ecl.erase("+14155550999", account="t", reason="Because He Asked Me")
    assert ecl.verify().ok


def test_erasure_needs_the_installation_key(db_url: str, clock: Clock) -> None:
    with c.connect(db_url, clock=clock, cache_seconds=0.0) as cl:
        _opted_out(cl)
        with pytest.raises(c.ErasureKeyMissing):
            cl.erase(X, account="t")
    with pytest.raises(c.ErasureKeyMissing):
        c.connect(db_url, erasure_key="short")
    with c.connect(db_url, clock=clock, cache_seconds=0.0, erasure_key=KEY) as cl:
        cl.erase(X, account="t")
    # Without the key a tenant with erasures refuses to check or write (fail closed).
    with c.connect(db_url, clock=clock, cache_seconds=0.0) as cl:
        with pytest.raises(c.ErasureKeyMissing):
            cl.check(X, from_="+18005550101", purpose="marketing")
        with pytest.raises(c.ErasureKeyMissing):
            cl.record(X, "opt_in", account="a", purpose="marketing")


def _erased_rows(cl: Consentline) -> list[c.Event]:
    with cl.units(write=False) as uow:
        return [e for e in uow.store.chain_rows(1) if e.erased is not None]  # type: ignore[misc]


REMAINING = (
    "address",
    "channel",
    "action",
    "scope",
    "purpose",
    "topic",
    "occurred_us",
    "recorded_us",
    "source",
    "proof",
    "idempotency_key",
    "salt",
    "erased",
    "v1_hash",
    "prev_hash",
    "hash",
)


@pytest.mark.parametrize("column", REMAINING)
def test_verify_catches_tampering_with_any_remaining_field_of_an_erased_event(
    ecl: Consentline, column: str
) -> None:
    _opted_out(ecl)
    ecl.erase(X, account="t")
    with ecl.units(write=False) as uow:
        erased = [e for e in uow.store.chain_rows(1) if e.erased is not None]
    target = erased[0]
    value = getattr(target, column)
    changed: object = {
        "address": "erased:" + "0" * 64,
        "proof": '{"legal_basis":"contract"}',
        "idempotency_key": "k1",
        "salt": "00" * 16,
        "erased": (target.erased or "").replace('"address":"', '"address":"0'),
        "v1_hash": "1" * 64,
        "prev_hash": "2" * 64,
        "hash": "3" * 64,
        "occurred_us": (value or 0) + 1 if isinstance(value, int) else value,
        "recorded_us": (value or 0) + 1 if isinstance(value, int) else value,
        "purpose": "other",
        "topic": "news",
    }.get(column, f"{value}x")
    with ecl.engine.begin() as conn:
        conn.execute(
            sa.update(t.events).where(t.events.c.id == target.id).values({column: changed})
        )
    report = ecl.verify()
    assert not report.ok, column


def test_an_erased_event_verifies_from_its_own_fields(ecl: Consentline) -> None:
    _opted_out(ecl)
    ecl.erase(X, account="t")
    with ecl.units(write=False) as uow:
        chain = list(uow.store.chain_rows(1))
    previous = "0" * 64
    for event in chain:
        assert verify_link(previous, event), event.seq
        previous = event.hash
    assert any(e.erased for e in chain)
    forged = dataclasses.replace(chain[0], scope="L99")
    assert not verify_link("0" * 64, forged)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_sqlite_file_holds_neither_the_number_nor_its_message(
    ecl: Consentline, db_url: str
) -> None:
    _opted_out(ecl)
    path = Path(db_url.removeprefix("sqlite:///"))
    ecl.erase(X, account="t")
    ecl.close()
    blobs = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))
    assert DIGITS not in blobs
    assert b"Zanzibarine" not in blobs and b"203.0.113.77" not in blobs


def test_reads_in_a_tenant_without_erasures_pay_nothing(ecl: Consentline) -> None:
    _opted_out(ecl)
    assert ecl._reader._erased == frozenset()
    ecl.erase(X, account="t")
    assert ecl._reader._erased == frozenset({1})


def _events(cl: Consentline) -> list[object]:
    with cl.engine.connect() as conn:
        return [stored_event(r) for r in conn.execute(select_events())]


def test_a_point_in_time_check_of_an_erased_number_folds_its_erased_history(
    ecl: Consentline, clock: Clock
) -> None:
    _opted_out(ecl)
    stopped_at = clock.now
    clock.advance(hours=1)
    ecl.record(X, "opt_out", account="a", purpose="marketing")  # a newer event
    ecl.erase(X, account="t")
    past = ecl.check(X, from_="+18005550101", purpose="marketing", at=stopped_at)
    assert not past.allowed and past.reason == "opted_out"


def test_a_campaign_scan_finds_an_erased_number_under_its_keyed_hash(ecl: Consentline) -> None:
    _opted_out(ecl)
    ecl.erase(X, account="t")
    reader = ecl._reader
    table = reader.scan_table(1, "sms")
    row = table.get(X)
    assert row is not None and row[0] == X and "o," in row[1]  # the opt-out entry
    assert table.get("+14155550998") is None
    assert reader.get_many(1, "sms", [X, "+14155550999"]).keys() == {X, "+14155550999"}


def test_another_process_that_has_not_reloaded_still_sees_the_erased_opt_out(
    ecl: Consentline, db_url: str, clock: Clock
) -> None:
    """C14 with C22: a process whose snapshot predates the tenant's first erasure
    finds the opt-out under its keyed hash all the same (a miss asks the database
    whether the tenant has erasures before answering "nothing held")."""
    _opted_out(ecl)
    ecl.set_purpose("t", "transactional", model="non_restrictive")
    other = c.connect(db_url, clock=clock, cache_seconds=3600.0, erasure_key=KEY)
    try:
        line = "+18005550101"
        assert other.check(X, from_=line, purpose="transactional").reason == "opted_out"
        ecl.erase(X, account="t")
        # `other` still holds its snapshot from before the erasure.
        assert other.check(X, from_=line, purpose="transactional").reason == "opted_out"
        [bulk] = other.check_many([X], from_=line, purpose="transactional")
        assert (bulk.allowed, bulk.reason) == (False, "opted_out")
        unknown = other.check("+14155550777", from_=line, purpose="transactional")
        assert unknown.allowed  # a number nothing is held about is still allowed
    finally:
        other.close()


def test_a_bulk_check_sees_an_erasure_made_after_it_read_the_erased_set(
    ecl: Consentline, db_url: str, clock: Clock
) -> None:
    """C14 with C22: a bulk read looks up keyed hashes only for erased addresses, from
    a set it keeps; an erasure made elsewhere after the set was read is still seen
    (the tenant's erasure count is read after each lookup, and a change reloads it)."""
    _opted_out(ecl)
    y = "+14155550999"
    ecl.record(y, "opt_out", account="a")
    ecl.set_purpose("t", "transactional", model="non_restrictive")
    line = "+18005550101"
    ecl.erase(X, account="t")
    other = c.connect(db_url, clock=clock, cache_seconds=3600.0, erasure_key=KEY)
    try:
        first = other.check_many([X, y], from_=line, purpose="transactional")
        assert [d.reason for d in first] == ["opted_out", "opted_out"]
        assert len(other._reader._erased_keys[1][1]) == 1
        ecl.erase(y, account="t")  # by another client, after `other` read the set
        unknown = "+14155550777"
        again = list(other.check_many([X, y, unknown], from_=line, purpose="transactional"))
        assert [(d.allowed, d.reason) for d in again][:2] == [(False, "opted_out")] * 2
        assert again[2].allowed
        assert len(other._reader._erased_keys[1][1]) == 2
    finally:
        other.close()
