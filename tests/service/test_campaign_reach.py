"""The reach of campaign sends in chunks: attribution across chunks, sends and windows,
retried writes, gateway chunks, pruning, bounded reads and erasure (both databases)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import timedelta

import pytest

import consentline
from consentline import Consentline
from consentline.domain.errors import StorageError
from consentline.services import campaigns
from consentline.services.ports import ReachChunk
from consentline.storage import reach_chunks
from consentline.storage.campaigns import CampaignStore
from tests.conftest import Clock
from tests.service.test_campaigns import (
    LINE,
    NUMBERS,
    OTHER,
    attribute,
    report,
    send,
    set_up_acme,
)


@pytest.fixture
def acme(cl: Consentline) -> Consentline:
    return set_up_acme(cl)


def chunks(cl: Consentline) -> list[ReachChunk]:
    tenant = cl.directory().account("acme").tenant_id
    with cl.units(write=False) as uow:
        return uow.campaigns.reach_candidates(tenant, {"sms"}, -1, 2**62)


def opt_outs(cl: Consentline) -> dict[str, int]:
    return {r["campaign"]: r["opt_outs"] for r in report(cl)}


def stop(cl: Consentline, number: str, **kw: object) -> None:
    cl.record(number, "opt_out", line=LINE, source="keyword", **kw)  # type: ignore[arg-type]


def test_a_send_is_stored_in_chunks_and_attributed_in_each_of_them(
    acme: Consentline, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaigns, "FLUSH", 4)
    send(acme, NUMBERS[:10])
    send(acme, NUMBERS[10:18], "exact-multiple")  # 8 = two full chunks, no empty third
    by_send: dict[int, int] = {}
    for chunk in chunks(acme):
        by_send[chunk.send_id] = by_send.get(chunk.send_id, 0) + 1
    assert sorted(by_send.values()) == [2, 3]
    clock.advance(minutes=5)
    for i in (0, 3, 4, 7, 9, 10, 17):  # first and last of each chunk, across the boundaries
        stop(acme, NUMBERS[i])
    attribute(acme, clock)
    assert opt_outs(acme) == {"spring-sale": 5, "exact-multiple": 2}
    [row] = [r for r in report(acme) if r["campaign"] == "spring-sale"]
    assert (row["recipients"], row["allowed"]) == (10, 10)


def test_the_last_send_that_reached_the_number_wins_across_chunks(
    acme: Consentline, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaigns, "FLUSH", 3)
    send(acme, NUMBERS[:9], "first")
    clock.advance(hours=1)
    send(acme, NUMBERS[6:12][::-1], "second")
    clock.advance(minutes=5)
    stop(acme, NUMBERS[7])  # reached by both: the second
    stop(acme, NUMBERS[1])  # only by the first
    stop(acme, NUMBERS[11])  # only by the second
    attribute(acme, clock)
    assert opt_outs(acme) == {"first": 1, "second": 2}


def test_a_send_made_after_the_opt_out_does_not_take_it(acme: Consentline, clock: Clock) -> None:
    send(acme, NUMBERS[:3], "before")
    clock.advance(hours=1)
    stopped_at = clock()
    clock.advance(hours=1)
    send(acme, NUMBERS[:3], "after")  # the STOP is not known yet when this one goes out
    stop(acme, NUMBERS[0], occurred_at=stopped_at)  # reported late, dated when it happened
    attribute(acme, clock)
    assert opt_outs(acme) == {"before": 1, "after": 0}


def test_sends_outside_the_window_are_not_attributed(acme: Consentline, clock: Clock) -> None:
    start = clock()
    send(acme, NUMBERS[:4], "old")
    clock.advance(hours=10)
    send(acme, NUMBERS[2:4], "newer")
    clock.advance(hours=80)
    stop(acme, NUMBERS[0], occurred_at=start + timedelta(hours=75))  # "old" is 75 h back
    stop(acme, NUMBERS[2], occurred_at=start + timedelta(hours=75))  # "newer": 65 h back
    stop(acme, NUMBERS[3], occurred_at=start + timedelta(hours=83))  # 73 h after "newer"
    attribute(acme, clock)
    assert opt_outs(acme) == {"old": 0, "newer": 1}


def test_a_number_the_send_did_not_reach_is_not_attributed(acme: Consentline, clock: Clock) -> None:
    never_opted_in = "+14155559999"
    decisions = send(acme, [*NUMBERS[:5], never_opted_in])
    assert [d.allowed for d in decisions][-1] is False  # denied: not reached
    send(acme, NUMBERS[5:8], "other-line", line=OTHER)
    clock.advance(minutes=5)
    stop(acme, never_opted_in)
    stop(acme, NUMBERS[20])  # opted in, but in no send
    stop(acme, NUMBERS[6])  # reached from the other line only; this STOP is on LINE
    attribute(acme, clock)
    assert opt_outs(acme) == {"spring-sale": 0, "other-line": 0}


def test_a_chunk_write_retried_after_a_failure_is_counted_once(
    acme: Consentline, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaigns, "FLUSH", 3)
    written = CampaignStore.reach_chunk
    calls: list[int] = []

    def flaky(self: CampaignStore, **kw: object) -> None:
        calls.append(int(kw["chunk"]))  # type: ignore[call-overload]
        if len(calls) == 2:
            raise StorageError("the database went away")
        written(self, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(CampaignStore, "reach_chunk", flaky)
    handed: list[str] = []
    decisions = acme.check_many(NUMBERS[:9], from_=LINE, purpose="marketing", campaign="retry")
    with pytest.raises(StorageError):
        handed.extend(d.to for d in decisions)
    assert calls == [0, 1, 1]  # the second chunk's write, retried when the send is closed
    assert len(handed) == 6 and len(chunks(acme)) == 2
    [row] = report(acme)
    assert (row["status"], row["recipients"], row["allowed"]) == ("partial", 6, 6)
    clock.advance(minutes=5)
    stop(acme, NUMBERS[4])  # in the retried chunk
    stop(acme, NUMBERS[7])  # never handed out, so never reached
    attribute(acme, clock)
    assert opt_outs(acme) == {"retry": 1}


def test_writing_the_same_chunk_again_replaces_it(acme: Consentline, clock: Clock) -> None:
    send(acme, NUMBERS[:2], "once")
    [chunk] = chunks(acme)
    line = acme.directory().line(LINE)
    for _ in range(2):
        with acme.units() as uow:
            uow.campaigns.reach_chunk(
                send_id=chunk.send_id,
                chunk=0,
                tenant_id=line.tenant_id,
                channel="sms",
                line_id=line.id,
                at_us=chunk.first_us,
                addresses=NUMBERS[:3],
            )
            uow.commit()
    assert [c.id for c in chunks(acme)] == [chunk.id]
    clock.advance(minutes=5)
    stop(acme, NUMBERS[2])
    stop(acme, NUMBERS[2])  # a second STOP of the same number is a second opt-out event
    attribute(acme, clock)
    assert opt_outs(acme) == {"once": 2}


def test_a_send_retried_by_its_sender_takes_the_opt_out_once(
    acme: Consentline, clock: Clock
) -> None:
    send(acme, NUMBERS[:5], "spring-sale")
    clock.advance(minutes=30)
    send(acme, NUMBERS[:5], "spring-sale")  # sent again after a failure upstream
    clock.advance(minutes=5)
    stop(acme, NUMBERS[2])
    attribute(acme, clock)
    attribute(acme, clock)
    rows = report(acme)
    assert [r["opt_outs"] for r in rows] == [0, 1]  # the later of the two
    assert sum(r["opt_outs"] for r in rows) == 1


def _gateway(cl: Consentline, clock: Clock, number: str, *, minutes: float = 1) -> None:
    line = cl.directory().line(LINE)
    decision = cl.check(number, from_=LINE, purpose="marketing")
    with cl.units() as uow:
        campaigns.record_gateway(
            uow, line, decision, purpose="marketing", campaign="gw", now=clock()
        )
        uow.commit()
    clock.advance(minutes=minutes)


def test_a_gateway_send_fills_chunks_one_message_at_a_time(
    acme: Consentline, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaigns, "GATEWAY_CHUNK", 2)
    for number in [*NUMBERS[:5], NUMBERS[4], NUMBERS[0]]:
        _gateway(acme, clock, number)
    stored = chunks(acme)
    assert len(stored) == 3 and len({c.send_id for c in stored}) == 1
    # The fourth address and its repeat share the third chunk; the first joins it.
    tenant = acme.directory().account("acme").tenant_id
    with acme.units(write=False) as uow:
        held = uow.campaigns.reach_members({c.id: set(NUMBERS[:6]) for c in stored})
    assert sorted(len(v) for v in held.values()) == [2, 2, 2]
    with acme.units(write=False) as uow:
        assert uow.campaigns.reached(tenant, NUMBERS[:6]) == set(NUMBERS[:5])
    stop(acme, NUMBERS[0])
    stop(acme, NUMBERS[3])
    attribute(acme, clock)
    assert opt_outs(acme) == {"gw": 2}


def test_a_gateway_chunk_keeps_the_time_its_numbers_were_reached(
    acme: Consentline, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaigns, "GATEWAY_CHUNK", 2)
    start = clock()
    for number in NUMBERS[:10]:  # one send (never 12 h idle), ten hours between messages
        _gateway(acme, clock, number, minutes=600)
    [row] = report(acme)
    assert row["recipients"] == 10
    # NUMBERS[0]'s chunk was last reached at 10 h (with NUMBERS[1]): its window ends at 82 h,
    # while the send went on until 90 h.
    stop(acme, NUMBERS[0], occurred_at=start + timedelta(hours=83))
    stop(acme, NUMBERS[8], occurred_at=start + timedelta(hours=85))  # 5 h after its message
    attribute(acme, clock)
    assert opt_outs(acme) == {"gw": 1}


def test_the_job_drops_chunks_long_past_their_window(acme: Consentline, clock: Clock) -> None:
    send(acme, NUMBERS[:3], "old")
    clock.now += campaigns.WINDOW + campaigns.KEPT + timedelta(minutes=1)
    send(acme, NUMBERS[:3], "recent")
    stop(acme, NUMBERS[1])
    attribute(acme, clock)
    sends = {r["campaign"]: r["send"] for r in report(acme)}
    assert {c.send_id for c in chunks(acme)} == {sends["recent"]}
    assert opt_outs(acme) == {"old": 0, "recent": 1}


def test_attribution_reads_only_the_chunks_of_the_window(
    acme: Consentline, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaigns, "FLUSH", 2)
    for i in range(3):
        send(acme, NUMBERS[:4], f"old-{i}")
        clock.advance(hours=30)
    clock.advance(hours=50)
    for i in range(2):
        send(acme, NUMBERS[:4], f"new-{i}")
        clock.advance(hours=1)
    new = {r["send"] for r in report(acme) if r["campaign"].startswith("new-")}
    recent = [c.id for c in chunks(acme) if c.send_id in new]
    read: list[list[int]] = []
    members = reach_chunks.members_of

    def spy(conn: object, wanted: Mapping[int, Collection[str]]) -> dict[int, set[str]]:
        read.append(sorted(wanted))
        return members(conn, wanted)  # type: ignore[arg-type]

    monkeypatch.setattr(reach_chunks, "members_of", spy)
    stop(acme, NUMBERS[3])
    attribute(acme, clock)
    assert len(recent) == 4 and len(chunks(acme)) == 10
    assert read == [sorted(recent)]  # one read, and only of the two sends in the window
    assert opt_outs(acme)["new-1"] == 1 and sum(opt_outs(acme).values()) == 1


def test_erasure_takes_the_number_out_of_every_chunk(
    acme: Consentline, db_url: str, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaigns, "FLUSH", 2)
    cl = consentline.connect(db_url, clock=clock, cache_seconds=0.0, erasure_key="k" * 32)
    try:
        send(cl, NUMBERS[:5], "first")  # chunks [0 1] [2 3] [4]
        send(cl, [NUMBERS[4], NUMBERS[0]], "second")  # [4 0]
        tenant = cl.directory().account("acme").tenant_id
        report_ = cl.erase(NUMBERS[4], account="acme")
        assert report_.campaign_reach == 2  # chunks rewritten
        with cl.units(write=False) as uow:
            assert uow.campaigns.reached(tenant, NUMBERS[:5]) == set(NUMBERS[:4])
        assert len(chunks(cl)) == 3  # the chunk that held only the erased number is gone
        stop(cl, NUMBERS[0])
        attribute(cl, clock)
        assert opt_outs(cl) == {"first": 0, "second": 1}
    finally:
        cl.close()


def test_a_round_considers_at_most_max_chunks_the_newest(
    acme: Consentline,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(campaigns, "MAX_CHUNKS", 2)
    send(acme, NUMBERS[:2], "oldest")
    for name in ("middle", "newest"):
        clock.advance(hours=1)
        send(acme, NUMBERS[2:4], name)
    clock.advance(minutes=5)
    stop(acme, NUMBERS[0])  # only "oldest" reached it, and it is the third chunk back
    stop(acme, NUMBERS[2])
    with caplog.at_level("WARNING", logger="consentline.campaigns"):
        attribute(acme, clock)
    assert opt_outs(acme) == {"oldest": 0, "middle": 0, "newest": 1}
    assert "read only the newest 2 reach chunks" in caplog.text
