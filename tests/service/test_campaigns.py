"""Campaign sends: recording, attribution, windows, spikes, preview, reports, erasure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consentline import Consentline
from consentline.domain.errors import InvalidInput
from consentline.domain.reports import ReportQuery
from consentline.domain.spikes import SpikeRule
from consentline.services import campaigns
from consentline.services.report_campaigns import campaigns_report, gateway_report
from tests.conftest import Clock

LINE = "+18005550100"
OTHER = "+18005550109"
NUMBERS = [f"+1415555{n:04d}" for n in range(200, 240)]


def set_up_acme(cl: Consentline) -> Consentline:
    """Account acme, two lines, the 40 NUMBERS opted in to marketing."""
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    cl.add_line(OTHER, account="acme")
    for number in NUMBERS:
        cl.record(number, "opt_in", account="acme", purpose="marketing", source="web_form")
    return cl


@pytest.fixture
def acme(cl: Consentline) -> Consentline:
    return set_up_acme(cl)


def send(
    cl: Consentline, recipients: list[str], name: str = "spring-sale", line: str = LINE
) -> list:
    return list(cl.check_many(recipients, from_=line, purpose="marketing", campaign=name))


def attribute(cl: Consentline, clock: Clock, **kw: object) -> int:
    return campaigns.attribute(cl.units, cl.directory(), now=clock(), **kw)  # type: ignore[arg-type]


def report(cl: Consentline, **kw: object) -> list[dict]:
    with cl.units(write=False) as uow:
        return campaigns_report(
            uow, cl.directory(), ReportQuery(kind="campaigns", account="acme", **kw)
        )  # type: ignore[arg-type]


def test_a_campaign_send_is_recorded_with_its_counts_by_reason(acme: Consentline) -> None:
    cl = acme
    cl.record(NUMBERS[0], "opt_out", account="acme", source="keyword")
    decisions = send(cl, [*NUMBERS[:5], "+14155559999", "not a number"])
    assert [d.allowed for d in decisions] == [False, True, True, True, True, False, False]
    [row] = report(cl)
    assert row["campaign"] == "spring-sale" and row["line"] == LINE and row["status"] == "complete"
    assert (row["recipients"], row["allowed"], row["denied"]) == (7, 4, 3)
    assert row["denied_opted_out"] == 1
    assert row["denied_no_consent"] == 1
    assert row["denied_invalid_address"] == 1
    assert row["opt_outs"] == 0 and row["opt_out_rate"] == 0.0 and row["spike"] is False


def test_a_consumer_that_stops_early_leaves_a_partial_send(acme: Consentline) -> None:
    decisions = acme.check_many(NUMBERS, from_=LINE, purpose="marketing", campaign="half")
    taken = [next(decisions) for _ in range(3)]
    decisions.close()
    [row] = report(acme)
    assert len(taken) == 3
    assert (row["status"], row["recipients"], row["allowed"]) == ("partial", 3, 3)


def test_an_opt_out_with_no_prior_send_is_attributed_to_nothing(
    acme: Consentline, clock: Clock
) -> None:
    acme.record(NUMBERS[1], "opt_out", account="acme", source="keyword")
    clock.advance(minutes=1)
    send(acme, NUMBERS[2:6])
    assert attribute(acme, clock) >= 1
    [row] = report(acme)
    assert row["opt_outs"] == 0


def test_an_opt_out_goes_to_the_last_send_that_reached_the_number(
    acme: Consentline, clock: Clock
) -> None:
    cl = acme
    send(cl, NUMBERS[:10], "first")
    clock.advance(hours=1)
    send(cl, NUMBERS[:3], "second")
    clock.advance(hours=1)
    send(cl, NUMBERS[5:8], "other-line", line=OTHER)  # another line: not the one STOPped
    clock.advance(minutes=5)
    cl.record(NUMBERS[1], "opt_out", line=LINE, source="keyword")  # reached by both sends
    cl.record(NUMBERS[6], "opt_out", line=LINE, source="keyword")  # only "first" from LINE
    attribute(cl, clock)
    by_name = {r["campaign"]: r for r in report(cl)}
    assert by_name["second"]["opt_outs"] == 1
    assert by_name["first"]["opt_outs"] == 1
    assert by_name["other-line"]["opt_outs"] == 0
    assert by_name["second"]["opt_out_rate"] == pytest.approx(1 / 3, abs=1e-6)
    attribute(cl, clock)  # a second round reads nothing new: no double count
    assert {r["campaign"]: r["opt_outs"] for r in report(cl)}["second"] == 1


def test_an_account_wide_opt_out_goes_to_the_newest_send_of_any_covered_line(
    acme: Consentline, clock: Clock
) -> None:
    send(acme, NUMBERS[:3], "first")
    clock.advance(hours=1)
    send(acme, NUMBERS[:3], "newest", line=OTHER)
    clock.advance(hours=1)
    acme.record(NUMBERS[0], "opt_out", account="acme", source="keyword")
    attribute(acme, clock)
    assert {r["campaign"]: r["opt_outs"] for r in report(acme)} == {"first": 0, "newest": 1}


def test_the_attribution_window_ends_just_before_72_hours(acme: Consentline, clock: Clock) -> None:
    cl = acme
    send(cl, NUMBERS[:4])
    start = clock()
    clock.advance(hours=80)
    cl.record(
        NUMBERS[0],
        "opt_out",
        line=LINE,
        source="keyword",
        occurred_at=start + timedelta(hours=72) - timedelta(microseconds=1),
    )
    cl.record(
        NUMBERS[1], "opt_out", line=LINE, source="keyword", occurred_at=start + timedelta(hours=72)
    )
    cl.record(
        NUMBERS[2], "opt_out", line=LINE, source="keyword", occurred_at=start - timedelta(seconds=1)
    )  # before the send
    clock.advance(hours=80)
    attribute(cl, clock)
    [row] = report(cl)
    assert row["opt_outs"] == 1


def test_a_shorter_window_is_a_setting_of_the_job(acme: Consentline, clock: Clock) -> None:
    send(acme, NUMBERS[:4])
    clock.advance(hours=2)
    acme.record(NUMBERS[0], "opt_out", line=LINE, source="keyword")
    attribute(acme, clock, window=timedelta(hours=1))
    assert report(acme)[0]["opt_outs"] == 0


def _baseline(cl: Consentline, clock: Clock, sends: int, size: int) -> None:
    for i in range(sends):
        send(cl, NUMBERS[:size], f"weekly-{i}")
        clock.advance(days=4)
    attribute(cl, clock)


def test_a_spike_is_flagged_once_and_queued_as_one_alert(acme: Consentline, clock: Clock) -> None:
    cl = acme
    _baseline(cl, clock, 6, 40)
    send(cl, NUMBERS, "flash")
    clock.advance(minutes=10)
    for number in NUMBERS[:8]:  # 8 of 40 = 20 %, against a baseline of 0
        cl.record(number, "opt_out", line=LINE, source="keyword")
    attribute(cl, clock)
    rows = {r["campaign"]: r for r in report(cl)}
    assert rows["flash"]["spike"] is True and rows["flash"]["opt_outs"] == 8
    assert not any(r["spike"] for name, r in rows.items() if name != "flash")
    with cl.units(write=False) as uow:
        alerts = uow.campaigns.alerts_after(cl.directory().account("acme").tenant_id, 0, 10)
    assert [a.kind for a in alerts] == ["alert.opt_out_spike"]
    for number in NUMBERS:
        assert number[2:] not in alerts[0].body
    # More opt-outs and more rounds: still the one alert.
    cl.record(NUMBERS[20], "opt_out", line=LINE, source="keyword")
    attribute(cl, clock)
    with cl.units() as uow:
        sends = [r["send"] for r in report(cl) if r["campaign"] == "flash"]
        assert campaigns.judge(uow, cl.directory(), sends, now=clock()) == []
        uow.commit()
    with cl.units(write=False) as uow:
        assert len(uow.campaigns.alerts_after(alerts[0].tenant_id, 0, 10)) == 1


def test_two_opt_outs_of_forty_raise_no_alarm(acme: Consentline, clock: Clock) -> None:
    _baseline(acme, clock, 6, 40)
    send(acme, NUMBERS, "small")
    for number in NUMBERS[:2]:
        acme.record(number, "opt_out", line=LINE, source="keyword")
    attribute(acme, clock)
    rows = {r["campaign"]: r for r in report(acme)}
    assert rows["small"]["opt_outs"] == 2 and rows["small"]["spike"] is False
    assert attribute(acme, clock, rule=SpikeRule(min_opt_outs=2)) == 0  # nothing new read


def test_the_preview_counts_reasons_including_invalid_numbers_and_records_nothing(
    acme: Consentline,
) -> None:
    cl = acme
    cl.record(NUMBERS[0], "opt_out", account="acme", source="keyword")
    recipients = [*NUMBERS[:10], "+14155559998", "nope", "+1", "(415) 555-0201"]
    preview = cl.check_many(recipients, from_=LINE, purpose="marketing", summary=True)
    assert preview == {
        "total": 14,
        "allowed": 10,
        "by_reason": {"invalid_address": 2, "no_consent": 1, "opted_in": 10, "opted_out": 1},
    }
    decided = list(cl.check_many(recipients, from_=LINE, purpose="marketing"))
    assert sum(d.allowed for d in decided) == preview["allowed"]
    preview = cl.check_many(recipients, from_=LINE, purpose="marketing", campaign="x", summary=True)
    assert preview["total"] == 14
    assert report(cl) == []


def test_a_bad_campaign_name_is_refused_before_anything_is_checked(acme: Consentline) -> None:
    with pytest.raises(InvalidInput):
        acme.check_many(NUMBERS, from_=LINE, purpose="marketing", campaign="Spring Sale!")
    assert report(acme) == []


def test_gateway_decisions_are_tallied_by_line_reason_and_bucket(
    acme: Consentline, clock: Clock
) -> None:
    cl = acme
    line = cl.directory().line(LINE)
    cl.record(NUMBERS[0], "opt_out", account="acme", source="keyword")
    for number in [NUMBERS[0], NUMBERS[1], NUMBERS[2], "+14155559997"]:
        decision = cl.check(number, from_=LINE, purpose="marketing")
        with cl.units() as uow:
            campaigns.record_gateway(
                uow, line, decision, purpose="marketing", campaign="gw", now=clock()
            )
            uow.commit()
        clock.advance(minutes=10)
    with cl.units(write=False) as uow:
        rows = gateway_report(
            uow, cl.directory(), ReportQuery(kind="gateway", account="acme", bucket="hour")
        )
    assert sum(r["allowed"] for r in rows) == 2 and sum(r["denied"] for r in rows) == 2
    assert {r["reason"] for r in rows} == {"opted_in", "opted_out", "no_consent"}
    assert {r["hour"] for r in rows} == {"2026-03-02T15:00"}
    by_name = {r["campaign"]: r for r in report(cl)}
    assert (by_name["gw"]["recipients"], by_name["gw"]["allowed"], by_name["gw"]["kind"]) == (
        4,
        2,
        "gateway",
    )
    with cl.units(write=False) as uow:
        by_line = gateway_report(
            uow, cl.directory(), ReportQuery(kind="gateway", account="acme", by=("line",))
        )
    assert by_line == [{"line": LINE, "allowed": 2, "denied": 2}]


def test_a_gateway_day_in_another_time_zone_straddles_utc_days(
    acme: Consentline, clock: Clock
) -> None:
    cl = acme
    line = cl.directory().line(LINE)
    clock.now = clock.now.replace(hour=23, minute=50)  # 23:50 UTC = 18:50 in New York
    for _ in range(2):
        decision = cl.check(NUMBERS[1], from_=LINE, purpose="marketing")
        with cl.units() as uow:
            campaigns.record_gateway(
                uow, line, decision, purpose="marketing", campaign=None, now=clock()
            )
            uow.commit()
        clock.advance(minutes=20)  # the second at 00:10 UTC the next day
    with cl.units(write=False) as uow:
        utc = gateway_report(
            uow, cl.directory(), ReportQuery(kind="gateway", account="acme", bucket="day")
        )
        ny = gateway_report(
            uow,
            cl.directory(),
            ReportQuery(kind="gateway", account="acme", bucket="day", timezone="America/New_York"),
        )
    assert [(r["day"], r["allowed"]) for r in utc] == [("2026-03-02", 1), ("2026-03-03", 1)]
    assert [(r["day"], r["allowed"]) for r in ny] == [("2026-03-02", 2)]


def test_reports_carry_no_digit_run_of_a_seeded_number(acme: Consentline, clock: Clock) -> None:
    send(acme, NUMBERS)
    acme.record(NUMBERS[3], "opt_out", line=LINE, source="keyword")
    attribute(acme, clock)
    text = repr(report(acme, bucket="day"))
    for number in NUMBERS:
        assert number[2:] not in text


def test_erasure_removes_the_number_from_campaign_reach(
    acme: Consentline, db_url: str, clock: Clock
) -> None:
    import consentline

    cl = consentline.connect(db_url, clock=clock, cache_seconds=0.0, erasure_key="k" * 32)
    try:
        send(cl, NUMBERS[:3])
        tenant = cl.directory().account("acme").tenant_id
        report_ = cl.erase(NUMBERS[0], account="acme")
        assert report_ is not None
        with cl.units(write=False) as uow:
            left = uow.campaigns.reached(tenant, NUMBERS[:3])
        assert left == set(NUMBERS[1:3])
    finally:
        cl.close()


def test_the_preview_of_a_campaign_sized_list_reads_shapes_and_agrees_with_check_many(
    acme: Consentline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from consentline.services import gate

    monkeypatch.setattr(gate, "SCAN_MIN", 5)  # take the campaign-sized path on a small list
    cl = acme
    cl.record(NUMBERS[0], "opt_out", account="acme", source="keyword")
    recipients = [*NUMBERS, "+14155559998", "nope", "(415) 555-0201", NUMBERS[3]]
    preview = cl.check_many(recipients, from_=LINE, purpose="marketing", summary=True)
    decided = list(cl.check_many(recipients, from_=LINE, purpose="marketing"))
    expected: dict[str, int] = {}
    for d in decided:
        expected[d.reason] = expected.get(d.reason, 0) + 1
    assert preview == {
        "total": len(recipients),
        "allowed": sum(d.allowed for d in decided),
        "by_reason": dict(sorted(expected.items())),
    }
    assert preview["by_reason"]["invalid_address"] == 1


def test_the_campaigns_and_gateway_kinds_answer_through_the_report_dispatcher(
    acme: Consentline,
) -> None:
    send(acme, NUMBERS[:10], name="spring-sale")
    [row] = acme.report("campaigns", account="acme").rows
    assert (row["campaign"], row["allowed"]) == ("spring-sale", 10)
    assert acme.report("gateway", account="acme", by="line,reason").kind == "gateway"
    with pytest.raises(InvalidInput):
        acme.report("gateway", account="acme", by="topic")  # not a key of this kind
    with pytest.raises(InvalidInput):
        acme.report("campaigns", account="acme", by="line")
