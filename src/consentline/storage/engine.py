"""Engines, migrations and the translation of driver errors.

SQLite runs in WAL mode with ``synchronous=FULL``: a commit that returned is on
disk, so an acknowledged opt-out survives a crash or power loss. Write
transactions start with ``BEGIN IMMEDIATE`` so two writers never deadlock
upgrading read locks; read-only units of work use a deferred ``BEGIN``.

Driver errors never leave the storage layer untranslated. Every engine made here
has a ``handle_error`` listener, so whatever statement fails (in a unit of work,
a begin, a commit, a connect) raises one of the library's errors instead:

* ``InvalidInput`` when the failure is the value's fault: a NUL or a lone surrogate
  the driver cannot send, or a value the database refuses (SQLSTATE class 22,
  ``DataError``); nothing was written;
* ``StorageError`` (HTTP 503) for everything else the database or driver raised.

:func:`storage_errors` does the same around code that uses DB-API connections
directly (the send gate's fast path) or the pool. Engines hide bound parameters
(``hide_parameters=True``), so no number or message text is ever quoted in
SQLAlchemy's exception messages or logs (C23), and the messages built here carry
only the driver's first line with long digit runs masked.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, inspect, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateIndex, CreateTable

from consentline.domain.errors import ConsentlineError, InvalidConfig, InvalidInput, StorageError

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_CACHE_KB = 65_536  # each SQLite connection's page cache (PRAGMA cache_size)


def make_engine(url: str) -> Engine:
    """Create an engine for a ``sqlite:///`` or ``postgresql+psycopg://`` URL."""
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        # Not echoed back: an unparsable URL may still carry a password.
        raise InvalidConfig("the database URL could not be parsed") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(
            parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
        )
        event.listen(engine, "handle_error", _translate)
        return engine
    raise InvalidConfig(
        f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://",
        url=parsed.render_as_string(hide_password=True),
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    memory = not database or database == ":memory:"
    if not memory:
        assert database is not None
        folder = Path(database).expanduser().resolve().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(
                f"cannot create the database folder {folder}: {error.strerror}"
            ) from None
    kwargs: dict[str, Any] = {}
    if memory:
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(url, hide_parameters=True, **kwargs)
    event.listen(engine, "handle_error", _translate)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # A 64 MB page cache (the default is 2 MB): the ledger's keyed indexes
        # (idempotency keys, contact refs, the projection) take inserts at random
        # places, and once they outgrow the cache every insert rereads pages; the
        # memory is only taken as pages are actually read.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def migrate(engine: Engine, *, replay: bool = False) -> None:
    """Bring the schema to the newest migration (idempotent).

    An empty database (no tables at all) is built straight from the schema module
    and stamped with the newest revision: replaying every migration on nothing
    does the same work many times over (tables built, then rebuilt by later
    migrations) and is what made a new database cost most of a second on
    PostgreSQL. A test replays the migrations (``replay=True``) and compares the
    result with the schema module, so both paths build the same schema.
    """
    # Imported here: alembic costs a third of a second, and only migrating needs it.
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with storage_errors(), engine.begin() as conn:
            config.attributes["connection"] = conn
            if not replay and not inspect(conn).get_table_names():
                _create_schema(conn)
                command.stamp(config, "head")
            else:
                command.upgrade(config, "head")
    except CommandError as error:
        raise StorageError(f"the schema could not be migrated: {error}") from None


def _create_schema(conn: Connection) -> None:
    """Every table and index of the schema module, on an empty database."""
    from consentline.storage.schema import metadata

    if conn.dialect.name != "postgresql":
        metadata.create_all(conn, checkfirst=False)
        return
    # One round trip for the whole DDL: PostgreSQL takes a multi-statement string
    # without parameters, and 30-odd separate statements cost more than the work.
    statements: list[str] = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=conn.dialect)))
        statements.extend(
            str(CreateIndex(index).compile(dialect=conn.dialect)) for index in table.indexes
        )
    conn.exec_driver_sql(";\n".join(statements))


def driver_errors() -> tuple[type[Exception], ...]:
    """The DB-API error base classes that can be raised in this process.

    psycopg is imported by SQLAlchemy when a PostgreSQL engine is created, never
    before (a SQLite user does not pay for it at ``import consentline``); until then
    no psycopg error can exist, so it is looked up, not imported.
    """
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


def _data_errors() -> tuple[type[Exception], ...]:
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.DataError,) if psycopg is None else (sqlite3.DataError, psycopg.DataError)


_DIGITS = re.compile(r"\d{5,}")


def _first_line(error: BaseException) -> str:
    """The driver's first line, short, with long digit runs masked (C23)."""
    lines = str(error).splitlines()
    return _DIGITS.sub("***", lines[0] if lines else "")[:200]


def storage_error(error: BaseException) -> StorageError:
    """The StorageError for a driver or SQLAlchemy error."""
    original = getattr(error, "orig", None) or error
    return StorageError(f"database error: {type(original).__name__}", detail=_first_line(original))


def _value_refused(original: BaseException) -> bool:
    """The value's fault: a lone surrogate the driver cannot encode, or a DataError
    (a NUL on PostgreSQL, SQLSTATE class 22)."""
    return isinstance(original, (UnicodeEncodeError, *_data_errors()))


def translated(error: BaseException) -> ConsentlineError | None:
    """The library's error for a driver or SQLAlchemy error; None for anything else.

    Used by the engine's ``handle_error`` listener (which sees the driver's error).
    """
    original = error
    if isinstance(original, ConsentlineError):
        return None
    if _value_refused(original):
        return InvalidInput(
            "a value cannot be stored by the database (it may hold a NUL or a lone"
            f" surrogate, or not fit its column): {type(original).__name__}"
        )
    if isinstance(original, (*driver_errors(), exc.SQLAlchemyError)):
        return storage_error(original)
    return None


def _translate(context: ExceptionContext) -> None:
    """``handle_error`` listener: the library's error for any failing statement.

    Raising here replaces SQLAlchemy's exception (the connection is still cleaned
    up and, after a disconnect, invalidated). The pool's pre-ping is left alone: it
    reconnects on its own when the error means a lost connection.
    """
    original = context.original_exception
    if context.is_pre_ping or not isinstance(original, Exception):
        return
    error = translated(original)
    if error is not None:
        raise error


@contextlib.contextmanager
def storage_errors() -> Iterator[None]:
    """Translate driver and SQLAlchemy errors into StorageError at the boundary.

    For what the engine's ``handle_error`` listener does not see: the pool, and
    DB-API connections used directly.
    """
    caught: tuple[type[Exception], ...] = (exc.SQLAlchemyError, *driver_errors())
    try:
        yield
    except ConsentlineError:
        raise
    except caught as error:
        raise storage_error(error) from error


def ping(engine: Engine) -> None:
    """One round trip to the database; :class:`StorageError` if it does not answer."""
    with storage_errors(), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
