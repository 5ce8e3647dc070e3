"""SQL for exports, snapshots and data-subject access (C21, C28): keyset pages and a
few indexed reads, never a query per row.

Pages are keyed on an index's leading columns: events on ``(tenant_id, seq)``
(the chain's unique constraint), projection rows on the primary key
``(tenant_id, channel, address)``, so each page costs the same however deep into
the ledger it is, and memory holds one page at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Connection, select

from consentline.domain.ledger import StoredEvent
from consentline.services.ports import InboundRecord, OutboxRecord, ReviewRecord, StateRow
from consentline.storage import schema as t
from consentline.storage.inbox import _review_select
from consentline.storage.repository import select_events, stored_event

_IN_CHUNK = 500
_ev = t.events.c
_cs = t.consent_state.c


class ExportStore:
    """``services.ports.ExportRepository`` on a unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def events_page(
        self,
        tenant_id: int,
        *,
        after_seq: int,
        until_seq: int,
        limit: int,
        scopes: Collection[str] | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> list[StoredEvent]:
        """Events with ``after_seq < seq <= until_seq`` in chain order, at most ``limit``
        rows; only those with a scope in ``scopes`` and recorded in
        ``[since_us, until_us)`` when given."""
        query = (
            select_events()
            .where(_ev.tenant_id == tenant_id, _ev.seq > after_seq, _ev.seq <= until_seq)
            .order_by(_ev.seq)
            .limit(limit)
        )
        if scopes is not None:
            query = query.where(_ev.scope.in_(sorted(scopes)))
        if since_us is not None:
            query = query.where(_ev.recorded_us >= since_us)
        if until_us is not None:
            query = query.where(_ev.recorded_us < until_us)
        return [stored_event(r) for r in self.conn.execute(query)]

    def state_page(
        self, tenant_id: int, channel: str, *, after: str | None, limit: int
    ) -> list[StateRow]:
        """Projection rows ``(address, shape, ids, times, max_us)`` after ``after``,
        in address order: a primary-key range."""
        query = (
            select(_cs.address, _cs.shape, _cs.ids, _cs.times, _cs.max_us)
            .where(_cs.tenant_id == tenant_id, _cs.channel == channel)
            .order_by(_cs.address)
            .limit(limit)
        )
        if after is not None:
            query = query.where(_cs.address > after)
        return [(r[0], r[1], r[2], r[3], int(r[4])) for r in self.conn.execute(query)]

    def histories(
        self, tenant_id: int, channel: str, addresses: Sequence[str]
    ) -> dict[str, list[StoredEvent]]:
        """Every event of each address, in fold order (occurred, then id): IN chunks
        on the history index."""
        found: dict[str, list[StoredEvent]] = {}
        unique = list(dict.fromkeys(addresses))
        for start in range(0, len(unique), _IN_CHUNK):
            query = (
                select_events()
                .where(
                    _ev.tenant_id == tenant_id,
                    _ev.channel == channel,
                    _ev.address.in_(unique[start : start + _IN_CHUNK]),
                )
                .order_by(_ev.address, _ev.occurred_us, _ev.id)
            )
            for r in self.conn.execute(query):
                event = stored_event(r)
                found.setdefault(event.address, []).append(event)
        return found

    def inbound_of(
        self, tenant_id: int, address: str, channel: str | None = None
    ) -> list[InboundRecord]:
        """The inbound messages from ``address`` (index ``ix_inbound_messages_subject``)."""
        im = t.inbound_messages.c
        query = (
            select(t.inbound_messages)
            .where(im.tenant_id == tenant_id, im.address == address)
            .order_by(im.received_us, im.id)
        )
        if channel is not None:
            query = query.where(im.channel == channel)
        return [InboundRecord(*r) for r in self.conn.execute(query)]

    def outbox_to(
        self, tenant_id: int, address: str, channel: str | None = None
    ) -> list[OutboxRecord]:
        """The replies to ``address`` (index ``ix_outbox_subject``)."""
        ob = t.outbox.c
        query = (
            select(t.outbox)
            .where(ob.tenant_id == tenant_id, ob.to_address == address)
            .order_by(ob.created_us, ob.id)
        )
        if channel is not None:
            query = query.where(ob.channel == channel)
        return [OutboxRecord(*r) for r in self.conn.execute(query)]

    def reviews_for(self, inbound_ids: Sequence[int]) -> list[ReviewRecord]:
        """The review items about these inbound messages (index on ``inbound_id``)."""
        found: list[ReviewRecord] = []
        unique = list(dict.fromkeys(inbound_ids))  # none: no query at all
        ri = t.review_items.c
        for start in range(0, len(unique), _IN_CHUNK):
            query = (
                _review_select()
                .where(ri.inbound_id.in_(unique[start : start + _IN_CHUNK]))
                .order_by(ri.id)
            )
            found.extend(ReviewRecord(*r) for r in self.conn.execute(query))
        return found
