"""Group commit for inbound webhooks: concurrent requests share one transaction.

Every webhook must be durable before it is answered (a 2xx means the opt-out is
committed), and a durable commit costs a disk flush. One flush per request caps a
worker at a few hundred messages a second; a provider sending a burst of replies
sends them concurrently, so the requests that arrive while one commit is being
flushed are committed together by the next, and each is answered when *its*
commit has returned. Nothing waits on a timer: an idle server commits a lone
request at once.

If a combined batch fails, for whatever reason (one request names a line that does
not exist, holds a value the database refuses, or trips a bug), the requests of
that batch are committed one by one, each in its own transaction, so each gets its
own answer and no request fails for another's fault: a valid STOP sent beside a
poisoned message is still recorded. A request whose own commit fails gets that
error alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from starlette.concurrency import run_in_threadpool

from consentline.client import Consentline
from consentline.services.inbound import InboundMessage, InboundResult

MAX_BATCH: Final = 500


@dataclass
class _Item:
    messages: Sequence[InboundMessage]
    future: asyncio.Future[list[InboundResult]]


class InboundBatcher:
    """``await batcher.handle(messages)``: handle_inbound_many, committed in groups.

    Used from the event loop only (its queue needs no lock); the commits run on
    the thread pool, one at a time, which is also what SQLite's single writer wants.
    """

    def __init__(self, client: Consentline, *, max_batch: int = MAX_BATCH) -> None:
        self._client = client
        self._max_batch = max_batch
        self._queue: list[_Item] = []
        self._drainer: asyncio.Task[None] | None = None

    async def handle(self, messages: Sequence[InboundMessage]) -> list[InboundResult]:
        if not messages:
            return []
        loop = asyncio.get_running_loop()
        item = _Item(messages, loop.create_future())
        self._queue.append(item)
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        return await item.future

    async def _drain(self) -> None:
        while self._queue:
            batch: list[_Item] = []
            size = 0
            while self._queue and (
                not batch or size + len(self._queue[0].messages) <= self._max_batch
            ):
                item = self._queue.pop(0)
                batch.append(item)
                size += len(item.messages)
            try:
                outcomes = await run_in_threadpool(self._commit, batch)
            except Exception as error:  # _commit confines errors; this is a last resort
                outcomes = [error] * len(batch)
            for item, outcome in zip(batch, outcomes, strict=True):
                if item.future.done():  # the request went away (client disconnected)
                    continue
                if isinstance(outcome, BaseException):
                    item.future.set_exception(outcome)
                else:
                    item.future.set_result(outcome)

    def _commit(self, batch: list[_Item]) -> list[list[InboundResult] | BaseException]:
        """One transaction for the whole batch; on any failure, one per request."""
        combined = [m for item in batch for m in item.messages]
        try:
            results = self._client.handle_inbound_many(combined)
        except Exception as error:  # whatever it is, it may be one request's fault
            if len(batch) == 1:
                return [error]
        else:
            outcomes: list[list[InboundResult] | BaseException] = []
            start = 0
            for item in batch:
                outcomes.append(results[start : start + len(item.messages)])
                start += len(item.messages)
            return outcomes
        alone: list[list[InboundResult] | BaseException] = []
        for item in batch:
            try:
                alone.append(self._client.handle_inbound_many(item.messages))
            except Exception as error:  # each request gets its own error
                alone.append(error)
        return alone
