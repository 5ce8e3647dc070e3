"""SQL for campaign sends, their reach, attribution, gateway tallies and alerts.

The reach of a send (which addresses it reached) is stored in compressed chunks, one
row per up to 50,000 addresses: see :mod:`consentline.storage.reach_chunks`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, String, cast, func, insert, literal, select, update

from consentline.services.ports import AlertRecord, CampaignSendRecord, ReachChunk
from consentline.storage import reach_chunks
from consentline.storage import schema as t

_IN_CHUNK = 5000


def _send(row: Any) -> CampaignSendRecord:
    return CampaignSendRecord(*row)


class CampaignStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def _upsert(self, table: Any, keys: list[str], values: Mapping[str, Any], **set_: Any) -> None:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert  # type: ignore[assignment]
        statement = upsert(table).values(**values)
        self.conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=set_))

    # -- sends ---------------------------------------------------------------------------
    def open_send(self, **values: Any) -> int:
        key = self.conn.execute(insert(t.campaign_sends).values(**values)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def finish_send(
        self, send_id: int, *, status: str, recipients: int, allowed: int, last_us: int
    ) -> None:
        cs = t.campaign_sends.c
        self.conn.execute(
            update(t.campaign_sends)
            .where(cs.id == send_id)
            .values(status=status, recipients=recipients, allowed=allowed, last_us=last_us)
        )

    def add_reasons(self, send_id: int, counts: Mapping[str, int]) -> None:
        table = t.campaign_send_reasons
        for reason, count in counts.items():
            if count:
                self._upsert(
                    table,
                    ["send_id", "reason"],
                    {"send_id": send_id, "reason": reason, "count": count},
                    count=table.c.count + count,
                )

    def add_to_send(self, send_id: int, *, recipients: int, allowed: int, last_us: int) -> None:
        cs = t.campaign_sends.c
        self.conn.execute(
            update(t.campaign_sends)
            .where(cs.id == send_id)
            .values(
                recipients=cs.recipients + recipients,
                allowed=cs.allowed + allowed,
                last_us=func.max(cs.last_us, last_us)
                if self.dialect == "sqlite"
                else func.greatest(cs.last_us, last_us),
            )
        )

    def gateway_send(
        self, tenant_id: int, line_id: int, campaign: str, purpose: str, since_us: int
    ) -> int | None:
        cs = t.campaign_sends.c
        query = (
            select(cs.id)
            .where(
                cs.tenant_id == tenant_id,
                cs.line_id == line_id,
                cs.campaign == campaign,
                cs.purpose == purpose,
                cs.kind == "gateway",
                cs.last_us >= since_us,
            )
            .order_by(cs.id.desc())
            .limit(1)
        )
        found = self.conn.execute(query).scalar()
        return None if found is None else int(found)

    # -- reach (storage.reach_chunks) ----------------------------------------------------
    def reach_chunk(
        self,
        *,
        send_id: int,
        chunk: int,
        tenant_id: int,
        channel: str,
        line_id: int,
        at_us: int,
        addresses: Sequence[str],
    ) -> None:
        reach_chunks.write(
            self.conn,
            send_id=send_id,
            chunk=chunk,
            tenant_id=tenant_id,
            channel=channel,
            line_id=line_id,
            at_us=at_us,
            addresses=addresses,
        )

    def reach_one(
        self,
        *,
        send_id: int,
        tenant_id: int,
        channel: str,
        line_id: int,
        at_us: int,
        address: str,
        full: int,
    ) -> None:
        reach_chunks.append(
            self.conn,
            send_id=send_id,
            tenant_id=tenant_id,
            channel=channel,
            line_id=line_id,
            at_us=at_us,
            address=address,
            full=full,
        )

    def reach_candidates(
        self,
        tenant_id: int,
        channels: Collection[str],
        after_us: int,
        until_us: int,
        limit: int | None = None,
    ) -> list[ReachChunk]:
        return reach_chunks.candidates(self.conn, tenant_id, channels, after_us, until_us, limit)

    def reach_members(self, wanted: Mapping[int, Collection[str]]) -> dict[int, set[str]]:
        return reach_chunks.members_of(self.conn, wanted)

    def reached(self, tenant_id: int, addresses: Collection[str]) -> set[str]:
        return reach_chunks.reached(self.conn, tenant_id, addresses)

    def erase_address(self, tenant_id: int, address: str) -> int:
        return reach_chunks.erase(self.conn, tenant_id, address)

    def prune_reach(self, tenant_id: int, before_us: int) -> int:
        return reach_chunks.prune(self.conn, tenant_id, before_us)

    # -- gateway ---------------------------------------------------------------------------
    def tally_gateway(
        self, tenant_id: int, line_id: int, bucket_us: int, allowed: bool, reason: str
    ) -> None:
        table = t.gateway_tallies
        self._upsert(
            table,
            ["tenant_id", "line_id", "bucket_us", "allowed", "reason"],
            {
                "tenant_id": tenant_id,
                "line_id": line_id,
                "bucket_us": bucket_us,
                "allowed": allowed,
                "reason": reason,
                "count": 1,
            },
            count=table.c.count + 1,
        )

    def gateway_counts(
        self,
        tenant_id: int,
        line_ids: Collection[int] | None,
        since_us: int | None,
        until_us: int | None,
    ) -> list[tuple[int, int, bool, str, int]]:
        g = t.gateway_tallies.c
        query = select(g.line_id, g.bucket_us, g.allowed, g.reason, g.count).where(
            g.tenant_id == tenant_id
        )
        if line_ids is not None:
            query = query.where(g.line_id.in_(sorted(line_ids)))
        if since_us is not None:
            query = query.where(g.bucket_us >= since_us)
        if until_us is not None:
            query = query.where(g.bucket_us < until_us)
        return [
            (int(a), int(b), bool(c), str(d), int(e)) for a, b, c, d, e in self.conn.execute(query)
        ]

    # -- attribution -----------------------------------------------------------------------
    def cursor(self, tenant_id: int) -> int | None:
        cc = t.campaign_cursors.c
        found = self.conn.execute(select(cc.cursor_seq).where(cc.tenant_id == tenant_id)).scalar()
        return None if found is None else int(found)

    def set_cursor(self, tenant_id: int, seq: int) -> None:
        self._upsert(
            t.campaign_cursors,
            ["tenant_id"],
            {"tenant_id": tenant_id, "cursor_seq": seq},
            cursor_seq=seq,
        )

    def chain_tenants(self) -> list[tuple[int, int]]:
        """(tenant id, chain seq) of the tenants that have campaign sends."""
        tn, cs = t.tenants.c, t.campaign_sends.c
        has_sends = select(cs.tenant_id).distinct().scalar_subquery()
        query = select(tn.id, tn.chain_seq).where(tn.id.in_(has_sends)).order_by(tn.id)
        return [(int(a), int(b)) for a, b in self.conn.execute(query)]

    def opt_outs_after(
        self, tenant_id: int, seq: int, limit: int
    ) -> list[tuple[int, str, str, str, int]]:
        """(seq, channel, address, scope, occurred_us) of the opt-outs after ``seq``,
        and the seq of the last event read (as a row with an empty address)."""
        e = t.events.c
        window = (
            select(e.seq, e.channel, e.address, e.scope, e.occurred_us, e.action)
            .where(e.tenant_id == tenant_id, e.seq > seq)
            .order_by(e.seq)
            .limit(limit)
        )
        rows = list(self.conn.execute(window))
        found = [
            (int(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]))
            for r in rows
            if r[5] == "opt_out"
        ]
        if rows and (not found or found[-1][0] != int(rows[-1][0])):
            found.append((int(rows[-1][0]), "", "", "", 0))
        return found

    def add_opt_outs(self, counts: Mapping[int, int]) -> None:
        cs = t.campaign_sends.c
        for send_id, count in counts.items():
            self.conn.execute(
                update(t.campaign_sends)
                .where(cs.id == send_id)
                .values(opt_outs=cs.opt_outs + count)
            )

    def sends(self, ids: Collection[int]) -> list[CampaignSendRecord]:
        cs = t.campaign_sends.c
        query = select(t.campaign_sends).where(cs.id.in_(sorted(ids))).order_by(cs.id)
        return [_send(r) for r in self.conn.execute(query)]

    def earlier_sends(
        self, account_id: int, before_us: int, limit: int
    ) -> list[CampaignSendRecord]:
        cs = t.campaign_sends.c
        query = (
            select(t.campaign_sends)
            .where(cs.account_id == account_id, cs.sent_us < before_us, cs.status != "open")
            .order_by(cs.sent_us.desc(), cs.id.desc())
            .limit(limit)
        )
        return [_send(r) for r in self.conn.execute(query)]

    def sends_between(
        self,
        tenant_id: int,
        line_ids: Collection[int] | None,
        since_us: int | None,
        until_us: int | None,
    ) -> list[CampaignSendRecord]:
        cs = t.campaign_sends.c
        query = select(t.campaign_sends).where(cs.tenant_id == tenant_id)
        if line_ids is not None:
            query = query.where(cs.line_id.in_(sorted(line_ids)))
        if since_us is not None:
            query = query.where(cs.sent_us >= since_us)
        if until_us is not None:
            query = query.where(cs.sent_us < until_us)
        return [_send(r) for r in self.conn.execute(query.order_by(cs.sent_us, cs.id))]

    def reasons_of(self, send_ids: Collection[int]) -> dict[int, dict[str, int]]:
        r = t.campaign_send_reasons.c
        found: dict[int, dict[str, int]] = {}
        ids = sorted(send_ids)
        for start in range(0, len(ids), _IN_CHUNK):
            query = select(r.send_id, r.reason, r.count).where(
                r.send_id.in_(ids[start : start + _IN_CHUNK])
            )
            for send_id, reason, count in self.conn.execute(query):
                found.setdefault(int(send_id), {})[str(reason)] = int(count)
        return found

    def mark_spike(self, send_id: int, now_us: int) -> bool:
        """Mark a send's spike alerted; False if it already was (one alert per send)."""
        cs = t.campaign_sends.c
        result = self.conn.execute(
            update(t.campaign_sends)
            .where(cs.id == send_id, cs.spike_us.is_(None))
            .values(spike_us=now_us)
        )
        return bool(result.rowcount)

    # -- alerts ----------------------------------------------------------------------------
    def insert_alert(self, **values: Any) -> int | None:
        """The new alert's id, or None when one with its ``dedupe`` exists."""
        a = t.alerts.c
        exists = self.conn.execute(
            select(a.id).where(a.tenant_id == values["tenant_id"], a.dedupe == values["dedupe"])
        ).first()
        if exists is not None:
            return None
        key = self.conn.execute(insert(t.alerts).values(**values)).inserted_primary_key
        assert key is not None
        return int(key[0])

    def alerts_after(self, tenant_id: int, after_id: int, limit: int) -> list[AlertRecord]:
        a = t.alerts.c
        query = (
            select(t.alerts)
            .where(a.tenant_id == tenant_id, a.id > after_id)
            .order_by(a.id)
            .limit(limit)
        )
        return [AlertRecord(*r) for r in self.conn.execute(query)]

    def last_alert_id(self, tenant_id: int) -> int:
        a = t.alerts.c
        found = self.conn.execute(select(func.max(a.id)).where(a.tenant_id == tenant_id)).scalar()
        return int(found or 0)

    def mark(self, tenant_id: int, source: str) -> int | None:
        m = t.alert_marks.c
        found = self.conn.execute(
            select(m.last_id).where(m.tenant_id == tenant_id, m.source == source)
        ).scalar()
        return None if found is None else int(found)

    def set_mark(self, tenant_id: int, source: str, last_id: int) -> None:
        self._upsert(
            t.alert_marks,
            ["tenant_id", "source"],
            {"tenant_id": tenant_id, "source": source, "last_id": last_id},
            last_id=last_id,
        )

    def review_items_after(
        self, tenant_id: int, after_id: int, limit: int
    ) -> list[tuple[int, int, int]]:
        """(id, account_id, line_id) of review items after ``after_id``."""
        r, m = t.review_items.c, t.inbound_messages.c
        query = (
            select(r.id, r.account_id, m.line_id)
            .join(t.inbound_messages, m.id == r.inbound_id)
            .where(r.tenant_id == tenant_id, r.id > after_id)
            .order_by(r.id)
            .limit(limit)
        )
        return [(int(a), int(b), int(c)) for a, b, c in self.conn.execute(query)]

    def open_reviews(self, account_id: int) -> int:
        r = t.review_items.c
        query = select(func.count()).where(r.account_id == account_id, r.status == "open")
        return int(self.conn.execute(query).scalar_one())

    def failed_replies(self, since_us: int, limit: int) -> list[tuple[int, int, str, int]]:
        """(id, tenant_id, from_line, attempts) of replies that failed for good since
        ``since_us`` and were not alerted yet."""
        o, a = t.outbox.c, t.alerts.c
        tag = literal("reply_failed:", String) + cast(o.id, String)
        alerted = select(a.id).where(a.tenant_id == o.tenant_id, a.dedupe == tag)
        query = (
            select(o.id, o.tenant_id, o.from_line, o.attempts)
            .where(o.status == "failed", o.created_us >= since_us, ~alerted.exists())
            .order_by(o.id)
            .limit(limit)
        )
        return [(int(a_), int(b), str(c), int(d)) for a_, b, c, d in self.conn.execute(query)]

    def failing_hooks(self, attempts: int) -> list[tuple[int, int, int, int, int]]:
        """(id, tenant_id, account_id, attempts, streak start) of live subscriptions that
        failed ``attempts`` times in a row or more."""
        ws = t.webhook_subscriptions.c
        query = select(
            ws.id,
            ws.tenant_id,
            ws.account_id,
            ws.attempts,
            func.coalesce(ws.last_success_us, ws.created_us),
        ).where(ws.deleted_us.is_(None), ws.attempts >= attempts)
        return [
            (int(a), int(b), int(c), int(d), int(e)) for a, b, c, d, e in self.conn.execute(query)
        ]

    def set_alert_cursor(self, subscription_id: int, alert_id: int) -> None:
        ws = t.webhook_subscriptions.c
        self.conn.execute(
            update(t.webhook_subscriptions)
            .where(ws.id == subscription_id)
            .values(alert_cursor=alert_id)
        )

    def latest_sends(
        self, tenant_id: int, account_ids: Collection[int], limit: int
    ) -> list[CampaignSendRecord]:
        """The newest sends of ``account_ids``: ``ix_campaign_sends_tenant_sent`` read
        backwards until ``limit`` match."""
        cs = t.campaign_sends.c
        if not account_ids:
            return []
        query = (
            select(t.campaign_sends)
            .where(cs.tenant_id == tenant_id, cs.account_id.in_(sorted(account_ids)))
            .order_by(cs.sent_us.desc(), cs.id.desc())
            .limit(limit)
        )
        return [_send(r) for r in self.conn.execute(query)]
