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
from consentline.inbound import InboundMessage, InboundResult
from tests.conftest import Clock

LINE = "+18005550100"


class Counting(Consentline):
    """The real client, noting the size of every batch it commits."""

    batches: list[int]

    def handle_inbound_many(self, messages: Iterable[InboundMessage]) -> list[InboundResult]:
        batch = list(messages)
        self.batches.append(len(batch))
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
