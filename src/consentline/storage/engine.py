"""Engines, migrations and the translation of driver errors.

SQLite runs in WAL mode with ``synchronous=FULL``: a commit that returned is on
disk, so an acknowledged opt-out survives a crash or power loss. Write
transactions start with ``BEGIN IMMEDIATE`` so two writers never deadlock
upgrading read locks; read-only units of work use a deferred ``BEGIN``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from consentline.domain.errors import ConsentlineError, InvalidConfig, StorageError

MIGRATIONS = Path(__file__).parent / "migrations"


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
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
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
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with storage_errors(), engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except CommandError as error:
        raise StorageError(f"the schema could not be migrated: {error}") from None


@contextlib.contextmanager
def storage_errors() -> Iterator[None]:
    """Translate driver and SQLAlchemy errors into StorageError at the boundary."""
    try:
        yield
    except ConsentlineError:
        raise
    except (exc.SQLAlchemyError, sqlite3.Error, psycopg.Error) as error:
        raise StorageError(
            f"database error: {type(getattr(error, 'orig', error) or error).__name__}",
            detail=str(getattr(error, "orig", error)).splitlines()[0][:200],
        ) from error
