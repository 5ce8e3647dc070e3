"""Projection reads for the send gate, on the bare DB-API connection.

A check is one primary-key lookup in ``consent_state``. Going through SQLAlchemy
Core costs several times the lookup itself, so the hot path keeps one raw driver
connection per thread (autocommit: every read sees the latest commit, C14) and
runs fixed SQL on it. Everything else goes through the unit of work.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from sqlalchemy import Engine

from consentline.storage.engine import storage_errors

Row = tuple[str, str, str, int]  # shape, ids, times, max_us

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

    def _drop(self) -> None:
        fairy = getattr(self._local, "fairy", None)
        self._local.conn = None
        self._local.fairy = None
        if fairy is not None:
            fairy.invalidate()

    def get(self, tenant_id: int, channel: str, address: str) -> Row | None:
        try:
            conn = self._conn()
            row: Row | None = conn.execute(self._point, (tenant_id, channel, address)).fetchone()
            return row
        except (sqlite3.Error, psycopg.Error):
            self._drop()
            with storage_errors():
                conn = self._conn()
                retried: Row | None = conn.execute(
                    self._point, (tenant_id, channel, address)
                ).fetchone()
                return retried

    def get_many(self, tenant_id: int, channel: str, addresses: Sequence[str]) -> dict[str, Row]:
        """Rows for many addresses at once (chunks of IN lists / one ANY array)."""
        found: dict[str, Row] = {}
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
                    for address, shape, ids, times, max_us in conn.execute(
                        sql, (tenant_id, channel, *chunk)
                    ):
                        found[address] = (shape, ids, times, max_us)
            else:
                cursor = conn.execute(
                    "SELECT address, shape, ids, times, max_us FROM consent_state"
                    " WHERE tenant_id = %s AND channel = %s AND address = ANY(%s)",
                    (tenant_id, channel, list(addresses)),
                )
                for address, shape, ids, times, max_us in cursor:
                    found[address] = (shape, ids, times, max_us)
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
