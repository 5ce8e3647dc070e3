"""API keys: created once, stored hashed, each reaching one account's subtree.

A key is ``cl_`` followed by 43 URL-safe characters (256 random bits). Only its
SHA-256 is stored, with the first characters as a lookup prefix; comparison is
constant-time. A key with ``account_id=None`` is an *installation admin*: it
reaches every tenant and may create root accounts (the bootstrap key is one).

>>> keys = ApiKeys(engine, clock)                                  # doctest: +SKIP
>>> raw, key = keys.create(account_id=1, role="write")
>>> keys.authenticate(raw).role
'write'
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, cast

from sqlalchemy import Engine, Row

from consentline.domain.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from consentline.domain.ledger import from_us, to_us
from consentline.storage.uow import UnitOfWork

Role = Literal["read", "write", "admin"]
ROLES: Final[tuple[Role, ...]] = ("read", "write", "admin")
RANK: Final[dict[str, int]] = {"read": 0, "write": 1, "admin": 2}
KEY_PREFIX: Final = "cl_"
LOOKUP_CHARS: Final = 11  # "cl_" + 8 random characters
CACHE_SECONDS: Final = 5.0  # a revoked key stops working within this long


def check_role(role: str) -> Role:
    if role not in RANK:
        raise InvalidInput(f"unknown role {role!r}; expected read, write or admin", field="role")
    return cast(Role, role)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key (never the key itself)."""

    id: int
    prefix: str
    account_id: int | None
    role: Role
    created_at: datetime
    revoked_at: datetime | None

    @property
    def installation(self) -> bool:
        return self.account_id is None

    def allows(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]

    def require(self, role: Role) -> None:
        if not self.allows(role):
            raise Forbidden(f"this key has role {self.role!r}; {role!r} is needed", role=role)


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=int(row.id),
        prefix=row.prefix,
        account_id=None if row.account_id is None else int(row.account_id),
        role=check_role(row.role),
        created_at=from_us(int(row.created_us)),
        revoked_at=None if row.revoked_us is None else from_us(int(row.revoked_us)),
    )


class ApiKeys:
    """Create, authenticate and revoke keys on one database."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, ApiKey]] = {}

    def create(self, *, account_id: int | None, role: str) -> tuple[str, ApiKey]:
        """A new key: returns the raw key (show it once) and its stored record."""
        raw = new_key()
        return raw, self._insert(raw, account_id, check_role(role))

    def _insert(self, raw: str, account_id: int | None, role: Role) -> ApiKey:
        with UnitOfWork(self._engine) as uow:
            key_id = uow.api.insert_key(
                prefix=raw[:LOOKUP_CHARS],
                hash_=digest(raw),
                account_id=account_id,
                role=role,
                now_us=to_us(self._clock()),
            )
            row = uow.api.key(key_id)
            uow.commit()
        assert row is not None
        return _key(row)

    def authenticate(self, raw: str | None) -> ApiKey:
        """The key's record, or :class:`Unauthorized` (missing, unknown or revoked)."""
        if not raw:
            raise Unauthorized("an API key is required: Authorization: Bearer <key>")
        hashed = digest(raw)
        cached = self._cache.get(hashed)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        with UnitOfWork(self._engine, write=False) as uow:
            rows = uow.api.keys_with_prefix(raw[:LOOKUP_CHARS])
        for row in rows:
            if hmac.compare_digest(row.hash, hashed) and row.revoked_us is None:
                key = _key(row)
                with self._lock:
                    if len(self._cache) > 10_000:
                        self._cache.clear()
                    self._cache[hashed] = (time.monotonic(), key)
                return key
        raise Unauthorized("the API key is unknown or revoked")

    def get(self, key_id: int) -> ApiKey:
        with UnitOfWork(self._engine, write=False) as uow:
            row = uow.api.key(key_id)
        if row is None:
            raise NotFound(f"no API key #{key_id}", key=key_id)
        return _key(row)

    def revoke(self, key_id: int) -> ApiKey:
        with UnitOfWork(self._engine) as uow:
            uow.api.revoke_key(key_id, to_us(self._clock()))
            row = uow.api.key(key_id)
            uow.commit()
        if row is None:
            raise NotFound(f"no API key #{key_id}", key=key_id)
        with self._lock:
            self._cache.clear()
        return _key(row)

    def bootstrap(self, configured: str | None) -> str | None:
        """Make sure an installation-admin key exists; return a NEW key to print once.

        With ``configured`` (``CONSENTLINE_ADMIN_KEY``) that key is stored if it is
        not yet, and nothing is returned. Without it, a key is generated only when
        no installation-admin key exists: the first start prints it, later ones don't.
        """
        if configured is not None:
            with UnitOfWork(self._engine, write=False) as uow:
                found = uow.api.key_by_hash(digest(configured))
            if found is None:
                self._insert(configured, None, "admin")
            return None
        with UnitOfWork(self._engine) as uow:  # a write transaction: two starts can't race
            if uow.api.count_installation_admins():
                return None
            raw = new_key()
            uow.api.insert_key(
                prefix=raw[:LOOKUP_CHARS],
                hash_=digest(raw),
                account_id=None,
                role="admin",
                now_us=to_us(self._clock()),
            )
            uow.commit()
        return raw
