"""The export queries (storage/exports.py) on SQLite and PostgreSQL: keyset pages,
the consistent cut, filters, and the batched reads of subject access."""

from __future__ import annotations

from datetime import timedelta

from consentline import Consentline
from consentline.domain.ledger import to_us
from tests.conftest import START, Clock, worked_setup

NUMBERS = [f"+1415555{n:04d}" for n in range(10)]


def test_event_pages_follow_the_chain_and_stop_at_the_cut(cl: Consentline, clock: Clock) -> None:
    s = worked_setup(cl)
    for n, number in enumerate(NUMBERS):
        cl.record(number, "opt_in", line=s.L3 if n % 2 else s.L1, source="web_form")
        clock.advance(minutes=1)
    with cl.units(write=False) as uow:
        page = uow.exports.events_page(1, after_seq=2, until_seq=7, limit=3)
        assert [e.seq for e in page] == [3, 4, 5]
        rest = uow.exports.events_page(1, after_seq=5, until_seq=7, limit=3)
        assert [e.seq for e in rest] == [6, 7]  # nothing after the cut
        l3 = f"L{cl.directory().line(s.L3).id}"
        scoped = uow.exports.events_page(1, after_seq=0, until_seq=99, limit=99, scopes={l3})
        assert [e.seq for e in scoped] == [2, 4, 6, 8, 10]
        since = START + timedelta(minutes=3)
        timed = uow.exports.events_page(
            1, after_seq=0, until_seq=99, limit=99, since_us=to_us(since), until_us=to_us(since) + 1
        )
        assert [e.address for e in timed] == [NUMBERS[3]]


def test_state_pages_are_keyed_by_address(cl: Consentline) -> None:
    worked_setup(cl)
    for number in reversed(NUMBERS):
        cl.record(number, "opt_out", account="a", source="keyword")
    with cl.units(write=False) as uow:
        first = uow.exports.state_page(1, "sms", after=None, limit=4)
        second = uow.exports.state_page(1, "sms", after=first[-1][0], limit=100)
    assert [r[0] for r in first + second] == sorted(NUMBERS)


def test_histories_and_subject_reads_are_batched(cl: Consentline) -> None:
    s = worked_setup(cl)
    cl.record(NUMBERS[0], "opt_in", account="a", source="web_form")
    cl.handle_inbound(from_=NUMBERS[0], to=s.L1, text="STOP")
    cl.handle_inbound(from_=NUMBERS[1], to=s.L1, text="cancel my appointment")
    with cl.units(write=False) as uow:
        found = uow.exports.histories(1, "sms", [NUMBERS[0], NUMBERS[1], NUMBERS[2]])
        assert [e.action for e in found[NUMBERS[0]]] == ["opt_in", "opt_out"]
        assert NUMBERS[1] not in found
        inbound = uow.exports.inbound_of(1, NUMBERS[1])
        assert [m.body for m in inbound] == ["cancel my appointment"]
        assert [r.kind for r in uow.exports.outbox_to(1, NUMBERS[0], "sms")] == [
            "opt_out_confirmation"
        ]
        assert uow.exports.outbox_to(1, NUMBERS[0], "whatsapp") == []
        reviews = uow.exports.reviews_for([m.id for m in inbound])
        assert [r.inbound_id for r in reviews] == [inbound[0].id]
        assert uow.exports.reviews_for([]) == []
