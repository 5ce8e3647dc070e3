"""SQL for the web UI's pages: a number's history one page at a time."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, func, select

from consentline.domain.ledger import Event
from consentline.storage import schema as t
from consentline.storage.repository import select_events, stored_event


class PageStore:
    """``services.ports.PageRepository`` on one connection (``ix_events_history``)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def history_count(
        self, tenant_id: int, address: str, channel: str, scopes: Collection[str]
    ) -> int:
        ev = t.events.c
        query = (
            select(func.count())
            .select_from(t.events)
            .where(
                ev.tenant_id == tenant_id,
                ev.channel == channel,
                ev.address == address,
                ev.scope.in_(sorted(scopes)),
            )
        )
        return int(self.conn.execute(query).scalar_one())

    def history_page(
        self,
        tenant_id: int,
        address: str,
        channel: str,
        scopes: Collection[str],
        *,
        offset: int,
        limit: int,
    ) -> list[Event]:
        """Newest first (occurred, then ledger order), ``limit`` from ``offset``."""
        ev = t.events.c
        query = (
            select_events()
            .where(
                ev.tenant_id == tenant_id,
                ev.channel == channel,
                ev.address == address,
                ev.scope.in_(sorted(scopes)),
            )
            .order_by(ev.occurred_us.desc(), ev.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [stored_event(r).event() for r in self.conn.execute(query)]
