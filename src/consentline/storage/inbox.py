"""SQL for inbound messages, the reply outbox and the review queue."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, func, select, update

from consentline.services.ports import (
    InboundRecord,
    OutboxHealthRecord,
    OutboxRecord,
    ReviewRecord,
)
from consentline.storage import schema as t

_IN_CHUNK = 500


class InboxStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- settings ----------------------------------------------------------------------
    def all_settings(self) -> dict[int, dict[str, Any]]:
        return {
            int(r.id): json.loads(r.settings)
            for r in self.conn.execute(select(t.accounts.c.id, t.accounts.c.settings))
        }

    def save_settings(self, account_id: int, settings: Mapping[str, Any]) -> None:
        self.conn.execute(
            update(t.accounts)
            .where(t.accounts.c.id == account_id)
            .values(settings=json.dumps(settings, sort_keys=True))
        )

    # -- inbound messages --------------------------------------------------------------
    def find_inbound(
        self, tenant_id: int, provider: str, ids: Iterable[str]
    ) -> dict[str, InboundRecord]:
        found: dict[str, InboundRecord] = {}
        unique = list(dict.fromkeys(ids))
        im = t.inbound_messages.c
        for start in range(0, len(unique), _IN_CHUNK):
            query = select(t.inbound_messages).where(
                im.tenant_id == tenant_id,
                im.provider == provider,
                im.message_id.in_(unique[start : start + _IN_CHUNK]),
            )
            for r in self.conn.execute(query):
                found[r.message_id] = InboundRecord(*r)
        return found

    def insert_inbound(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        result = self.conn.execute(
            t.inbound_messages.insert().returning(
                t.inbound_messages.c.id, sort_by_parameter_order=True
            ),
            rows,
        )
        return [int(r[0]) for r in result]

    # -- outbox ------------------------------------------------------------------------
    def insert_outbox(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        result = self.conn.execute(
            t.outbox.insert().returning(t.outbox.c.id, sort_by_parameter_order=True), rows
        )
        return [int(r[0]) for r in result]

    def outbox_for_inbound(self, inbound_ids: Iterable[int]) -> dict[int, OutboxRecord]:
        found: dict[int, OutboxRecord] = {}
        unique = list(dict.fromkeys(inbound_ids))
        for start in range(0, len(unique), _IN_CHUNK):
            query = select(t.outbox).where(
                t.outbox.c.inbound_id.in_(unique[start : start + _IN_CHUNK])
            )
            for r in self.conn.execute(query):
                found[int(r.inbound_id)] = OutboxRecord(*r)
        return found

    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[OutboxRecord]:
        query = select(t.outbox).order_by(t.outbox.c.id).limit(limit)
        if status is not None:
            query = query.where(t.outbox.c.status == status)
        return [OutboxRecord(*r) for r in self.conn.execute(query)]

    def any_due_outbox(self, now_us: int) -> bool:
        """Is anything pending and due? (a read, so an idle sender writes nothing)"""
        query = (
            select(t.outbox.c.id)
            .where(t.outbox.c.status == "pending", t.outbox.c.next_attempt_us <= now_us)
            .limit(1)
        )
        return self.conn.execute(query).first() is not None

    def due_outbox(self, now_us: int, limit: int) -> list[OutboxRecord]:
        query = (
            select(t.outbox)
            .where(t.outbox.c.status == "pending", t.outbox.c.next_attempt_us <= now_us)
            .order_by(t.outbox.c.next_attempt_us, t.outbox.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [OutboxRecord(*r) for r in self.conn.execute(query)]

    def inbound_providers(self, inbound_ids: Iterable[int]) -> dict[int, str]:
        """The provider each inbound message came through."""
        im = t.inbound_messages.c
        return {int(k): str(v) for k, v in self._by_ids(im.id, im.provider, inbound_ids)}

    def set_outbox(self, ids: Sequence[int], **values: Any) -> None:
        if ids:
            self.conn.execute(update(t.outbox).where(t.outbox.c.id.in_(ids)).values(**values))

    def outbox_health(
        self, tenant_id: int, from_lines: Sequence[str], now_us: int, cap: int
    ) -> OutboxHealthRecord:
        """The dashboard's outbox figures for replies sent from ``from_lines``.

        Every read starts from ``ix_outbox_due (status, next_attempt_us)``, never from
        the rows already sent (the bulk of the table), and each count stops at
        ``cap + 1`` rows, so the cost is bounded however far behind the sender is.
        """
        o = t.outbox.c
        lines = sorted(set(from_lines))
        if not lines:
            return OutboxHealthRecord(0, 0, 0, 0, None)
        mine = (o.tenant_id == tenant_id, o.from_line.in_(lines))

        def capped(status: str, low: int, high: int) -> int:
            inner = (
                select(o.id)
                .where(o.status == status, o.next_attempt_us >= low, o.next_attempt_us < high)
                .where(*mine)
                .limit(cap + 1)
                .subquery()
            )
            return int(self.conn.execute(select(func.count()).select_from(inner)).scalar_one())

        never, ever = -(2**62), 2**62
        oldest = self.conn.execute(
            select(o.next_attempt_us)
            .where(o.status == "pending", o.next_attempt_us >= never, o.next_attempt_us <= now_us)
            .where(*mine)
            .order_by(o.next_attempt_us)
            .limit(1)
        ).scalar()
        return OutboxHealthRecord(
            due=capped("pending", never, now_us + 1),
            waiting=capped("pending", now_us + 1, ever),
            failed=capped("failed", never, ever),
            dropped=capped("dropped", never, ever),
            oldest_due_us=None if oldest is None else int(oldest),
        )

    # -- review queue ------------------------------------------------------------------
    def insert_review(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        if not rows:
            return []
        result = self.conn.execute(
            t.review_items.insert().returning(t.review_items.c.id, sort_by_parameter_order=True),
            rows,
        )
        return [int(r[0]) for r in result]

    def review_for_inbound(self, inbound_ids: Iterable[int]) -> dict[int, int]:
        ri = t.review_items.c
        return {int(k): int(v) for k, v in self._by_ids(ri.inbound_id, ri.id, inbound_ids)}

    def _by_ids(self, key: Any, value: Any, ids: Iterable[int]) -> Iterator[tuple[Any, Any]]:
        """``(key, value)`` of the rows whose ``key`` is in ``ids``, in IN chunks."""
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _IN_CHUNK):
            query = select(key, value).where(key.in_(unique[start : start + _IN_CHUNK]))
            yield from ((r[0], r[1]) for r in self.conn.execute(query))

    def review_items(
        self, tenant_ids: Sequence[int], status: str | None, limit: int
    ) -> list[ReviewRecord]:
        ri = t.review_items.c
        query = _review_select().where(ri.tenant_id.in_(tenant_ids)).order_by(ri.id).limit(limit)
        if status is not None:
            query = query.where(ri.status == status)
        return [ReviewRecord(*r) for r in self.conn.execute(query)]

    def review_item(self, item_id: int, *, lock: bool = False) -> ReviewRecord | None:
        query = _review_select().where(t.review_items.c.id == item_id)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update(of=t.review_items)
        row = self.conn.execute(query).one_or_none()
        return None if row is None else ReviewRecord(*row)

    def decide_review(self, item_id: int, **values: Any) -> None:
        self.conn.execute(
            update(t.review_items).where(t.review_items.c.id == item_id).values(**values)
        )


def _review_select() -> Select[Any]:
    """A review item's columns, then its message's, in ReviewRecord's order."""
    im = t.inbound_messages.c
    return select(
        t.review_items,
        im.address,
        im.body,
        im.received_us,
        im.line_id,
        im.channel,
        im.classification,
        im.provider,
        im.message_id,
    ).join(t.inbound_messages, im.id == t.review_items.c.inbound_id)
