"""SQL for erasure and retention (C22): the rows that hold an address, rewritten in
place; the erasure records and the chain's re-anchoring records."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, update

from consentline.domain.addresses import CHANNELS
from consentline.domain.ledger import StoredEvent, compact, decode, encode, insert_entry
from consentline.services.ports import AnchorRecord, ErasureRecord
from consentline.storage import reach_chunks
from consentline.storage import schema as t
from consentline.storage.engine import storage_errors
from consentline.storage.repository import select_events, stored_event

_IN_CHUNK = 500
_EMPTY_CLASSIFICATION = json.dumps({"erased": True})


class PrivacyStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    # -- records ---------------------------------------------------------------------
    def erasure_state(self, tenant_id: int) -> tuple[int, str | None]:
        row = self.conn.execute(
            select(t.tenants.c.erasures, t.tenants.c.erasure_head).where(
                t.tenants.c.id == tenant_id
            )
        ).one()
        return int(row.erasures), row.erasure_head

    def erasures(self, tenant_id: int) -> list[ErasureRecord]:
        e = t.erasures.c
        query = select(t.erasures).where(e.tenant_id == tenant_id).order_by(e.n)
        return [ErasureRecord(*r) for r in self.conn.execute(query)]

    def erasures_of(self, tenant_id: int, address_key: str) -> list[ErasureRecord]:
        e = t.erasures.c
        query = (
            select(t.erasures)
            .where(e.tenant_id == tenant_id, e.address_key == address_key)
            .order_by(e.n)
        )
        return [ErasureRecord(*r) for r in self.conn.execute(query)]

    def anchors(self, tenant_id: int) -> list[AnchorRecord]:
        a = t.chain_anchors.c
        query = select(t.chain_anchors).where(a.tenant_id == tenant_id).order_by(a.first_seq)
        return [AnchorRecord(*r) for r in self.conn.execute(query)]

    def insert_erasure(self, row: Mapping[str, Any]) -> int:
        erasure_id: int = self.conn.execute(
            t.erasures.insert().returning(t.erasures.c.id), dict(row)
        ).scalar_one()
        return erasure_id

    def set_erasure_head(self, tenant_id: int, count: int, head: str) -> None:
        self.conn.execute(
            update(t.tenants)
            .where(t.tenants.c.id == tenant_id)
            .values(erasures=count, erasure_head=head)
        )

    # -- the rows of one address ---------------------------------------------------------
    def events_of(self, tenant_id: int, address: str) -> list[StoredEvent]:
        """Every event of ``address`` in the tenant, any channel (one index range per
        channel: the history index leads with tenant, channel, address)."""
        ev = t.events.c
        query = select_events().where(
            ev.tenant_id == tenant_id, ev.channel.in_(CHANNELS), ev.address == address
        )
        if self.dialect == "postgresql":
            query = query.with_for_update()
        return [stored_event(r) for r in self.conn.execute(query.order_by(ev.seq))]

    def rewrite_events(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Set the personal columns of erased events (``b_id`` and the new values)."""
        if not rows:
            return
        ev = t.events.c
        statement = (
            update(t.events)
            .where(ev.id == bindparam("b_id"))
            .values(
                address=bindparam("b_address"),
                proof=bindparam("b_proof"),
                idempotency_key=bindparam("b_idempotency_key"),
                salt=bindparam("b_salt"),
                erased=bindparam("b_erased"),
            )
        )
        self.conn.execute(statement, [{f"b_{k}": v for k, v in r.items()} for r in rows])

    def delete_idempotency(self, tenant_id: int, event_ids: Sequence[int]) -> int:
        total = 0
        for start in range(0, len(event_ids), _IN_CHUNK):
            chunk = list(event_ids[start : start + _IN_CHUNK])
            total += self.conn.execute(
                delete(t.idempotency).where(
                    t.idempotency.c.tenant_id == tenant_id, t.idempotency.c.event_id.in_(chunk)
                )
            ).rowcount
        return total

    def move_state(self, tenant_id: int, address: str, address_key: str) -> list[str]:
        """Re-key the address's projection rows to its keyed hash (merged with any row
        already under it); the channels that have a row under the keyed hash now."""
        cs = t.consent_state.c
        query = select(cs.channel, cs.address, cs.shape, cs.ids, cs.times).where(
            cs.tenant_id == tenant_id,
            cs.channel.in_(CHANNELS),
            cs.address.in_([address, address_key]),
        )
        if self.dialect == "postgresql":
            query = query.with_for_update()
        by_channel: dict[str, list[Any]] = {}
        for r in self.conn.execute(query):
            by_channel.setdefault(r.channel, []).append(r)
        moved: list[str] = []
        for channel, rows in by_channel.items():
            if not any(r.address == address for r in rows):
                moved.append(channel)  # already there (written since an erasure)
                continue
            entries: list[Any] = []
            for r in rows:
                for entry in decode(r.shape, r.ids, r.times):
                    insert_entry(entries, entry)
            projection = encode(compact(entries))
            self.conn.execute(
                delete(t.consent_state).where(
                    cs.tenant_id == tenant_id,
                    cs.channel == channel,
                    cs.address.in_([address, address_key]),
                )
            )
            self.conn.execute(
                t.consent_state.insert(),
                {
                    "tenant_id": tenant_id,
                    "channel": channel,
                    "address": address_key,
                    "shape": projection.shape,
                    "ids": projection.ids,
                    "times": projection.times,
                    "max_us": projection.max_us,
                },
            )
            moved.append(channel)
        return moved

    def inbound_lines(self, tenant_id: int, address: str) -> list[int]:
        """The lines the address's inbound messages arrived on (distinct)."""
        im = t.inbound_messages.c
        query = (
            select(im.line_id)
            .where(im.tenant_id == tenant_id, im.address == address)
            .group_by(im.line_id)
        )
        return [int(r[0]) for r in self.conn.execute(query)]

    def has_other_rows(self, tenant_id: int, address: str) -> bool:
        """Replies, scope questions or campaign reach for the address (it has no event or
        message: a permissive purpose lets a send reach a number the ledger never saw)."""
        ob, sq = t.outbox.c, t.scope_questions.c
        for query in (
            select(ob.id).where(ob.tenant_id == tenant_id, ob.to_address == address).limit(1),
            select(sq.id).where(sq.tenant_id == tenant_id, sq.address == address).limit(1),
        ):
            if self.conn.execute(query).first() is not None:
                return True
        return bool(reach_chunks.reached(self.conn, tenant_id, [address]))

    def erase_inbound(self, tenant_id: int, address: str, address_key: str) -> list[int]:
        im = t.inbound_messages.c
        ids = [
            int(r.id)
            for r in self.conn.execute(
                select(im.id).where(
                    im.tenant_id == tenant_id, im.address.in_([address, address_key])
                )
            )
        ]
        for start in range(0, len(ids), _IN_CHUNK):
            self.conn.execute(
                update(t.inbound_messages)
                .where(im.id.in_(ids[start : start + _IN_CHUNK]))
                .values(
                    address=address_key,
                    body="",
                    classification=_EMPTY_CLASSIFICATION,
                    provider_hint=None,
                )
            )
        return ids

    def erase_outbox(
        self, tenant_id: int, address: str, address_key: str, inbound_ids: Sequence[int]
    ) -> int:
        ob = t.outbox.c
        total = self.conn.execute(
            update(t.outbox)
            .where(ob.tenant_id == tenant_id, ob.to_address == address)
            .values(to_address=address_key, body="", detail=None)
        ).rowcount
        for start in range(0, len(inbound_ids), _IN_CHUNK):
            total += self.conn.execute(
                update(t.outbox)
                .where(
                    ob.inbound_id.in_(list(inbound_ids[start : start + _IN_CHUNK])),
                    ob.to_address != address_key,  # not counted twice
                )
                .values(to_address=address_key, body="", detail=None)
            ).rowcount
        return total

    def erase_review_notes(self, inbound_ids: Sequence[int]) -> int:
        total = 0
        ri = t.review_items.c
        for start in range(0, len(inbound_ids), _IN_CHUNK):
            total += self.conn.execute(
                update(t.review_items)
                .where(ri.inbound_id.in_(list(inbound_ids[start : start + _IN_CHUNK])))
                .values(note=None)
            ).rowcount
        return total

    def erase_scope_questions(self, tenant_id: int, address: str, address_key: str) -> int:
        sq = t.scope_questions.c
        return int(
            self.conn.execute(
                update(t.scope_questions)
                .where(sq.tenant_id == tenant_id, sq.address == address)
                .values(address=address_key, body="")
            ).rowcount
        )

    # -- retention -------------------------------------------------------------------------
    def last_reliance(self, tenant_id: int) -> Iterator[tuple[str, int]]:
        """Per address of the tenant (erased ones included), the newest time anything
        relied on its evidence: an event, an inbound message, a reply sent to it."""
        ev, im, ob = t.events.c, t.inbound_messages.c, t.outbox.c
        latest: dict[str, int] = {}
        for query in (
            select(ev.address, func.max(ev.occurred_us), func.max(ev.occurred_us))
            .where(ev.tenant_id == tenant_id)
            .group_by(ev.address),
            select(im.address, func.max(im.received_us), func.max(im.received_us))
            .where(im.tenant_id == tenant_id)
            .group_by(im.address),
            select(ob.to_address, func.max(ob.created_us), func.max(ob.created_us))
            .where(ob.tenant_id == tenant_id)
            .group_by(ob.to_address),
        ):
            for address, first, second in self.conn.execute(query):
                moment = max(int(first or 0), int(second or 0))
                if moment > latest.get(address, -1):
                    latest[address] = moment
        yield from latest.items()

    def retention_years(self, tenant_id: int) -> int | None:
        value = self.conn.execute(
            select(t.tenants.c.retention_years).where(t.tenants.c.id == tenant_id)
        ).scalar_one()
        return None if value is None else int(value)

    def set_retention_years(self, tenant_id: int, years: int | None) -> None:
        self.conn.execute(
            update(t.tenants).where(t.tenants.c.id == tenant_id).values(retention_years=years)
        )

    def erased_tenants(self) -> list[int]:
        query = select(t.tenants.c.id).where(t.tenants.c.erasures > 0)
        return [int(r[0]) for r in self.conn.execute(query)]

    def secure_delete(self, on: bool) -> None:
        """Zero deleted and overwritten content on this SQLite connection (C22): on
        for an erasure's writes, off again before its commit (a no-op elsewhere)."""
        if self.dialect == "sqlite":
            self.conn.exec_driver_sql(f"PRAGMA secure_delete={'ON' if on else 'OFF'}")


def scrub(engine: Engine) -> None:
    """After an erasure has committed, make the removed bytes unrecoverable from the
    database files. SQLite: ``secure_delete`` zeroed the freed cells; the WAL is
    checkpointed into the file and truncated. PostgreSQL: no live row holds them; the
    old row versions are dead tuples until (auto)vacuum reclaims them
    (docs/privacy.md)."""
    if engine.dialect.name != "sqlite":
        return
    with storage_errors():
        raw = engine.raw_connection()  # outside any transaction (autocommit driver)
        try:
            driver: Any = raw.driver_connection
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            raw.close()
