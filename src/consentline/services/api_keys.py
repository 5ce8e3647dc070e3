"""API keys: created once, stored hashed, each reaching one account's subtree.

A key is ``cl_`` followed by 43 URL-safe characters (256 random bits). Only its
SHA-256 is stored (with the first characters as a prefix, to tell keys apart); a
key is found by the unique index on that hash. A key with ``account_id=None`` is an
*installation admin*: it reaches every tenant and may create root accounts (the
bootstrap key is one).

Revocation takes effect at once in the process that revokes, and within
:data:`REVALIDATE_SECONDS` (1 s) in every other process on the database: a process
trusts a key it has checked for at most that long (by its clock), then reads the
key's row again (one point read by the unique index on the hash, on a connection of
its own). Reading it on every request would cost a database round trip per request
(~10 µs on SQLite, a network round trip on PostgreSQL) for a bound of zero.

>>> keys = cl.api_keys()                       # ApiKeys(units, reader, clock) # doctest: +SKIP
>>> raw, key = keys.create(account_id=1, role="write")
>>> keys.authenticate(raw).role
'write'
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, cast

from consentline.domain.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from consentline.domain.ledger import from_us, to_us
from consentline.services.ports import (
    ApiKeyReader,
    ApiKeyRecord,
    ApiKeyRow,
    UnitOfWork,
    UnitOfWorkFactory,
)

Role = Literal["read", "write", "admin"]
ROLES: Final[tuple[Role, ...]] = ("read", "write", "admin")
RANK: Final[dict[str, int]] = {"read": 0, "write": 1, "admin": 2}
KEY_PREFIX: Final = "cl_"
LOOKUP_CHARS: Final = 11  # "cl_" + 8 random characters
REVALIDATE_SECONDS: Final = 1.0  # a key revoked elsewhere stops working within this long
_KEYS_KEPT: Final = 10_000  # checked keys remembered per process


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


def _key(row: ApiKeyRecord) -> ApiKey:
    return ApiKey(
        id=int(row.id),
        prefix=row.prefix,
        account_id=None if row.account_id is None else int(row.account_id),
        role=check_role(row.role),
        created_at=from_us(int(row.created_us)),
        revoked_at=None if row.revoked_us is None else from_us(int(row.revoked_us)),
    )


def _record(row: ApiKeyRow) -> ApiKey:
    key_id, prefix, account_id, role, created_us, revoked_us = row
    return ApiKey(
        id=int(key_id),
        prefix=prefix,
        account_id=None if account_id is None else int(account_id),
        role=check_role(role),
        created_at=from_us(int(created_us)),
        revoked_at=None if revoked_us is None else from_us(int(revoked_us)),
    )


# -- the use cases: values in, one unit of work each, time passed in -----------------
def store_key(
    uow: UnitOfWork, raw: str, *, account_id: int | None, role: Role, now: datetime
) -> ApiKey:
    """Store ``raw`` (hashed) as a key of ``account_id`` (None: installation admin)."""
    key_id = uow.api.insert_key(
        prefix=raw[:LOOKUP_CHARS],
        hash_=digest(raw),
        account_id=account_id,
        role=role,
        now_us=to_us(now),
    )
    row = uow.api.key(key_id)
    assert row is not None
    return _key(row)


def find_key(uow: UnitOfWork, key_id: int) -> ApiKey:
    """The stored key ``key_id``, or :class:`NotFound`."""
    row = uow.api.key(key_id)
    if row is None:
        raise NotFound(f"no API key #{key_id}", key=key_id)
    return _key(row)


def revoke_key(uow: UnitOfWork, key_id: int, *, now: datetime) -> ApiKey:
    """Revoke ``key_id`` (again: its first revocation time is kept), or :class:`NotFound`."""
    uow.api.revoke_key(key_id, to_us(now))
    return find_key(uow, key_id)


def is_stored(uow: UnitOfWork, raw: str) -> bool:
    return uow.api.key_by_hash(digest(raw)) is not None


def store_first_admin(uow: UnitOfWork, raw: str, *, now: datetime) -> bool:
    """Store ``raw`` as an installation admin unless one exists; whether it was stored."""
    if uow.api.count_installation_admins():
        return False
    store_key(uow, raw, account_id=None, role="admin", now=now)
    return True


class ApiKeys:
    """Create, authenticate and revoke keys on one database.

    ``units`` opens the units of work; ``reader`` is the authentication read path
    (owned: :meth:`close` closes it); ``clock`` gives the time every use case is
    passed. The façade builds one: ``Consentline.api_keys()``.
    """

    def __init__(
        self, units: UnitOfWorkFactory, reader: ApiKeyReader, clock: Callable[[], datetime]
    ) -> None:
        self._units = units
        self._clock = clock
        self._lock = threading.Lock()
        self._reader = reader  # connects on first use
        weakref.finalize(self, reader.close)
        self._checked: dict[str, tuple[datetime, ApiKey]] = {}  # hash -> (checked at, key)

    def create(self, *, account_id: int | None, role: str) -> tuple[str, ApiKey]:
        """A new key: returns the raw key (show it once) and its stored record."""
        raw = new_key()
        return raw, self._insert(raw, account_id, check_role(role))

    def _insert(self, raw: str, account_id: int | None, role: Role) -> ApiKey:
        with self._units() as uow:
            key = store_key(uow, raw, account_id=account_id, role=role, now=self._clock())
            uow.commit()
        return key

    def authenticate(self, raw: str | None) -> ApiKey:
        """The key's record, or :class:`Unauthorized` (missing, unknown or revoked).

        A key checked less than :data:`REVALIDATE_SECONDS` ago (by this object's
        clock; a clock that went back counts as expired) is trusted; otherwise its
        row is read again.
        """
        if not raw:
            raise Unauthorized("an API key is required: Authorization: Bearer <key>")
        hashed = digest(raw)
        now = self._clock()
        checked = self._checked.get(hashed)
        if checked is not None and 0 <= (now - checked[0]).total_seconds() < REVALIDATE_SECONDS:
            return checked[1]
        row = self._reader.api_key(hashed)
        if row is None or row[5] is not None:
            self._checked.pop(hashed, None)
            raise Unauthorized("the API key is unknown or revoked")
        key = _record(row)
        with self._lock:
            if len(self._checked) >= _KEYS_KEPT:
                self._checked.clear()
            self._checked[hashed] = (now, key)
        return key

    def close(self) -> None:
        """Close the connections authentication reads on (reopened if used again)."""
        self._reader.close()

    def get(self, key_id: int) -> ApiKey:
        with self._units(write=False) as uow:
            return find_key(uow, key_id)

    def listed(self, account_ids: Collection[int]) -> list[ApiKey]:
        """The keys of these accounts, revoked ones included, oldest first (never the
        keys themselves: only their prefixes are kept)."""
        with self._units(write=False) as uow:
            return [_key(row) for row in uow.api.keys_of_accounts(account_ids)]

    def revoke(self, key_id: int) -> ApiKey:
        with self._units() as uow:
            key = revoke_key(uow, key_id, now=self._clock())
            uow.commit()
        with self._lock:
            self._checked.clear()  # this process refuses the key from now on
        return key

    def bootstrap(self, configured: str | None) -> str | None:
        """Make sure an installation-admin key exists; return a NEW key to print once.

        With ``configured`` (``CONSENTLINE_ADMIN_KEY``) that key is stored if it is
        not yet, and nothing is returned. Without it, a key is generated only when
        no installation-admin key exists: the first start prints it, later ones don't.
        """
        if configured is not None:
            with self._units(write=False) as uow:
                stored = is_stored(uow, configured)
            if not stored:
                self._insert(configured, None, "admin")
            return None
        raw = new_key()
        with self._units() as uow:  # a write transaction: two starts can't race
            created = store_first_admin(uow, raw, now=self._clock())
            uow.commit()
        return raw if created else None
