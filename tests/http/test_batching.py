"""Group commit of inbound webhooks (consentline.http.batching)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import consentline
from consentline import Consentline
from consentline.domain.errors import UnknownLine
from consentline.http.batching import InboundBatcher
from consentline.services.inbound import InboundMessage, InboundResult
from tests.conftest import Clock
from tests.http import _signed

LINE = "+18005550100"


class Counting(Consentline):
    """The real client, noting the size of every batch it commits.

    A message whose text is in ``poison`` makes any transaction holding it fail with
    an error that is not the library's (a driver error, a bug); one in ``poison_alone``
    fails even when handled on its own.
    """

    batches: list[int]
    poison: frozenset[str] = frozenset({"POISON", "POISON ALWAYS"})
    poison_alone: frozenset[str] = frozenset({"POISON ALWAYS"})

    def handle_inbound_many(self, messages: Iterable[InboundMessage]) -> list[InboundResult]:
        batch = list(messages)
        self.batches.append(len(batch))
        texts = {m.text for m in batch}
        if texts & self.poison_alone or (len(batch) > 1 and texts & self.poison):
            raise RuntimeError("not a ConsentlineError")
        return super().handle_inbound_many(batch)


@pytest.fixture
def cl(tmp_path: Path, clock: Clock) -> Iterator[Counting]:
    base = consentline.connect(f"sqlite:///{tmp_path / 'b.db'}", clock=clock)
    client = Counting(base.engine, clock=clock, cache_seconds=0.0)
    client.batches = []
    client.create_account("acme", default_region="US")
    client.add_line(LINE, account="acme")
    try:
        yield client
    finally:
        client.close()


def message(n: int, to: str = LINE, text: str = "STOP") -> InboundMessage:
    return InboundMessage(
        from_=f"+1415555{n:04d}", to=to, text=text, provider="twilio", message_id=f"SM{n}"
    )


def test_requests_arriving_together_share_one_commit(cl: Counting) -> None:
    batcher = InboundBatcher(cl)

    async def burst() -> list[list[InboundResult]]:
        return await asyncio.gather(*(batcher.handle([message(n)]) for n in range(20)))

    results = asyncio.run(burst())
    assert [r[0].event.action for r in results if r[0].event] == ["opt_out"] * 20
    assert sum(cl.batches) == 20 and len(cl.batches) < 20  # grouped


def test_a_lone_request_is_committed_at_once_without_waiting_for_company(
    cl: Counting,
) -> None:
    [result] = asyncio.run(InboundBatcher(cl).handle([message(1)]))
    assert cl.batches == [1] and result.event is not None


def test_one_bad_request_does_not_fail_the_others_in_its_group(cl: Counting) -> None:
    batcher = InboundBatcher(cl)

    async def burst() -> list[list[InboundResult] | BaseException]:
        calls = [batcher.handle([message(n)]) for n in range(6)]
        calls.insert(3, batcher.handle([message(99, to="+18005550999")]))
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(burst())
    assert isinstance(outcomes[3], UnknownLine)
    good = [o for i, o in enumerate(outcomes) if i != 3]
    assert all(isinstance(o, list) and o[0].event is not None for o in good)
    assert len(cl.history("+14155550000", account="acme")) == 1


def test_any_error_is_confined_to_the_request_that_caused_it(cl: Counting) -> None:
    """Issue 8 #1: not only library errors; whatever fails a group is retried alone."""
    batcher = InboundBatcher(cl)

    async def burst() -> list[list[InboundResult] | BaseException]:
        calls = [batcher.handle([message(n)]) for n in range(30)]
        for at in (5, 17, 29):
            calls.insert(at, batcher.handle([message(100 + at, text="POISON")]))
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(burst())
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert errors == []  # the poisoned messages, handled alone, are recorded too
    for n in range(30):
        assert cl.check(f"+1415555{n:04d}", from_=LINE, purpose="marketing").reason == "opted_out"
    assert max(cl.batches) > 1  # the poison did share a group before being retried


def test_a_lone_retry_that_fails_errors_only_that_request(cl: Counting) -> None:
    batcher = InboundBatcher(cl)

    async def burst() -> list[list[InboundResult] | BaseException]:
        calls = [batcher.handle([message(n)]) for n in range(10)]
        calls.insert(4, batcher.handle([message(99, text="POISON ALWAYS")]))
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = asyncio.run(burst())
    assert isinstance(outcomes[4], RuntimeError)
    good = [o for i, o in enumerate(outcomes) if i != 4]
    assert all(isinstance(o, list) and o[0].event is not None for o in good), good
    assert cl.history("+14155550099", account="acme") == []


def test_a_retry_inside_the_same_group_is_answered_as_a_duplicate(cl: Counting) -> None:
    batcher = InboundBatcher(cl)

    async def burst() -> list[list[InboundResult]]:
        return await asyncio.gather(*(batcher.handle([message(7)]) for _ in range(5)))

    results = [r[0] for r in asyncio.run(burst())]
    assert sum(not r.duplicate for r in results) == 1
    assert len(cl.history("+14155550007", account="acme")) == 1


def test_no_messages_commit_nothing(cl: Counting) -> None:
    assert asyncio.run(InboundBatcher(cl).handle([])) == []
    assert cl.batches == []


def test_a_group_never_exceeds_its_size_limit(cl: Counting) -> None:
    batcher = InboundBatcher(cl, max_batch=4)

    async def burst() -> None:
        await asyncio.gather(*(batcher.handle([message(n)]) for n in range(13)))

    asyncio.run(burst())
    assert max(cl.batches) <= 4 and sum(cl.batches) == 13


# -- over HTTP: signed webhooks on both databases --------------------------------------
@pytest.fixture
def hooks(db_url: str) -> Iterator[_signed.Hooks]:
    found, close = _signed.open_hooks(db_url)
    try:
        yield found
    finally:
        close()


def test_valid_stops_sent_beside_poisoned_webhooks_are_all_recorded(
    hooks: _signed.Hooks,
) -> None:
    """Issue 8 #1: 30 signed STOPs at once with 3 messages holding a NUL (Twilio form)
    and 3 holding a lone surrogate (Sinch JSON): no valid STOP is lost, nothing is 5xx."""
    handset = _signed.Handsets()
    valid = {handset(): n for n in range(30)}
    requests = [
        _signed.build(
            "twilio" if n % 2 else "sinch", {"text": "STOP", "from": number, "id": f"V{n}"}
        )[0]
        for number, n in valid.items()
    ]
    poisoned = [
        _signed.build("twilio", {"text": "STOP\x00", "from": handset(), "id": f"N{n}"})[0]
        for n in range(3)
    ] + [
        _signed.build("sinch", {"text": "\ud800STOP", "from": handset(), "id": f"S{n}"})[0]
        for n in range(3)
    ]
    for at, request in zip((3, 9, 14, 20, 26, 31), poisoned, strict=True):
        requests.insert(at, request)

    answers = hooks.send_all(requests)

    assert [a.status_code for a in answers if a.status_code >= 500] == []
    for number in valid:
        assert hooks.denied(number), number
    assert all(a.status_code < 300 for a in answers)  # the poisoned ones are STOPs too
