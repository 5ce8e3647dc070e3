"""SQL for contact references (``contact_refs``): a CRM's record ids per address.

``add`` ignores rows already stored (``INSERT ... ON CONFLICT DO NOTHING``, which
SQLite and PostgreSQL both have), so adding the same reference twice, or from two
writers at once, stores it once.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from consentline.storage import schema as t
from consentline.storage.repository import columns_of, driver_sql, unnest_sql

_c = t.contact_refs.c
_IN_CHUNK = 500


@functools.cache
def _insert_or_ignore(dialect: str) -> str:
    """The insert, for the driver's ``executemany`` (no per-row SQLAlchemy work)."""
    return driver_sql(
        dialect,
        "INSERT INTO contact_refs (tenant_id, channel, address, system, ref, created_us)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, channel, address, system, ref)"
        " DO NOTHING",
    )


_UNNEST = unnest_sql(
    _insert_or_ignore("sqlite"), ("bigint", "text", "text", "text", "text", "bigint")
)


class ContactRefStore:
    """``services.ports.ContactRefRepository`` on a unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store references (tenant_id, channel, address, system, ref, created_us);
        those already stored are left as they are."""
        if rows:
            unique = {
                (r["tenant_id"], r["channel"], r["address"], r["system"], r["ref"]): r["created_us"]
                for r in rows
            }
            params = [(*key, created) for key, created in unique.items()]
            if self.dialect == "postgresql":  # the batch as one statement
                self.conn.exec_driver_sql(_UNNEST, tuple(columns_of(params, 6)))
            else:
                self.conn.exec_driver_sql(_insert_or_ignore(self.dialect), params)

    def of_addresses(
        self, tenant_id: int, channel: str, addresses: Collection[str]
    ) -> dict[str, list[tuple[str, str]]]:
        """Each address's references, ``(system, ref)`` sorted; addresses without none."""
        found: dict[str, list[tuple[str, str]]] = {}
        unique = list(dict.fromkeys(addresses))
        for start in range(0, len(unique), _IN_CHUNK):
            query = (
                select(_c.address, _c.system, _c.ref)
                .where(
                    _c.tenant_id == tenant_id,
                    _c.channel == channel,
                    _c.address.in_(unique[start : start + _IN_CHUNK]),
                )
                .order_by(_c.address, _c.system, _c.ref)
            )
            for r in self.conn.execute(query):
                found.setdefault(r.address, []).append((r.system, r.ref))
        return found

    def find(self, tenant_id: int, ref: str, system: str | None = None) -> list[tuple[str, str]]:
        """The ``(channel, address)`` pairs a reference points at (in any system when
        ``system`` is None)."""
        query = select(_c.channel, _c.address).where(_c.tenant_id == tenant_id, _c.ref == ref)
        if system is not None:
            query = query.where(_c.system == system)
        query = query.order_by(_c.channel, _c.address).distinct()
        return [(r.channel, r.address) for r in self.conn.execute(query)]

    def delete_address(self, tenant_id: int, channel: str, address: str) -> int:
        """Remove every reference of an address (erasure); how many were removed."""
        result = self.conn.execute(
            t.contact_refs.delete().where(
                _c.tenant_id == tenant_id, _c.channel == channel, _c.address == address
            )
        )
        return int(result.rowcount)
