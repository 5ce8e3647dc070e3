"""Reports at the service layer, on SQLite and PostgreSQL (C23): counters, windows in
other time zones, buckets, totals, the snapshot, rebuilds and erasure, and no number
in any output."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import consentline as c
from consentline.client import Consentline
from consentline.domain.errors import InvalidInput, InvalidTime, UnknownAccount, UnknownReport
from consentline.services.reports import GROUPINGS
from tests.conftest import Clock

L1, L2 = "+18005550100", "+18005550111"
NUMBERS = [f"+1415555{n:04d}" for n in range(1, 9)]
KEY = "k" * 32


def _setup(cl: Consentline) -> None:
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    cl.add_line(L1, "acme")
    cl.add_line(L2, "shop")


def _at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_opt_outs_by_line_and_source_sum_to_the_window_total(cl: Consentline) -> None:
    _setup(cl)
    for n in NUMBERS[:4]:
        cl.record(n, "opt_in", line=L1, purpose="marketing", occurred_at=_at(9))
    cl.record(NUMBERS[0], "opt_out", line=L1, occurred_at=_at(10))
    cl.record(NUMBERS[1], "opt_out", line=L2, source="web", occurred_at=_at(11))
    cl.handle_inbound(from_=NUMBERS[2], to=L1, text="stop please")
    report = cl.report("opt_outs", account="acme", by=["line", "source"])
    totals = report.totals()
    assert totals["opt_outs"] == 3 and totals["opt_ins"] == 4
    by = {(r["line"], r["source"]): r["opt_outs"] for r in report.rows if r["opt_outs"]}
    assert by == {(L1, "api"): 1, (L2, "web"): 1, (L1, "keyword"): 1}
    whole = cl.report("opt_outs", account="acme").rows
    assert len(whole) == 1 and whole[0]["opt_outs"] == 3


def test_an_exact_matcher_miss_is_counted_by_rule(cl: Consentline) -> None:
    _setup(cl)
    cl.handle_inbound(from_=NUMBERS[0], to=L1, text="STOP")
    cl.handle_inbound(from_=NUMBERS[1], to=L1, text="please stop texting me")
    rows = cl.report("opt_outs", account="acme", by="rule").rows
    total = cl.report("opt_outs", account="acme").rows[0]
    assert total["opt_outs"] == 2
    assert total["provider_exact"] == 1 and total["exact_matcher_missed"] == 1
    assert sum(r["exact_matcher_missed"] for r in rows) == 1
    assert all(r["rule"] for r in rows if r["opt_outs"])


def test_days_in_another_time_zone_split_at_local_midnight(cl: Consentline, clock: Clock) -> None:
    _setup(cl)
    clock.now = datetime(2026, 3, 10, tzinfo=UTC)
    # 03:30 UTC on the 3rd is still the 2nd in New York (UTC-5), the 3rd in Kolkata.
    cl.record(NUMBERS[0], "opt_out", line=L1, occurred_at=datetime(2026, 3, 3, 3, 30, tzinfo=UTC))
    cl.record(NUMBERS[1], "opt_out", line=L1, occurred_at=datetime(2026, 3, 3, 6, 0, tzinfo=UTC))
    cl.record(NUMBERS[2], "opt_out", line=L1, occurred_at=datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    since, until = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 6, tzinfo=UTC)

    def days(tz: str) -> dict[str, int]:
        report = cl.report(
            "opt_outs", account="acme", bucket="day", timezone=tz, since=since, until=until
        )
        return {r["day"]: r["opt_outs"] for r in report.rows if r["opt_outs"]}

    assert days("UTC") == {"2026-03-02": 1, "2026-03-03": 2}
    assert days("America/New_York") == {"2026-03-02": 2, "2026-03-03": 1}
    # Kolkata is UTC+5:30: 20:00 UTC on the 2nd is 01:30 on the 3rd.
    assert days("Asia/Kolkata") == {"2026-03-03": 3}
    # Kathmandu, UTC+5:45: a window that starts at its local midnight.
    local = datetime(2026, 3, 3, 0, 0, tzinfo=ZoneInfo("Asia/Kathmandu"))
    report = cl.report("opt_outs", account="acme", since=local, until=until)
    assert report.rows[0]["opt_outs"] == 3  # 20:00 UTC on the 2nd is 01:45 on the 3rd


def test_week_and_month_buckets(cl: Consentline, clock: Clock) -> None:
    _setup(cl)
    clock.now = datetime(2026, 5, 1, tzinfo=UTC)
    for i, day in enumerate([(3, 2), (3, 8), (3, 9), (4, 1)]):
        when = datetime(2026, day[0], day[1], 12, tzinfo=UTC)
        cl.record(NUMBERS[i], "opt_in", line=L1, purpose="marketing", occurred_at=when)
    since = datetime(2026, 3, 1, tzinfo=UTC)
    weeks = cl.report("opt_outs", account="acme", bucket="week", since=since).rows
    assert {r["week"]: r["opt_ins"] for r in weeks} == {
        "2026-03-02": 2,
        "2026-03-09": 1,
        "2026-03-30": 1,
    }
    months = cl.report("opt_outs", account="acme", bucket="month", since=since).rows
    assert {r["month"]: r["opt_ins"] for r in months} == {"2026-03": 3, "2026-04": 1}


def test_bad_queries_are_typed_errors(cl: Consentline) -> None:
    _setup(cl)
    with pytest.raises(UnknownReport):
        cl.report("nope", account="acme")
    with pytest.raises(InvalidInput):
        cl.report("opt_outs", account="acme", by="address")
    with pytest.raises(InvalidInput):
        cl.report("opt_outs", account="acme", bucket="fortnight")
    with pytest.raises(InvalidInput):
        cl.report("opt_outs", account="acme", timezone="Mars/Base")
    with pytest.raises(InvalidTime):
        cl.report("opt_outs", account="acme", since=_at(10), until=_at(9))
    with pytest.raises(UnknownAccount):
        cl.report("opt_outs", account="acme", within="shop")


def test_a_sub_account_sees_only_its_lines(cl: Consentline) -> None:
    _setup(cl)
    cl.record(NUMBERS[0], "opt_out", line=L1)
    cl.record(NUMBERS[1], "opt_out", line=L2)
    rows = cl.report("opt_outs", account="shop", by="line").rows
    assert [(r["line"], r["opt_outs"]) for r in rows] == [(L2, 1)]
    snap = cl.report("snapshot", account="shop", within="shop").rows
    assert [r["line"] for r in snap] == [L2]


def test_snapshot_counts_states_per_line_at_a_moment(cl: Consentline, clock: Clock) -> None:
    _setup(cl)
    cl.record(NUMBERS[0], "opt_in", line=L1, occurred_at=_at(9))
    cl.record(NUMBERS[1], "opt_in", account="acme", occurred_at=_at(9))  # both lines
    cl.record(NUMBERS[2], "pending", line=L1, occurred_at=_at(10))
    cl.record(NUMBERS[0], "opt_out", line=L1, occurred_at=_at(12))
    cl.record(NUMBERS[3], "opt_in", line=L2, purpose="marketing", occurred_at=_at(12))

    def snap(at: datetime, **kw: object) -> dict[tuple[str, object], dict[str, int]]:
        rows = cl.report("snapshot", account="acme", at=at, **kw).rows  # type: ignore[arg-type]
        return {(r["line"], r.get("purpose")): r for r in rows}

    before = snap(_at(11))
    assert before[(L1, None)]["opted_in"] == 2 and before[(L1, None)]["pending"] == 1
    after = snap(_at(14))
    assert after[(L1, None)]["opted_in"] == 1 and after[(L1, None)]["opted_out"] == 1
    assert after[(L1, None)]["not_defined"] == 1  # the fourth number: nothing on L1
    assert after[(L2, None)]["opted_in"] == 1  # the account-wide opt-in
    marketing = snap(_at(14), by="line,purpose")
    assert marketing[(L2, "marketing")]["opted_in"] == 2
    assert marketing[(L2, None)]["opted_in"] == 1


def test_rebuild_and_erasure_keep_the_counters_consistent(db_url: str, clock: Clock) -> None:
    with c.connect(db_url, clock=clock, cache_seconds=0.0, erasure_key=KEY) as cl:
        _setup(cl)
        for n in NUMBERS[:3]:
            cl.record(n, "opt_in", line=L1, occurred_at=_at(9))
        cl.record(NUMBERS[0], "opt_out", line=L1, occurred_at=_at(10))
        cl.handle_inbound(from_=NUMBERS[1], to=L1, text="STOP")
        cl.erase(NUMBERS[2], account="acme")  # lapses its opt-in

        def state() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
            return (
                cl.report("opt_outs", account="acme", by="line,source,rule").rows,
                cl.report("snapshot", account="acme", by="purpose").rows,
            )

        live = state()
        assert sum(r["lapses"] for r in live[0]) == 1  # type: ignore[misc]
        snap = {r["line"]: r for r in live[1] if r["purpose"] is None}
        assert snap[L1]["opted_in"] == 0 and snap[L1]["opted_out"] == 2
        cl.rebuild_projection("acme")
        rebuilt = state()
        assert rebuilt[1] == live[1]
        # the erased number's proof is gone; its events stay counted by line and source
        strip = [{k: v for k, v in r.items() if k != "rule"} for r in rebuilt[0]]
        assert sum(r["opt_outs"] for r in strip) == sum(r["opt_outs"] for r in live[0])  # type: ignore[misc]


def test_reports_carry_no_number(cl: Consentline) -> None:
    _setup(cl)
    for n in NUMBERS:
        cl.record(n, "opt_in", line=L1)
    for n in NUMBERS[:3]:
        cl.handle_inbound(from_=n, to=L1, text="stop")
    cl.handle_inbound(from_=NUMBERS[4], to=L1, text="maybe later")
    text = ""
    for kind in ("opt_outs", "snapshot", "inbound"):
        for by in ([], ["line"], sorted(GROUPINGS[kind])):
            text += json.dumps(cl.report(kind, account="acme", by=by).as_dict())
    for n in NUMBERS:
        assert n[2:] not in text and n[-7:] not in text


def test_inbound_report_and_review_queue(cl: Consentline, clock: Clock) -> None:
    _setup(cl)
    cl.handle_inbound(from_=NUMBERS[0], to=L1, text="STOP")
    cl.handle_inbound(from_=NUMBERS[1], to=L1, text="i guess stop maybe?")
    clock.advance(hours=2)
    report = cl.report("inbound", account="acme", by="intent")
    assert sum(r["messages"] for r in report.rows) == 2
    assert report.summary is not None
    if report.summary["review_open"]:
        assert report.summary["review_oldest_age_s"] >= 7200


def _ago(clock: Clock, days: int) -> datetime:
    return clock.now - timedelta(days=days)


def test_hygiene_lists_proofless_old_and_expired_pending(cl: Consentline, clock: Clock) -> None:
    _setup(cl)
    cl.record(NUMBERS[0], "opt_in", line=L1, proof={"form": "web"}, occurred_at=_ago(clock, 700))
    cl.record(NUMBERS[1], "opt_in", line=L1, source="import", proof={"proof_of_consent": False})
    cl.record(NUMBERS[2], "pending", line=L1, occurred_at=_ago(clock, 30))
    cl.record(NUMBERS[3], "opt_in", line=L1, proof={"form": "x"}, occurred_at=_ago(clock, 700))
    cl.handle_inbound(from_=NUMBERS[3], to=L1, text="thanks!")  # engagement
    report = cl.hygiene(account="acme", older_than=timedelta(days=540))
    assert report.no_proof == {"import": 1}
    assert report.reconfirm == 1 and report.pending_expired == 1
    text = json.dumps(report.as_dict())
    assert all(n not in text for n in NUMBERS)


def test_reconfirm_queues_once_never_to_an_opted_out_number(cl: Consentline, clock: Clock) -> None:
    _setup(cl)
    for n in NUMBERS[:3]:
        cl.record(n, "opt_in", line=L1, proof={"form": "web"}, occurred_at=_ago(clock, 700))
    cl.record(NUMBERS[2], "opt_out", line=L1)
    old = timedelta(days=540)
    dry = cl.reconfirm(account="acme", older_than=old, dry_run=True)
    assert dry.candidates == 2 and dry.queued == 0
    assert not [m for m in cl.outbox() if m.kind == "double_opt_in_request"]
    first = cl.reconfirm(account="acme", older_than=old, per_line=1)
    assert first.queued == 1 and first.deferred == 1
    second = cl.reconfirm(account="acme", older_than=old, per_line=5)
    assert second.queued == 1 and second.already == 1
    third = cl.reconfirm(account="acme", older_than=old, per_line=5)
    assert third.queued == 0 and third.already == 2
    sent_to = [m.to for m in cl.outbox() if m.kind == "double_opt_in_request"]
    assert sorted(sent_to) == sorted(NUMBERS[:2])
    assert cl.check(NUMBERS[0], from_=L1, purpose="marketing").allowed  # still opted in
