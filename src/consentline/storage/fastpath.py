"""Projection reads for the send gate, on the bare DB-API connection.

A check is one primary-key lookup in ``consent_state``. Going through SQLAlchemy
Core costs several times the lookup itself, so the hot path keeps one raw driver
connection per thread (autocommit: every read sees the latest commit, C14) and
runs fixed SQL on it, through one reused cursor for point lookups (a fresh cursor
per lookup costs more than the lookup on SQLite). Bulk reads return the driver's
row tuples as they are, keyed by address. Everything else goes through the unit
of work.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

import psycopg
from sqlalchemy import Engine

from consentline.storage.engine import storage_errors

Row = tuple[str, str, str, int]  # shape, ids, times, max_us
StateRow = tuple[str, str, str, str, int]  # address, shape, ids, times, max_us

_POINT = (
    "SELECT shape, ids, times, max_us FROM consent_state"
    " WHERE tenant_id = {p} AND channel = {p} AND address = {p}"
)
_SCAN = (
    "SELECT address, shape, ids, times, max_us FROM consent_state"
    " WHERE tenant_id = {p} AND channel = {p}"
)
_COUNT = "SELECT count(*) FROM consent_state WHERE tenant_id = {p} AND channel = {p}"
_SQLITE_CHUNK = 5000
_first = itemgetter(0)


class StateReader:
    """Reads projection rows; one driver connection per thread, reconnects on failure."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._sqlite = engine.dialect.name == "sqlite"
        p = "?" if self._sqlite else "%s"
        self._point = _POINT.format(p=p)
        self._scan = _SCAN.format(p=p)
        self._count = _COUNT.format(p=p)
        self._held: list[Any] = []
        self._lock = threading.Lock()

    def _conn(self) -> Any:
        conn: Any = getattr(self._local, "conn", None)
        if conn is None:
            with storage_errors():
                fairy = self._engine.raw_connection()
            conn = fairy.driver_connection
            if not self._sqlite:
                conn.autocommit = True
            self._local.conn = conn
            self._local.fairy = fairy
            with self._lock:
                self._held.append(fairy)
        return conn

    def _cursor(self) -> Any:
        cursor: Any = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._conn().cursor()
            self._local.cursor = cursor
        return cursor

    def _drop(self) -> None:
        fairy = getattr(self._local, "fairy", None)
        self._local.conn = None
        self._local.fairy = None
        self._local.cursor = None
        if fairy is not None:
            fairy.invalidate()

    def get(self, tenant_id: int, channel: str, address: str) -> Row | None:
        # The statement runs to completion in fetchone (at most one row by primary
        # key), so the reused cursor holds no read transaction open between checks.
        try:
            cursor = getattr(self._local, "cursor", None) or self._cursor()
            row: Row | None = cursor.execute(self._point, (tenant_id, channel, address)).fetchone()
            return row
        except (sqlite3.Error, psycopg.Error):
            self._drop()
            with storage_errors():
                retried: Row | None = (
                    self._cursor().execute(self._point, (tenant_id, channel, address)).fetchone()
                )
                return retried

    def get_many(
        self, tenant_id: int, channel: str, addresses: Sequence[str]
    ) -> dict[str, StateRow]:
        """Rows for many addresses at once (chunks of IN lists / one ANY array)."""
        found: dict[str, StateRow] = {}
        with storage_errors():
            conn = self._conn()
            if self._sqlite:
                for start in range(0, len(addresses), _SQLITE_CHUNK):
                    chunk = addresses[start : start + _SQLITE_CHUNK]
                    sql = (
                        "SELECT address, shape, ids, times, max_us FROM consent_state"
                        " WHERE tenant_id = ? AND channel = ? AND address IN ("
                        + ",".join("?" * len(chunk))
                        + ")"
                    )
                    for row in conn.execute(sql, (tenant_id, channel, *chunk)):
                        found[row[0]] = row
            else:
                cursor = conn.execute(
                    "SELECT address, shape, ids, times, max_us FROM consent_state"
                    " WHERE tenant_id = %s AND channel = %s AND address = ANY(%s)",
                    (tenant_id, channel, list(addresses)),
                )
                for row in cursor:
                    found[row[0]] = row
        return found

    def scan(self, tenant_id: int, channel: str) -> Iterator[tuple[str, str, str, str, int]]:
        """Every projection row of a tenant and channel (for campaign-sized checks)."""
        with storage_errors():
            conn = self._conn()
            if self._sqlite:
                yield from conn.execute(self._scan, (tenant_id, channel))
            else:
                with conn.cursor(name=None) as cursor:
                    cursor.execute(self._scan, (tenant_id, channel))
                    while rows := cursor.fetchmany(50_000):
                        yield from rows

    def scan_table(self, tenant_id: int, channel: str) -> dict[str, StateRow]:
        """Every projection row of a tenant and channel, keyed by address.

        Built by C-level iteration (``dict(zip(map(...)))``): for a million rows a
        Python-level loop costs a noticeable part of the scan itself.
        """
        # A million new tuples would trigger repeated cyclic-GC passes over everything
        # already loaded; they hold only strings and ints, so pause the collector.
        paused = gc.isenabled()
        gc.disable()
        try:
            with storage_errors():
                conn = self._conn()
                if self._sqlite:
                    rows = conn.execute(self._scan, (tenant_id, channel)).fetchall()
                    return dict(zip(map(_first, rows), rows, strict=True))
                table: dict[str, StateRow] = {}
                with conn.cursor() as cursor:
                    cursor.execute(self._scan, (tenant_id, channel))
                    while rows := cursor.fetchmany(50_000):
                        table.update(zip(map(_first, rows), rows, strict=True))
                return table
        finally:
            if paused:
                gc.enable()

    def count(self, tenant_id: int, channel: str) -> int:
        with storage_errors():
            row = self._conn().execute(self._count, (tenant_id, channel)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for fairy in held:
            fairy.close()
        self._local = threading.local()
