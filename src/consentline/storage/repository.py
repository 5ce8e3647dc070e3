"""SQL for the services: rows in, domain objects out.

Every method runs on the connection of the current unit of work, so whatever a
service does between ``begin`` and ``commit`` is one transaction.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Select, select, update

from consentline.domain.errors import ErasureKeyMissing
from consentline.domain.ledger import EVENT_FIELDS, Event, Projection, StoredEvent
from consentline.domain.policy import PurposeRule, QuietHours, TenantPolicy, check_model
from consentline.domain.privacy import keyed_address
from consentline.domain.scopes import Account, Directory, Line, check_reach
from consentline.storage import schema as t
from consentline.storage.engine import translated

_IN_CHUNK = 500
# Keys per lookup on the bulk paths (driver SQL, one parameter per key on SQLite,
# whose limit is 32,766; one array on PostgreSQL): an import chunk in one query.
_KEY_CHUNK = 5_000

# The events table's columns in StoredEvent's field order: a row maps positionally.
EVENT_COLUMNS = tuple(t.events.c[name] for name in EVENT_FIELDS)
_INSERTED = tuple(name for name in EVENT_FIELDS if name != "id")
_INSERTED_ROW = operator.attrgetter(*_INSERTED)  # a record -> its insert parameters


def driver_sql(dialect: str, sql: str) -> str:
    """``sql`` written with ``?`` placeholders, in the driver's own paramstyle."""
    return sql if dialect == "sqlite" else sql.replace("?", "%s")


@functools.cache
def _bulk_sql(dialect: str) -> dict[str, str]:
    """Statements for bulk writes, run with the driver's ``executemany`` directly:
    SQLAlchemy's per-row parameter processing cost more than the insert itself."""
    names = ", ".join(_INSERTED)
    marks = ", ".join("?" for _ in _INSERTED)
    return {
        "events": driver_sql(dialect, f"INSERT INTO events ({names}) VALUES ({marks})"),
        "idempotency": driver_sql(
            dialect,
            "INSERT INTO idempotency (tenant_id, key, fingerprint, event_id, created_us)"
            " VALUES (?, ?, ?, ?, ?)",
        ),
        "state": driver_sql(
            dialect,
            "INSERT INTO consent_state (tenant_id, channel, address, shape, ids, times, max_us)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, channel, address) DO UPDATE"
            " SET shape = excluded.shape, ids = excluded.ids, times = excluded.times,"
            " max_us = excluded.max_us",
        ),
    }


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Any]) -> None:
    """PostgreSQL: ``COPY`` the rows in, on the unit of work's connection and in its
    transaction. A bulk insert with no conflict to resolve (new events and their
    keys, written under the chain lock) is several times cheaper so than as
    ``executemany``: one statement instead of one execution per row."""
    raw = conn.connection.driver_connection
    assert raw is not None
    try:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
    except Exception as exc:  # the driver's own: not seen by the engine's listener
        error = translated(exc)
        if error is None:
            raise
        raise error from exc


def unnest_sql(sql: str, types: Sequence[str]) -> str:
    """PostgreSQL: ``INSERT ... VALUES (?, ...)`` rewritten to take one array per
    column (``SELECT * FROM unnest(%s::type[], ...)``), so that a whole batch is one
    statement whatever its conflict clause."""
    head, _, tail = sql.partition(" VALUES (")
    _, _, rest = tail.partition(")")
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    return f"{head} SELECT * FROM unnest({arrays}){rest}"


