"""SQL for outbound webhook subscriptions and their delivery cursors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from consentline.domain.ledger import Event
from consentline.services.ports import SubscriptionRecord
from consentline.storage import schema as t
from consentline.storage.repository import select_events, stored_event


class HookStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(self, **values: Any) -> int:
        result = self.conn.execute(insert(t.webhook_subscriptions).values(**values))
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def get(self, subscription_id: int) -> SubscriptionRecord | None:
        ws = t.webhook_subscriptions.c
        query = select(t.webhook_subscriptions).where(
            ws.id == subscription_id, ws.deleted_us.is_(None)
        )
        row = self.conn.execute(query).first()
        return None if row is None else SubscriptionRecord(*row)

    def of_accounts(self, account_ids: list[int] | None) -> list[SubscriptionRecord]:
        ws = t.webhook_subscriptions.c
        query = select(t.webhook_subscriptions).where(ws.deleted_us.is_(None))
        if account_ids is not None:
            query = query.where(ws.account_id.in_(account_ids))
        return [SubscriptionRecord(*r) for r in self.conn.execute(query.order_by(ws.id))]

    def delete(self, subscription_id: int, now_us: int) -> None:
        ws = t.webhook_subscriptions.c
        self.conn.execute(
            update(t.webhook_subscriptions)
            .where(ws.id == subscription_id, ws.deleted_us.is_(None))
            .values(deleted_us=now_us, lease_until_us=None)
        )

    def chain_seq(self, tenant_id: int) -> int:
        query = select(t.tenants.c.chain_seq).where(t.tenants.c.id == tenant_id)
        return int(self.conn.execute(query).scalar_one())

    def due(self, now_us: int, limit: int) -> list[SubscriptionRecord]:
        """Live subscriptions behind their tenant's chain, due, and not leased."""
        ws, tn = t.webhook_subscriptions.c, t.tenants.c
        query = (
            select(t.webhook_subscriptions)
            .join(t.tenants, tn.id == ws.tenant_id)
            .where(
                ws.deleted_us.is_(None),
                ws.cursor_seq < tn.chain_seq,
                ws.next_attempt_us <= now_us,
                or_(ws.lease_until_us.is_(None), ws.lease_until_us < now_us),
            )
            .order_by(ws.next_attempt_us)
            .limit(limit)
        )
        return [SubscriptionRecord(*r) for r in self.conn.execute(query)]

    def lease(self, subscription_id: int, now_us: int, until_us: int) -> bool:
        """Claim a subscription for one worker (atomic on both databases)."""
        ws = t.webhook_subscriptions.c
        result = self.conn.execute(
            update(t.webhook_subscriptions)
            .where(
                ws.id == subscription_id,
                ws.deleted_us.is_(None),
                or_(ws.lease_until_us.is_(None), ws.lease_until_us < now_us),
            )
            .values(lease_until_us=until_us)
        )
        return result.rowcount == 1

    def events_after(self, tenant_id: int, seq: int, limit: int) -> list[Event]:
        ev = t.events.c
        query = (
            select_events()
            .where(and_(ev.tenant_id == tenant_id, ev.seq > seq))
            .order_by(ev.seq)
            .limit(limit)
        )
        return [stored_event(r).event() for r in self.conn.execute(query)]

    def advance(self, subscription_id: int, cursor_seq: int, delivered: int, now_us: int) -> None:
        """Move the cursor forward (never back) after deliveries or skips."""
        ws = t.webhook_subscriptions.c
        values: dict[str, Any] = {
            "cursor_seq": cursor_seq,
            "delivered": ws.delivered + delivered,
            "attempts": 0,
            "last_error": None,
        }
        if delivered:
            values["last_success_us"] = now_us
        self.conn.execute(
            update(t.webhook_subscriptions)
            .where(ws.id == subscription_id, ws.cursor_seq < cursor_seq)
            .values(**values)
        )

    def release(
        self,
        subscription_id: int,
        *,
        next_attempt_us: int,
        attempts: int | None = None,
        error: str | None = None,
    ) -> None:
        ws = t.webhook_subscriptions.c
        values: dict[str, Any] = {"lease_until_us": None, "next_attempt_us": next_attempt_us}
        if attempts is not None:
            values["attempts"] = attempts
            values["last_error"] = error
        self.conn.execute(
            update(t.webhook_subscriptions).where(ws.id == subscription_id).values(**values)
        )
