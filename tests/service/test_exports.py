"""Exports, snapshots and subject access on both databases (services/exports.py).

The snapshot is held to the send gate: on a varied ledger (seeded, bounded) every
row it lists is what ``check`` answers, and every address it leaves out is one
``check`` knows nothing deciding about, now and at moments in the past.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

import consentline
from consentline import Consentline
from consentline.domain.errors import InvalidAddress, UnknownAccount, UnknownPurpose
from consentline.domain.exports import check_export, dump_line
from tests.conftest import START, Clock, worked_setup

X, Y, Z = "+14155550123", "+14155550124", "+14155550125"


def lines_of(cl: Consentline, account: str, **kw: object) -> list[str]:
    return [dump_line(r) for r in cl.export_events(account=account, **kw)]  # type: ignore[arg-type]


def test_a_tenant_export_is_the_complete_chain_and_checks_out(cl: Consentline) -> None:
    s = worked_setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form", proof={"ip": "1"})
    cl.record(Y, "opt_in", line=s.L3, purpose="marketing", source="web_form")
    cl.record(X, "opt_out", via=s.L1, source="keyword")
    lines = lines_of(cl, "t")
    header, end = json.loads(lines[0]), json.loads(lines[-1])
    assert header["complete_chain"] is True and header["head"]["seq"] == 3
    assert end == {"type": "end", "events": 3, "last_seq": 3, "last_hash": header["head"]["hash"]}
    report = check_export(lines)
    assert report.ok and report.events == 3
    assert cl.verify().ok


def test_a_subtree_export_holds_only_the_subtree_and_verifies_each_link(cl: Consentline) -> None:
    s = worked_setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    cl.record(Y, "opt_in", line=s.L3, purpose="marketing", source="web_form")
    cl.record(Z, "opt_in", account="b", source="web_form")
    cl.record(X, "opt_in", account="t", source="web_form")
    records = [json.loads(line) for line in lines_of(cl, "b")]
    events = [r for r in records if r["type"] == "event"]
    assert [e["address"] for e in events] == [Y, Z]
    assert records[0]["complete_chain"] is False
    assert check_export(lines_of(cl, "b")).ok
    a_events = [json.loads(line) for line in lines_of(cl, "a")][1:-1]
    assert {e["address"] for e in a_events} == {X, Y, Z}  # a's subtree holds b


def test_small_pages_give_the_same_export(cl: Consentline) -> None:
    worked_setup(cl)
    for i in range(7):
        cl.record(f"+1415555{i:04d}", "opt_in", account="b", source="web_form")
    whole = [json.loads(x) for x in lines_of(cl, "a")]
    paged = [json.loads(x) for x in lines_of(cl, "a", page=2)]
    assert [r for r in whole if r["type"] == "event"] == [r for r in paged if r["type"] == "event"]
    assert len(paged) == 9


def test_a_range_bounds_the_recording_time_and_is_not_a_complete_chain(
    cl: Consentline, clock: Clock
) -> None:
    worked_setup(cl)
    cl.record(X, "opt_in", account="a", source="web_form")
    clock.advance(days=1)
    cl.record(Y, "opt_in", account="a", source="web_form")
    since = START + timedelta(hours=12)
    lines = lines_of(cl, "t", since=since)
    events = [json.loads(x) for x in lines][1:-1]
    assert [e["address"] for e in events] == [Y]
    assert json.loads(lines[0])["complete_chain"] is False
    assert check_export(lines).ok
    assert [json.loads(x) for x in lines_of(cl, "t", until=since)][1]["address"] == X


def test_an_unknown_account_is_refused(cl: Consentline) -> None:
    worked_setup(cl)
    with pytest.raises(UnknownAccount):
        list(cl.export_events(account="nobody"))


# -- snapshot ---------------------------------------------------------------------------
def test_snapshot_lists_each_status_on_a_line(cl: Consentline, clock: Clock) -> None:
    s = worked_setup(cl)
    cl.record(X, "opt_in", line=s.L1, purpose="marketing", source="web_form")
    cl.record(Y, "opt_out", account="a", source="keyword")
    cl.record(Z, "pending", line=s.L1, purpose="marketing", source="web_form")
    rows = list(cl.snapshot(lines=[s.L1], purposes=["marketing"]))
    assert [(r.address, r.status, r.allowed, r.reason) for r in rows] == [
        (X, "opted_in", True, "opted_in"),
        (Y, "opted_out", False, "opted_out"),
        (Z, "pending", False, "pending_confirmation"),
    ]
    assert list(cl.snapshot(lines=[s.L3], purposes=["marketing"])) == [
        r for r in cl.snapshot(lines=[s.L3], purposes=["marketing"]) if r.address == Y
    ]
    clock.advance(days=30)  # the pending window passes: Z is nothing again
    assert {r.address for r in cl.snapshot(lines=[s.L1], purposes=["marketing"])} == {X, Y}
    with pytest.raises(UnknownPurpose):
        list(cl.snapshot(lines=[s.L1], purposes=["nope"]))


def _varied_ledger(cl: Consentline, clock: Clock, seed: int) -> tuple[list[str], list[str]]:
    s = worked_setup(cl)
    cl.set_purpose("t", "promo", "restrictive", consent_ttl=timedelta(days=20))
    cl.set_purpose("t", "survey", "disabled")
    rng = random.Random(seed)
    addresses = [f"+1415555{n:04d}" for n in range(12)]
    lines = [s.L1, s.L2, s.L3]
    for _ in range(60):
        address = rng.choice(addresses)
        action = rng.choice(["opt_in", "opt_in", "opt_out", "resume", "lapse", "pending"])
        where = rng.choice(["account:t", "account:a", "account:b", *[f"line:{x}" for x in lines]])
        if action == "pending":  # a double opt-in request is sent from a line (C24)
            where = f"line:{rng.choice(lines)}"
        kind, _, name = where.partition(":")
        purpose = rng.choice([None, "marketing", "promo", "transactional"])
        topic = rng.choice([None, None, "news"])
        occurred = START - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600))
        cl.record(
            address,
            action,
            account=name if kind == "account" else None,
            line=name if kind == "line" else None,
            purpose=purpose,
            topic=topic,
            source=rng.choice(["web_form", "keyword", "import"]),
            occurred_at=occurred,
        )
    return addresses, lines


# Seed 1 with the revoke-all date still ahead (the default), seeds 2 and 3 with it
# inside the ledger's span, so scoped opt-outs on both sides of it are folded (C16).
@pytest.mark.parametrize(("seed", "revoke_all"), [(1, False), (2, True), (3, True)])
def test_snapshot_never_disagrees_with_check(
    cl: Consentline, db_url: str, clock: Clock, seed: int, revoke_all: bool
) -> None:
    addresses, lines = _varied_ledger(cl, clock, seed)
    if revoke_all:  # C16: scoped opt-outs of the last 30 days cover every purpose and topic
        cl.set_policy("t", revoke_all_from=(START - timedelta(days=30)).date())
    purposes = sorted(cl.policy("t").purposes)
    # The checks through a client that caches the settings (they no longer change
    # here; consent state is never cached): a thousand checks, not a thousand reloads.
    checker = consentline.connect(db_url, clock=clock, cache_seconds=3600)
    for at in (None, START - timedelta(days=25), START - timedelta(days=70)):
        for topic in (None, "news"):
            rows = {
                (r.line, r.address, r.purpose): r
                for r in cl.snapshot(lines=lines, topic=topic, at=at, page=5)
            }
            for line in lines:
                for address in addresses:
                    for purpose in purposes:
                        decision = checker.check(
                            address, from_=line, purpose=purpose, topic=topic, at=at
                        )
                        row = rows.get((line, address, purpose))
                        if row is None:
                            assert decision.reason in (
                                "no_consent",
                                "not_opted_out",
                                "enforcement_disabled",
                            ), (line, address, purpose, at, decision)
                            continue
                        assert (row.allowed, row.reason) == (decision.allowed, decision.reason)
                        if purpose != "survey":
                            assert decision.event is not None and decision.event.id == row.event_id
    checker.close()


# -- subject access (C28) ------------------------------------------------------------------
def test_subject_export_gathers_the_number_in_the_subtree(cl: Consentline) -> None:
    s = worked_setup(cl)
    cl.record(X, "opt_in", account="t", purpose="marketing", source="web_form", proof={"ip": "9"})
    cl.record(X, "opt_in", line=s.L3, source="web_form")
    cl.record(X, "opt_in", line=s.L1, source="web_form")
    cl.handle_inbound(from_=X, to=s.L3, text="STOP")
    cl.handle_inbound(from_=X, to=s.L1, text="maybe later, not sure")
    cl.record(Y, "opt_in", line=s.L3, source="web_form")
    doc = cl.subject_export(X, account="b")
    assert doc["address"] == X and doc["account"] == "b" and doc["tenant"] == "t"
    scopes = [e["where"] for e in doc["events"]]
    assert "account t" in scopes  # an ancestor's event decides b's checks
    assert f"line {s.L1}" not in scopes  # a sibling line is outside b's subtree
    assert [m["body"] for m in doc["inbound_messages"]] == ["STOP"]
    assert doc["inbound_messages"][0]["classification"]["intent"] == "opt_out"
    assert [r["kind"] for r in doc["replies"]] == ["opt_out_confirmation"]
    whole = cl.subject_export("(415) 555-0123", account="t")  # any spelling of the number
    assert len(whole["inbound_messages"]) == 2
    assert len(whole["events"]) == len(cl.history(X, account="t"))
    assert json.dumps(whole)  # one JSON document


def test_subject_export_lists_review_items(cl: Consentline) -> None:
    s = worked_setup(cl)
    result = cl.handle_inbound(from_=X, to=s.L3, text="cancel my appointment")
    assert result.review_id is not None
    doc = cl.subject_export(X, account="b")
    assert [r["id"] for r in doc["review_items"]] == [result.review_id]
    assert doc["review_items"][0]["inbound_id"] == doc["inbound_messages"][0]["id"] == result.id


def test_subject_export_of_an_unknown_or_invalid_number(cl: Consentline) -> None:
    worked_setup(cl)
    doc = cl.subject_export(Z, account="t")
    assert doc["events"] == doc["inbound_messages"] == doc["replies"] == []
    with pytest.raises(InvalidAddress):
        cl.subject_export("not a number", account="t")


# -- contact references -------------------------------------------------------------------
def test_exports_snapshots_and_subject_access_carry_contact_refs(cl: Consentline) -> None:
    s = worked_setup(cl)
    cl.record(
        X,
        "opt_in",
        line=s.L1,
        purpose="marketing",
        source="web_form",
        contact_ref="salesforce:003A",
    )
    cl.record(Y, "opt_out", account="a", source="keyword")
    events = [json.loads(x) for x in lines_of(cl, "t")][1:-1]
    assert [e["contact_refs"] for e in events] == [[{"system": "salesforce", "ref": "003A"}], []]
    assert check_export(lines_of(cl, "t")).ok  # the references are outside the chain
    rows = {r.address: r for r in cl.snapshot(lines=[s.L1], purposes=["marketing"])}
    assert rows[X].contact_refs == (("salesforce", "003A"),) and rows[Y].contact_refs == ()
    doc = cl.subject_export(X, account="a")
    assert doc["contact_refs"] == [{"channel": "sms", "system": "salesforce", "ref": "003A"}]