def columns_of(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows turned into one list per column (the parameters of :func:`unnest_sql`)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


@functools.lru_cache(maxsize=8)
def _idempotent_sql(dialect: str, count: int) -> str:
    if dialect == "postgresql":  # one array parameter, whatever the count
        return (
            "SELECT key, fingerprint, event_id FROM idempotency"
            " WHERE tenant_id = %s AND key = ANY(%s)"
        )
    marks = ", ".join("?" * count)
    return driver_sql(
        dialect,
        "SELECT key, fingerprint, event_id FROM idempotency"
        f" WHERE tenant_id = ? AND key IN ({marks})",
    )


_STATE_UNNEST = unnest_sql(
    _bulk_sql("sqlite")["state"], ("bigint", "text", "text", "text", "text", "text", "bigint")
)


def _state_query(
    dialect: str, tenant_id: int, channel: str, addresses: list[str]
) -> tuple[str, tuple[Any, ...]]:
    """Projection rows of some addresses: a primary-key range with the addresses
    as an array (PostgreSQL, rows locked for the transaction) or an ``IN`` list."""
    head = "SELECT address, shape, ids, times, max_us FROM consent_state"
    if dialect == "postgresql":
        sql = f"{head} WHERE tenant_id = %s AND channel = %s AND address = ANY(%s) FOR UPDATE"
        return sql, (tenant_id, channel, addresses)
    marks = ", ".join("?" * len(addresses))
    sql = f"{head} WHERE tenant_id = ? AND channel = ? AND address IN ({marks})"
    return sql, (tenant_id, channel, *addresses)


def select_events() -> Select[Any]:
    """``SELECT`` of whole events, for :func:`stored_event` (add the ``WHERE``)."""
    return select(*EVENT_COLUMNS)


def stored_event(row: Sequence[Any]) -> StoredEvent:
    """The one row -> event mapping, for every repository that reads events."""
    return StoredEvent(*row)


def _seconds(delta: timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


class SqlStore:
    def __init__(self, conn: Connection, erasure_key: bytes | None = None) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._erasure_key = erasure_key
        # C22: per tenant, whether it has erasures (read with the chain lock), and the
        # projection keys of erased addresses that load_state found under their keyed
        # hash, so that save_state writes them back there.
        self._erased: dict[int, bool] = {}
        self._aliases: dict[tuple[int, str, str], str] = {}

    def _has_erasures(self, tenant_id: int) -> bool:
        found = self._erased.get(tenant_id)
        if found is None:
            count = self.conn.execute(
                select(t.tenants.c.erasures).where(t.tenants.c.id == tenant_id)
            ).scalar()
            found = self._erased[tenant_id] = bool(count)
        return found

    # -- directory -------------------------------------------------------------------
    def load_directory(self) -> Directory:
        accounts = [
            Account(
                r.id,
                r.slug,
                r.tenant_id,
                r.parent_id,
                check_reach(r.reach),
                bool(r.isolated),
                r.default_region,
            )
            for r in self.conn.execute(select(t.accounts))
        ]
        lines = [
            Line(r.id, r.number, r.account_id, r.tenant_id)
            for r in self.conn.execute(select(t.lines))
        ]
        return Directory(accounts, lines)

    def insert_account(
        self,
        *,
        slug: str,
        parent_id: int | None,
        tenant_id: int | None,
        reach: str | None,
        isolated: bool,
        default_region: str | None,
        now_us: int,
    ) -> int:
        account_id: int = self.conn.execute(
            t.accounts.insert().returning(t.accounts.c.id),
            {
                "slug": slug,
                "parent_id": parent_id,
                "tenant_id": tenant_id,
                "reach": reach,
                "isolated": isolated,
                "default_region": default_region,
                "settings": "{}",
                "created_us": now_us,
            },
        ).scalar_one()
        if tenant_id is None:  # a root is its own tenant
            self.conn.execute(
                update(t.accounts).where(t.accounts.c.id == account_id).values(tenant_id=account_id)
            )
        return account_id

    def update_account(self, account_id: int, values: Mapping[str, Any]) -> None:
        self.conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(**values))

    def insert_tenant(
        self, tenant_id: int, policy: TenantPolicy, genesis: str, now_us: int
    ) -> None:
        self.conn.execute(
            t.tenants.insert(),
            {
                "id": tenant_id,
                "chain_seq": 0,
                "chain_head": genesis,
                "consent_ttl_s": _seconds(policy.consent_ttl),
                "pending_ttl_s": _seconds(policy.pending_ttl),
                "created_us": now_us,
                "revoke_all_from": _day(policy.revoke_all_from),
            },
        )
        for rule in policy.purposes.values():
            self.save_purpose(tenant_id, rule)

    def save_purpose(self, tenant_id: int, rule: PurposeRule) -> None:
        values = {
            "model": rule.model,
            "quiet_hours": str(rule.quiet_hours) if rule.quiet_hours else None,
            "consent_ttl_s": _seconds(rule.consent_ttl),
        }
        changed = self.conn.execute(
            update(t.purposes)
            .where(t.purposes.c.tenant_id == tenant_id, t.purposes.c.name == rule.name)
            .values(**values)
        ).rowcount
        if not changed:
            self.conn.execute(
                t.purposes.insert(), {"tenant_id": tenant_id, "name": rule.name, **values}
            )

    def update_tenant(self, tenant_id: int, values: Mapping[str, Any]) -> None:
        self.conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id).values(**values))

    def load_policies(self) -> dict[int, TenantPolicy]:
        rules: dict[int, dict[str, PurposeRule]] = {}
        for r in self.conn.execute(select(t.purposes)):
            rules.setdefault(r.tenant_id, {})[r.name] = PurposeRule(
                r.name,
                check_model(r.model),
                QuietHours.parse(r.quiet_hours) if r.quiet_hours else None,
                timedelta(seconds=r.consent_ttl_s) if r.consent_ttl_s is not None else None,
            )
        return {
            r.id: TenantPolicy(
                consent_ttl=(
                    timedelta(seconds=r.consent_ttl_s) if r.consent_ttl_s is not None else None
                ),
                pending_ttl=timedelta(seconds=r.pending_ttl_s),
                purposes=rules.get(r.id, {}),
                revoke_all_from=(
                    date.fromisoformat(r.revoke_all_from) if r.revoke_all_from else None
                ),
            )
            for r in self.conn.execute(select(t.tenants))
        }

    def insert_line(self, number: str, account_id: int, tenant_id: int, now_us: int) -> int:
        line_id: int = self.conn.execute(
            t.lines.insert().returning(t.lines.c.id),
            {
                "number": number,
                "account_id": account_id,
                "tenant_id": tenant_id,
                "created_us": now_us,
            },
        ).scalar_one()
        return line_id

    # -- ledger ----------------------------------------------------------------------
    def lock_chain(self, tenant_id: int) -> tuple[int, str]:
        """The tenant's chain head, locked for this transaction (PostgreSQL row lock;
        SQLite already holds the database write lock since BEGIN IMMEDIATE)."""
        query = select(t.tenants.c.chain_seq, t.tenants.c.chain_head, t.tenants.c.erasures).where(
            t.tenants.c.id == tenant_id
        )
        if self.dialect == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).one()
        self._erased[tenant_id] = bool(row.erasures)
        return int(row.chain_seq), str(row.chain_head)

    def set_chain_head(self, tenant_id: int, seq: int, head: str) -> None:
        self.conn.execute(
            update(t.tenants)
            .where(t.tenants.c.id == tenant_id)
            .values(chain_seq=seq, chain_head=head)
        )

    def insert_events(self, records: Sequence[StoredEvent]) -> list[int]:
        """Insert events (their ``id`` is ignored); the ids assigned, in order.

        One ``executemany``, then the ids read back by ``(tenant_id, seq)``, which is
        unique and assigned under the tenant's chain lock: one range query per tenant.
        """
        if not records:
            return []
        rows = [_INSERTED_ROW(r) for r in records]
        if self.dialect == "postgresql":
            copy_rows(self.conn, "events", _INSERTED, rows)
        else:
            self.conn.exec_driver_sql(_bulk_sql(self.dialect)["events"], rows)
        seqs: dict[int, list[int]] = {}
        for r in records:
            seqs.setdefault(r.tenant_id, []).append(r.seq)
        ids: dict[tuple[int, int], int] = {}
        ev = t.events.c
        for tenant_id, numbers in seqs.items():
            query = select(ev.id, ev.seq).where(
                ev.tenant_id == tenant_id, ev.seq.between(min(numbers), max(numbers))
            )
            for found in self.conn.execute(query):
                ids[(tenant_id, int(found.seq))] = int(found.id)
        return [ids[(r.tenant_id, r.seq)] for r in records]

    def find_idempotent(self, tenant_id: int, keys: Iterable[str]) -> dict[str, tuple[str, int]]:
        """The fingerprint and event of each key already applied. A primary-key
        lookup per key, sent as driver SQL: a re-run import asks this of every row,
        and SQLAlchemy's expansion of the ``IN`` list cost more than the lookups."""
        found: dict[str, tuple[str, int]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _KEY_CHUNK):
            chunk = unique[start : start + _KEY_CHUNK]
            sql = _idempotent_sql(self.dialect, len(chunk))
            params = (tenant_id, chunk) if self.dialect == "postgresql" else (tenant_id, *chunk)
            rows = self.conn.exec_driver_sql(sql, params).all()
            for key, fingerprint, event_id in rows:
                found[key] = (fingerprint, int(event_id))
        return found

    def insert_idempotency(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            params = [
                (r["tenant_id"], r["key"], r["fingerprint"], r["event_id"], r["created_us"])
                for r in rows
            ]
            if self.dialect == "postgresql":
                columns = ("tenant_id", "key", "fingerprint", "event_id", "created_us")
                copy_rows(self.conn, "idempotency", columns, params)
            else:
                self.conn.exec_driver_sql(_bulk_sql(self.dialect)["idempotency"], params)

    def load_state(
        self, keys: Iterable[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], Projection]:
        """Projection rows for (tenant, channel, address) keys, batched.

        In a tenant with erasures (C22) an address may have been erased: its row then
        lives under its keyed hash, and is returned under the address asked for (and
        written back there by :meth:`save_state`), so an opt-out survives erasure for
        every writer. Tenants without erasures pay nothing for this.
        """
        found: dict[tuple[int, str, str], Projection] = {}
        # Grouped by (tenant, channel) so each query is a primary-key range with an
        # IN list on the address: a row-value IN over all three columns makes SQLite
        # scan the whole table and PostgreSQL filter the whole tenant.
        groups: dict[tuple[int, str], list[str]] = {}
        for tenant_id, channel, address in dict.fromkeys(keys):
            groups.setdefault((tenant_id, channel), []).append(address)
        for (tenant_id, channel), addresses in groups.items():
            keyed: dict[str, str] = {}
            if self._has_erasures(tenant_id):
                if self._erasure_key is None:
                    raise ErasureKeyMissing(
                        "this tenant has erased numbers: writing needs CONSENTLINE_ERASURE_KEY"
                        " to keep their opt-outs"
                    )
                keyed = {keyed_address(self._erasure_key, tenant_id, a): a for a in addresses}
            wanted = addresses + list(keyed)
            for start in range(0, len(wanted), _KEY_CHUNK):
                chunk = wanted[start : start + _KEY_CHUNK]
                sql, params = _state_query(self.dialect, tenant_id, channel, chunk)
                for address, shape, ids, times, max_us in self.conn.exec_driver_sql(
                    sql, params
                ).all():
                    projection = Projection(shape, ids, times, int(max_us))
                    plain = keyed.get(address)
                    if plain is None:
                        found[(tenant_id, channel, address)] = projection
                    else:  # erased: at most one of the two rows exists (move_state)
                        found[(tenant_id, channel, plain)] = projection
                        self._aliases[(tenant_id, channel, plain)] = address
        return found

    def save_state(self, rows: Mapping[tuple[int, str, str], Projection]) -> None:
        """Upsert projection rows (one statement for the batch)."""
        if not rows:
            return
        aliases = self._aliases
        params = [
            (key[0], key[1], aliases.get(key, key[2]), p.shape, p.ids, p.times, p.max_us)
            for key, p in rows.items()
        ]
        if self.dialect == "postgresql":
            self.conn.exec_driver_sql(_STATE_UNNEST, tuple(columns_of(params, 7)))
        else:
            self.conn.exec_driver_sql(_bulk_sql(self.dialect)["state"], params)

    def delete_state(self, tenant_id: int | None = None) -> None:
        statement = t.consent_state.delete()
        if tenant_id is not None:
            statement = statement.where(t.consent_state.c.tenant_id == tenant_id)
        self.conn.execute(statement)

    # -- reading the ledger ------------------------------------------------------------
    def events_by_id(self, ids: Iterable[int]) -> dict[int, Event]:
        found: dict[int, Event] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _IN_CHUNK):
            query = select_events().where(t.events.c.id.in_(unique[start : start + _IN_CHUNK]))
            for r in self.conn.execute(query):
                found[int(r.id)] = stored_event(r).event()
        return found

    def history(self, tenant_id: int, address: str, channel: str | None = None) -> list[Event]:
        ev = t.events.c
        query = select_events().where(ev.tenant_id == tenant_id, ev.address == address)
        if channel is not None:
            query = query.where(ev.channel == channel)
        query = query.order_by(ev.occurred_us, ev.id)
        return [stored_event(r).event() for r in self.conn.execute(query)]

    def chain_rows(self, tenant_id: int, batch: int = 5000) -> Iterator[StoredEvent]:
        """Every event of a tenant in chain order, streamed in keyset pages."""
        after = -1
        while True:
            rows = [
                stored_event(r)
                for r in self.conn.execute(
                    select_events()
                    .where(t.events.c.tenant_id == tenant_id, t.events.c.seq > after)
                    .order_by(t.events.c.seq)
                    .limit(batch)
                )
            ]
            if not rows:
                return
            yield from rows
            after = rows[-1].seq

    def tenant_heads(self) -> list[tuple[int, int, str]]:
        return [
            (int(r.id), int(r.chain_seq), str(r.chain_head))
            for r in self.conn.execute(select(t.tenants).order_by(t.tenants.c.id))
        ]

    def state_rows(self, tenant_id: int) -> Iterator[tuple[str, str, Projection]]:
        """Every projection row of a tenant: ``(channel, address, projection)``."""
        cs = t.consent_state.c
        query = select(cs.channel, cs.address, cs.shape, cs.ids, cs.times, cs.max_us).where(
            cs.tenant_id == tenant_id
        )
        for r in self.conn.execute(query):
            yield r.channel, r.address, Projection(r.shape, r.ids, r.times, int(r.max_us))
