"""The unit of work: one transaction, its repository, commit or roll back.

>>> with UnitOfWork(engine) as uow:          # doctest: +SKIP
...     uow.store.insert_line(...)
...     uow.commit()

Leaving the block without ``commit()`` (or with an exception) rolls back, so a
service can never leave a half-written record.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from consentline.storage.apistore import ApiStore
from consentline.storage.campaigns import CampaignStore
from consentline.storage.contact_refs import ContactRefStore
from consentline.storage.engine import storage_errors
from consentline.storage.exports import ExportStore
from consentline.storage.hookstore import HookStore
from consentline.storage.inbox import InboxStore
from consentline.storage.nonces import NonceStore
from consentline.storage.operators import OperatorStore
from consentline.storage.pages import PageStore
from consentline.storage.privacy import PrivacyStore
from consentline.storage.repository import SqlStore
from consentline.storage.rollups import RollupStore
from consentline.storage.scope_questions import ScopeQuestionStore


class UnitOfWork:
    """The SQLAlchemy unit of work (``services.ports.UnitOfWork``)."""

    store: SqlStore
    inbox: InboxStore
    api: ApiStore
    hooks: HookStore
    nonces: NonceStore
    questions: ScopeQuestionStore
    exports: ExportStore
    refs: ContactRefStore
    privacy: PrivacyStore
    campaigns: CampaignStore
    rollups: RollupStore
    operators: OperatorStore
    pages: PageStore

    def __init__(
        self, engine: Engine, *, write: bool = True, erasure_key: bytes | None = None
    ) -> None:
        self._engine = engine
        self._write = write
        self._erasure_key = erasure_key
        self._conn: Connection | None = None
        self._committed = False

    def __enter__(self) -> Self:
        with storage_errors():
            conn = self._engine.connect()
            if not self._write:
                conn = conn.execution_options(sqlite_begin="DEFERRED")
            conn.begin()
        self._conn = conn
        self.store = SqlStore(conn, self._erasure_key)
        self.inbox = InboxStore(conn)
        self.api = ApiStore(conn)
        self.hooks = HookStore(conn)
        self.nonces = NonceStore(conn)
        self.questions = ScopeQuestionStore(conn)
        self.exports = ExportStore(conn)
        self.refs = ContactRefStore(conn)
        self.privacy = PrivacyStore(conn)
        self.campaigns = CampaignStore(conn)
        self.rollups = RollupStore(conn)
        self.operators = OperatorStore(conn)
        self.pages = PageStore(conn)
        return self

    def commit(self) -> None:
        assert self._conn is not None, "commit() outside the unit of work"
        with storage_errors():
            self._conn.commit()
        self._committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not self._committed:
                conn.rollback()
        finally:
            conn.close()


class UnitsOfWork:
    """The unit-of-work factory over one engine (``services.ports.UnitOfWorkFactory``).

    >>> units = UnitsOfWork(engine)            # doctest: +SKIP
    >>> with units(write=False) as uow: ...
    """

    __slots__ = ("engine", "erasure_key")

    def __init__(self, engine: Engine, erasure_key: bytes | None = None) -> None:
        self.engine = engine
        self.erasure_key = erasure_key

    def __call__(self, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self.engine, write=write, erasure_key=self.erasure_key)
