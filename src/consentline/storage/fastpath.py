"""Projection reads for the send gate, on the bare DB-API connection.

A check is one primary-key lookup in ``consent_state``. Going through SQLAlchemy
Core costs several times the lookup itself, so the hot path keeps raw driver
connections of its own (autocommit: every read sees the latest commit, C14) and
runs fixed SQL on it, through one reused cursor for point lookups (a fresh cursor
per lookup costs more than the lookup on SQLite). Bulk reads return the driver's
row tuples as they are, keyed by address. Everything else goes through the unit
of work.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine

from consentline.domain.errors import ErasureKeyMissing
from consentline.domain.ledger import merge_rows
from consentline.domain.privacy import keyed_address
from consentline.services.ports import ApiKeyRow, Row, StateRow
from consentline.storage.engine import driver_errors, storage_errors

__all__ = ["ApiKeyRow", "Row", "StateReader", "StateRow"]

_POINT = (
    "SELECT shape, ids, times, max_us FROM consent_state"
    " WHERE tenant_id = {p} AND channel = {p} AND address = {p}"
)
_SCAN = (
    "SELECT address, shape, ids, times, max_us FROM consent_state"
    " WHERE tenant_id = {p} AND channel = {p}"
)
_GROUPS = (
    "SELECT shape, count(*), {concat} FROM consent_state"
    " WHERE tenant_id = {p} AND channel = {p} GROUP BY shape"
)
GROUPS_MAX = 20_000_000  # rows joined into strings at most (a group is one string)
# SQLite: the same reads in one pass over the whole table, in storage order. Through the
# primary-key index they come in address order, and each row is then a lookup of its
# own in the table (a random read: ~7 us a row once the table outgrows the cache, three
# times the sequential pass when the tenant holds the whole table).
_SCAN_ALL = _SCAN.replace("FROM consent_state", "FROM consent_state NOT INDEXED")
_GROUPS_ALL = _GROUPS.replace("FROM consent_state", "FROM consent_state NOT INDEXED")
_TOP = "SELECT max(rowid) FROM consent_state"
_POINT2 = (
    "SELECT address, shape, ids, times, max_us FROM consent_state"
    " WHERE tenant_id = {p} AND channel = {p} AND address IN ({p}, {p})"
)
_COUNT = "SELECT count(*) FROM consent_state WHERE tenant_id = {p} AND channel = {p}"
_ERASURES = "SELECT erasures FROM tenants WHERE id = {p}"
_ERASED_KEYS = "SELECT address_key FROM erasures WHERE tenant_id = {p}"
_API_KEY = (
    "SELECT id, prefix, account_id, role, created_us, revoked_us FROM api_keys WHERE hash = {p}"
)
_SQLITE_CHUNK = 5000
_first = itemgetter(0)


class _Handle:
    """One reader connection with its reused cursor."""

    __slots__ = ("conn", "cursor", "fairy")

    def __init__(self, fairy: Any, conn: Any, cursor: Any) -> None:
        self.fairy, self.conn, self.cursor = fairy, conn, cursor


class StateReader:
    """Reads projection rows on reader connections of its own.

    Connections are taken from the engine (so they get its settings) and then
    detached from its pool: the reader never holds a slot the writers need, and a
    thread that ends cannot take a connection with it. They are kept in a free
    list and lent to one call at a time, whichever thread makes it; a connection
    that fails is closed and the call retried once on a new one.
    """

    def __init__(self, engine: Engine, erasure_key: bytes | None = None) -> None:
        self._engine = engine
        # C22: tenants with erasures, whose checks also look up an address's keyed
        # hash (an erased number's opt-out lives there); all others pay nothing.
        self._erasure_key = erasure_key
        self._erased: frozenset[int] = frozenset()
        self._sqlite = engine.dialect.name == "sqlite"
        p = "?" if self._sqlite else "%s"
        self._point = _POINT.format(p=p)
        self._point2 = _POINT2.format(p=p)
        self._scan = _SCAN.format(p=p)
        concat = (
            "group_concat(address, char(10))" if self._sqlite else "string_agg(address, chr(10))"
        )
        self._groups = _GROUPS.format(p=p, concat=concat)
        self._scan_all = _SCAN_ALL.format(p=p)
        self._groups_all = _GROUPS_ALL.format(p=p, concat=concat)
        self._count = _COUNT.format(p=p)
        self._erasures = _ERASURES.format(p=p)
        self._erased_keys_sql = _ERASED_KEYS.format(p=p)
        # tenant -> (its erasure count, the keyed hashes of its erased addresses) as
        # last read: a bulk read looks up a keyed hash only for a recipient whose own
        # address missed and whose hash is in the set (see _get_many_erased).
        self._erased_keys: dict[int, tuple[int, frozenset[str]]] = {}
        self._api_key = _API_KEY.format(p=p)
        self._idle: queue.SimpleQueue[_Handle] = queue.SimpleQueue()
        self._all: set[_Handle] = set()
        self._lock = threading.Lock()

    def _new(self) -> _Handle:
        with storage_errors():
            fairy = self._engine.raw_connection()
        conn: Any = fairy.driver_connection
        assert conn is not None
        fairy.detach()
        if not self._sqlite:
            conn.autocommit = True
        handle = _Handle(fairy, conn, conn.cursor())
        with self._lock:
            self._all.add(handle)
        return handle

    def _take(self) -> _Handle:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._new()

    def _discard(self, handle: _Handle) -> None:
        with self._lock:
            self._all.discard(handle)
        with suppress(Exception):  # already broken: closing is best effort
            handle.fairy.close()

    @contextmanager
    def _lent(self) -> Iterator[_Handle]:
        """A connection for one call; back to the free list only after a clean exit."""
        handle = self._take()
        try:
            yield handle
        except BaseException:
            self._discard(handle)
            raise
        self._idle.put(handle)

    def set_erased(self, tenant_ids: Iterable[int]) -> None:
        """The tenants that have erasures (refreshed with the client's snapshot)."""
        self._erased = frozenset(tenant_ids)

    def has_erasures(self, tenant_id: int) -> bool:
        return tenant_id in self._erased

    def erased(self) -> frozenset[int]:
        return self._erased

    def _learn_erasures(self, tenant_id: int) -> bool:
        """Whether ``tenant_id`` has erasures, read from the database (C14, C22).

        Asked only when a lookup in a tenant not known to have any misses: another
        process may have erased a number since this one's snapshot, moving its opt-out
        to the keyed hash, and a miss must not then answer as if nothing were held.
        """
        with self._lent() as handle, storage_errors():
            row = handle.cursor.execute(self._erasures, (tenant_id,)).fetchone()
        if not row or not row[0]:
            return False
        self._erased = self._erased | {tenant_id}
        return True

    def _keys(self, tenant_id: int, addresses: Sequence[str]) -> dict[str, str]:
        """keyed hash -> address, for a tenant with erasures."""
        if self._erasure_key is None:
            raise ErasureKeyMissing(
                "this tenant has erased numbers: checks need CONSENTLINE_ERASURE_KEY to"
                " find their opt-outs"
            )
        key = self._erasure_key
        return {keyed_address(key, tenant_id, a): a for a in addresses}

    def _get_erased(self, tenant_id: int, channel: str, address: str) -> Row | None:
        """One indexed query for the address and its keyed hash (at most one exists)."""
        [keyed] = self._keys(tenant_id, [address])
        params = (tenant_id, channel, address, keyed)
        handle = self._take()
        try:
            rows = handle.cursor.execute(self._point2, params).fetchall()
        except driver_errors():
            self._discard(handle)
            with self._lent() as fresh, storage_errors():
                rows = fresh.cursor.execute(self._point2, params).fetchall()
        else:
            self._idle.put(handle)
        if not rows:
            return None
        if len(rows) == 1:
            found: Row = tuple(rows[0][1:])
            return found
        return merge_rows(rows[0], rows[1])

    def _erased_set(self, tenant_id: int) -> frozenset[str]:
        """The keyed hashes of the tenant's erased addresses, as of now (C14, C22).

        The count is read after the caller's lookup of the plain addresses: when it is
        the one the set was read at, no erasure happened between the set's reading and
        that lookup, so every address the lookup missed because it was erased is in
        the set. Otherwise the set is read again (erasures are rare)."""
        with self._lent() as handle, storage_errors():
            row = handle.cursor.execute(self._erasures, (tenant_id,)).fetchone()
            count = int(row[0]) if row else 0
            cached = self._erased_keys.get(tenant_id)
            if cached is not None and cached[0] == count:
                return cached[1]
            keys = frozenset(
                r[0] for r in handle.cursor.execute(self._erased_keys_sql, (tenant_id,))
            )
        self._erased_keys[tenant_id] = (count, keys)
        return keys

    def _get_many_erased(
        self, tenant_id: int, channel: str, addresses: Sequence[str]
    ) -> dict[str, StateRow]:
        """Rows for many addresses of a tenant with erasures: an erased address's row
        lives under its keyed hash (erasure moves it, later writers write there). The
        plain addresses are looked up first; then only the keyed hashes that name an
        erasure are, instead of every recipient's (which doubled the lookup)."""
        plain = self._get_many(tenant_id, channel, addresses)
        erased = self._erased_set(tenant_id)  # read after the lookup: see there
        keyed = {k: a for k, a in self._keys(tenant_id, addresses).items() if k in erased}
        if not keyed:
            return plain
        rows = {**plain, **self._get_many(tenant_id, channel, list(keyed))}
        found: dict[str, StateRow] = {}
        for stored, row in rows.items():
            address = keyed.get(stored, stored)
            earlier = found.get(address)
            found[address] = (
                (address, *row[1:]) if earlier is None else (address, *merge_rows(earlier, row))
            )
        return found

    def get(self, tenant_id: int, channel: str, address: str) -> Row | None:
        if tenant_id in self._erased:
            return self._get_erased(tenant_id, channel, address)
        # The statement runs to completion in fetchone (at most one row by primary
        # key), so the reused cursor holds no read transaction open between checks.
        handle = self._take()
        try:
            row: Row | None = handle.cursor.execute(
                self._point, (tenant_id, channel, address)
            ).fetchone()
        except driver_errors():
            self._discard(handle)
            with self._lent() as fresh, storage_errors():
                retried: Row | None = fresh.cursor.execute(
                    self._point, (tenant_id, channel, address)
                ).fetchone()
                row = retried
        else:
            self._idle.put(handle)
        if row is None and self._learn_erasures(tenant_id):
            return self._get_erased(tenant_id, channel, address)
        return row

    def api_key(self, hash_: str) -> ApiKeyRow | None:
        """An API key's row by the unique index on its hash (read on every request, so
        that a key revoked anywhere stops working at once)."""
        handle = self._take()
        try:
            row: ApiKeyRow | None = handle.cursor.execute(self._api_key, (hash_,)).fetchone()
        except driver_errors():
            self._discard(handle)
            with self._lent() as fresh, storage_errors():
                retried: ApiKeyRow | None = fresh.cursor.execute(self._api_key, (hash_,)).fetchone()
                return retried
        self._idle.put(handle)
        return row

    def get_many(
        self, tenant_id: int, channel: str, addresses: Sequence[str]
    ) -> dict[str, StateRow]:
        """Rows for many addresses at once (chunks of IN lists / one ANY array)."""
        if tenant_id in self._erased:
            return self._get_many_erased(tenant_id, channel, addresses)
        found = self._get_many(tenant_id, channel, addresses)
        if len(found) < len(addresses) and self._learn_erasures(tenant_id):
            return self._get_many_erased(tenant_id, channel, addresses)
        return found

    def _get_many(
        self, tenant_id: int, channel: str, addresses: Sequence[str]
    ) -> dict[str, StateRow]:
        found: dict[str, StateRow] = {}
        with self._lent() as handle, storage_errors():
            conn = handle.conn
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

    def scan(self, tenant_id: int, channel: str) -> Iterator[StateRow]:
        """Every projection row of a tenant and channel (for campaign-sized checks).

        The connection is the generator's until it is exhausted; one abandoned half-way
        is closed rather than reused with a statement still open.
        """
        with self._lent() as handle, storage_errors():
            conn = handle.conn
            if self._sqlite:
                yield from conn.execute(self._scan, (tenant_id, channel))
            else:
                with conn.cursor(name=None) as cursor:
                    cursor.execute(self._scan, (tenant_id, channel))
                    while rows := cursor.fetchmany(50_000):
                        yield from rows

    def _sequential(self, handle: _Handle, tenant_id: int, channel: str, rows: int | None) -> bool:
        """SQLite: whether a tenant's ``rows`` (counted if not given) are a quarter of
        the table or more (its largest rowid, one index step, is the table's size or
        more), so that one pass over the whole table reads them fastest."""
        if not self._sqlite:
            return False
        if rows is None:
            rows = self.count(tenant_id, channel)
        top = handle.conn.execute(_TOP).fetchone()
        return bool(rows) and rows * 4 >= int(top[0] or 0)

    def scan_table(
        self, tenant_id: int, channel: str, rows: int | None = None
    ) -> dict[str, StateRow]:
        """Every projection row of a tenant and channel, keyed by address (``rows``:
        how many there are, if the caller has just counted them).

        Built by C-level iteration (``dict(zip(map(...)))``): for a million rows a
        Python-level loop costs a noticeable part of the scan itself.
        """
        # The collector is left running: pausing it (gc.disable) is process-wide, so in
        # a threaded server it would stop for every other request too, and two scans
        # at once would re-enable it under each other (bench/bench_scan_gc.py: the
        # cost of leaving it on is measured there).
        if tenant_id in self._erased or self._learn_erasures(tenant_id):
            return _ErasedTable(self, tenant_id, self._scan_table(tenant_id, channel, rows))
        return self._scan_table(tenant_id, channel, rows)

    def shape_groups(
        self, tenant_id: int, channel: str, rows: int | None = None
    ) -> list[tuple[str, list[str]]] | None:
        """Every projection row of a tenant and channel, grouped by row shape: (shape,
        its addresses) per distinct shape (the deliverability preview: the shape alone
        decides most rows). The database groups them and joins each group's addresses
        into one string, so a million rows come as a few strings, split here, with no
        row tuple or shape string per row. None for a tenant with erasures (its
        keyed-hash rows need the full path), or when a group would be too long to
        join (``GROUPS_MAX`` rows) or an address holds a newline."""
        if tenant_id in self._erased or self._learn_erasures(tenant_id):
            return None
        if rows is None:
            rows = self.count(tenant_id, channel)
        if rows > GROUPS_MAX:
            return None
        with self._lent() as handle, storage_errors():
            sql = (
                self._groups_all
                if self._sequential(handle, tenant_id, channel, rows)
                else self._groups
            )
            groups: list[tuple[str, list[str]]] = []
            for shape, count, joined in handle.conn.execute(sql, (tenant_id, channel)):
                addresses = joined.split("\n")
                if len(addresses) != count:
                    return None
                groups.append((shape, addresses))
        return groups

    def _scan_table(self, tenant_id: int, channel: str, count: int | None) -> dict[str, StateRow]:
        with self._lent() as handle, storage_errors():
            conn = handle.conn
            if self._sqlite:
                sql = (
                    self._scan_all
                    if self._sequential(handle, tenant_id, channel, count)
                    else self._scan
                )
                rows = conn.execute(sql, (tenant_id, channel)).fetchall()
                return dict(zip(map(_first, rows), rows, strict=True))
            table: dict[str, StateRow] = {}
            with conn.cursor() as cursor:
                cursor.execute(self._scan, (tenant_id, channel))
                while rows := cursor.fetchmany(50_000):
                    table.update(zip(map(_first, rows), rows, strict=True))
            return table

    def count(self, tenant_id: int, channel: str) -> int:
        with self._lent() as handle, storage_errors():
            row = handle.conn.execute(self._count, (tenant_id, channel)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            handles, self._all = list(self._all), set()
        for handle in handles:
            with suppress(Exception):  # closing is best effort
                handle.fairy.close()
        self._idle = queue.SimpleQueue()


class _ErasedTable(dict[str, StateRow]):
    """A scanned projection of a tenant with erasures: a recipient not found under its
    own address is looked up under its keyed hash (C22). Only such tenants use it."""

    def __init__(self, reader: StateReader, tenant_id: int, rows: dict[str, StateRow]) -> None:
        super().__init__(rows)
        self._reader = reader
        self._tenant_id = tenant_id

    def get(self, address: str, default: Any = None) -> Any:
        row = dict.get(self, address)
        if row is not None or not isinstance(address, str):
            return row if row is not None else default
        keyed = next(iter(self._reader._keys(self._tenant_id, [address])))
        row = dict.get(self, keyed)
        return default if row is None else (address, *row[1:])
