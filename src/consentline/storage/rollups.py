"""The report rollups' SQL: one upsert per table per write, grouped sums for reports.

The counters are added to (``ON CONFLICT ... DO UPDATE SET n = n + excluded.n``,
identical on SQLite and PostgreSQL) with the driver's ``executemany``: a write adds
one statement per table, whatever its size. Readers sum them with ``GROUP BY``
over the primary key's leading columns (tenant, grain, slot).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select

from consentline.storage import schema as t
from consentline.storage.repository import driver_sql

_OR_CHUNK = 200  # slot ranges per query (SQLite's expression depth stays small)
_SLOT_CHUNK = 20_000
_TABLES = frozenset({"report_counts", "report_states", "report_inbound"})


def _ints(values: Sequence[int]) -> str:
    return ", ".join(str(int(v)) for v in values)


def _column_name(table: str, name: str) -> str:
    """A column of ``table`` (checked: the names go into SQL text)."""
    if name not in t.metadata.tables[table].c:
        raise ValueError(f"no column {name!r} in {table}")
    return name


def _upsert(dialect: str, table: str, keys: Sequence[str], values: Sequence[str]) -> str:
    names = [*keys, *values]
    sets = ", ".join(f"{v} = {table}.{v} + excluded.{v}" for v in values)
    return driver_sql(
        dialect,
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}",
    )


@functools.cache
def _statements(dialect: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for table in (t.report_counts, t.report_states, t.report_inbound):
        keys = [c.name for c in table.primary_key.columns]
        values = [c.name for c in table.columns if not c.primary_key]
        out[table.name] = (_upsert(dialect, table.name, keys, values), (*keys, *values))
    return out


class RollupStore:
    """The rollup tables on the unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    # -- writing ----------------------------------------------------------------------
    def add(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add ``rows`` (one per key) to the counters of ``table``."""
        if not rows:
            return
        sql, names = _statements(self.dialect)[table]
        params = [tuple(row[n] for n in names) for row in rows]
        self.conn.exec_driver_sql(sql, params)

    def clear(self, tenant_id: int, *, inbound: bool = False) -> None:
        """Forget a tenant's event and state counters (before a rebuild)."""
        tables = (t.report_inbound,) if inbound else (t.report_counts, t.report_states)
        for table in tables:
            self.conn.execute(delete(table).where(table.c.tenant_id == tenant_id))

    # -- reading ----------------------------------------------------------------------
    def first_slot(self, table: str, tenant_id: int) -> int | None:
        tab = t.metadata.tables[table]
        found = self.conn.execute(
            select(func.min(tab.c.slot_us)).where(tab.c.tenant_id == tenant_id, tab.c.grain == 1)
        ).scalar()
        return None if found is None else int(found)

    def sums(
        self,
        table: str,
        tenant_id: int,
        grain: int,
        ranges: Sequence[tuple[int, int]],
        keys: Sequence[str],
        measures: Sequence[str],
        where: Mapping[str, Sequence[int]],
    ) -> list[tuple[Any, ...]]:
        """``(slot, *keys, *sums)`` over ``ranges`` of slots (start inclusive, end
        exclusive), grouped by slot and ``keys``; ``where`` limits columns to ids."""
        tab = t.metadata.tables[table]
        out: list[tuple[Any, ...]] = []
        cols = [tab.c.slot_us, *(tab.c[k] for k in keys)]
        for start in range(0, len(ranges), _OR_CHUNK):
            chunk = ranges[start : start + _OR_CHUNK]
            if not chunk:
                continue
            window = or_(*(and_(tab.c.slot_us >= a, tab.c.slot_us < b) for a, b in chunk))
            query = (
                select(*cols, *(func.sum(tab.c[m]) for m in measures))
                .where(tab.c.tenant_id == tenant_id, tab.c.grain == grain, window)
                .group_by(*cols)
            )
            for column, ids in where.items():
                query = query.where(tab.c[column].in_(list(ids)))
            out.extend(tuple(r) for r in self.conn.execute(query))
        return out

    def slot_sums(
        self,
        table: str,
        tenant_id: int,
        slots: Sequence[int],
        keys: Sequence[str],
        measures: Sequence[str],
        where: Mapping[str, Sequence[int]],
    ) -> list[tuple[Any, ...]]:
        """:meth:`sums` of the 15-minute grain over the listed ``slots``: the SQL is
        written with integer literals (ids and µs only), so that thousands of slots
        cost neither bind parameters nor statement compilation."""
        if table not in _TABLES:
            raise ValueError(f"not a rollup table: {table!r}")
        names = [_column_name(table, k) for k in (*keys, *measures)]
        group = ", ".join(["slot_us", *names[: len(keys)]])
        sums = ", ".join(f"SUM({m})" for m in names[len(keys) :])
        filters = "".join(
            f" AND {_column_name(table, c)} IN ({_ints(ids) or 'NULL'})" for c, ids in where.items()
        )
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(slots), _SLOT_CHUNK):
            chunk = _ints(slots[start : start + _SLOT_CHUNK])
            sql = (
                f"SELECT {group}, {sums} FROM {table} WHERE tenant_id = {int(tenant_id)}"
                f" AND grain = 0 AND slot_us IN ({chunk}){filters} GROUP BY {group}"
            )
            out.extend(tuple(r) for r in self.conn.exec_driver_sql(sql))
        return out

    def state_sums(
        self, tenant_id: int, day_start: int, at: int, line_ids: Sequence[int]
    ) -> list[tuple[int, str, int, int, int, int]]:
        """``(line, purpose, opted_in, opted_out, pending, addresses)`` summed over the
        whole days before ``day_start`` and the 15-minute slots from it to ``at``."""
        s = t.report_states.c
        measures = [func.sum(s[c]) for c in ("opted_in", "opted_out", "pending", "addresses")]
        lines = [0, *line_ids]
        totals: dict[tuple[int, str], list[int]] = {}
        for grain, low, high in ((1, None, day_start), (0, day_start, at)):
            query = select(s.line_id, s.purpose, *measures).where(
                s.tenant_id == tenant_id, s.grain == grain, s.slot_us < high, s.line_id.in_(lines)
            )
            if low is not None:
                query = query.where(s.slot_us >= low)
            for r in self.conn.execute(query.group_by(s.line_id, s.purpose)):
                row = totals.setdefault((int(r[0]), str(r[1])), [0, 0, 0, 0])
                for i in range(4):
                    row[i] += int(r[2 + i] or 0)
        return [(k[0], k[1], *v) for k, v in totals.items()]  # type: ignore[misc]

    def review_stats(self, tenant_id: int, account_ids: Sequence[int]) -> tuple[int, int | None]:
        """(open review items, creation µs of the oldest) of ``account_ids``."""
        r = t.review_items.c
        size, oldest = self.conn.execute(
            select(func.count(), func.min(r.created_us)).where(
                r.tenant_id == tenant_id, r.status == "open", r.account_id.in_(list(account_ids))
            )
        ).one()
        return int(size), None if oldest is None else int(oldest)

    def last_inbound(self, tenant_id: int, account_ids: Sequence[int]) -> dict[str, int]:
        """Each address's latest inbound message to ``account_ids`` (µs): hygiene's
        engagement (C26). Read by the service, never stored in a rollup."""
        m = t.inbound_messages.c
        query = (
            select(m.address, func.max(m.received_us))
            .where(m.tenant_id == tenant_id, m.account_id.in_(list(account_ids)))
            .group_by(m.address)
        )
        return {str(a): int(us) for a, us in self.conn.execute(query)}
