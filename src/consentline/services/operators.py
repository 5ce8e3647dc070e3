"""Operators: the people who sign in to the web UI, each reaching one account's subtree.

An operator has a username (unique in the installation), an account, a role
(``read < write < admin``, as API keys have) and a password stored only as an
argon2id hash (memory-hard: argon2-cffi's defaults, 64 MiB and 3 passes). An
operator reaches exactly what an API key of the same account and role reaches
(:class:`consentline.services.reach.Reach`).

Sign-in is rate-limited per username and per client IP (:data:`LOGIN_LIMIT` failures
per :data:`LOGIN_WINDOW_S`, counted in the ``rate_limits`` table, so every process on
the database shares the count). A wrong password, an unknown username and a disabled
operator all answer the same :class:`Unauthorized`, after the same work (an unknown
name is checked against a dummy hash), so a sign-in form cannot tell which names exist.

>>> ops = cl.operators()                                   # doctest: +SKIP
>>> ops.create("maria", account="acme", role="write", password="correct horse")
>>> ops.authenticate("maria", "correct horse", ip="127.0.0.1").role
'write'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from consentline.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    OperatorExists,
    TooManyAttempts,
    Unauthorized,
)
from consentline.domain.ledger import from_us, to_us
from consentline.domain.scopes import Directory
from consentline.services.api_keys import RANK, Role, check_role
from consentline.services.ports import OperatorRecord, UnitOfWork, UnitOfWorkFactory

LOGIN_LIMIT: Final = 10  # failed sign-ins per username, and per IP, per window
LOGIN_WINDOW_S: Final = 900
MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 1024
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._@-]{0,62}")
_HASHER: Final = PasswordHasher()  # argon2id, RFC 9106's second recommended profile
# Checked when the name is unknown, so that answer costs what a wrong password costs.
_DUMMY: Final = _HASHER.hash("consentline: no such operator")


@dataclass(frozen=True, slots=True)
class Operator:
    """A person who signs in (never their password or its hash)."""

    id: int
    name: str
    account_id: int
    role: Role
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def allows(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]

    def require(self, role: Role) -> None:
        if not self.allows(role):
            raise Forbidden(f"operator role {self.role!r}; {role!r} is needed", role=role)


def _operator(row: OperatorRecord) -> Operator:
    return Operator(
        id=int(row.id),
        name=row.name,
        account_id=int(row.account_id),
        role=check_role(row.role),
        created_at=from_us(int(row.created_us)),
        disabled_at=None if row.disabled_us is None else from_us(int(row.disabled_us)),
    )


def check_name(name: str) -> str:
    """A username: 1-63 characters of a-z, 0-9 and ``._@-``, lower-cased."""
    cleaned = name.strip().lower() if isinstance(name, str) else ""
    if not _NAME.fullmatch(cleaned):
        raise InvalidInput(
            "an operator name is 1 to 63 characters: a-z, 0-9 and . _ @ -", field="name"
        )
    return cleaned


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password"
        )
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(check_password(password))


def throttle_key(value: str) -> str:
    """What a rate-limit row is keyed by: a digest, so no name, IP or number is stored."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def window_of(now: datetime, seconds: int) -> int:
    """The start (µs) of the fixed window ``now`` falls in."""
    span = seconds * 1_000_000
    return to_us(now) // span * span


def hit(
    uow: UnitOfWork, bucket: str, value: str, *, limit: int, seconds: int, now: datetime
) -> None:
    """Count one hit of ``value`` in ``bucket``; :class:`TooManyAttempts` past ``limit``."""
    window = window_of(now, seconds)
    if uow.operators.hit(bucket, throttle_key(value), window) > limit:
        retry = (window + seconds * 1_000_000 - to_us(now)) // 1_000_000 + 1
        raise TooManyAttempts(
            f"too many attempts; try again in {retry} s", bucket=bucket, retry_after=retry
        )


def over_limit(
    uow: UnitOfWork, bucket: str, value: str, *, limit: int, seconds: int, now: datetime
) -> bool:
    return uow.operators.hits(bucket, throttle_key(value), window_of(now, seconds)) >= limit


# -- the use cases ---------------------------------------------------------------------
def create(
    uow: UnitOfWork,
    directory: Directory,
    *,
    name: str,
    account: str,
    role: str,
    password: str,
    now: datetime,
) -> Operator:
    """Store a new operator of ``account`` (:class:`OperatorExists` if the name is taken)."""
    username = check_name(name)
    checked = check_role(role)
    owner = directory.account(account)
    if uow.operators.by_name(username) is not None:
        raise OperatorExists(f"an operator named {username!r} exists", name=username)
    operator_id = uow.operators.insert(
        name=username,
        account_id=owner.id,
        role=checked,
        password_hash=hash_password(password),
        now_us=to_us(now),
    )
    row = uow.operators.by_id(operator_id)
    assert row is not None
    return _operator(row)


def authenticate(uow: UnitOfWork, *, name: str, password: str, ip: str, now: datetime) -> Operator:
    """The operator whose name and password these are, or :class:`Unauthorized`.

    Refused with :class:`TooManyAttempts` (before any hash is checked) once the name
    or the IP has :data:`LOGIN_LIMIT` failures in the window; a success clears the
    name's count."""
    username = name.strip().lower() if isinstance(name, str) else ""
    ip_key = f"ip:{ip}"
    for bucket, value in (("login_name", username), ("login_ip", ip_key)):
        if over_limit(uow, bucket, value, limit=LOGIN_LIMIT, seconds=LOGIN_WINDOW_S, now=now):
            raise TooManyAttempts(
                "too many failed sign-ins; wait a few minutes and try again",
                bucket=bucket,
                retry_after=LOGIN_WINDOW_S,
            )
    row = uow.operators.by_name(username) if _NAME.fullmatch(username) else None
    stored = row.password_hash if row is not None else _DUMMY
    try:
        ok = isinstance(password, str) and len(password) <= MAX_PASSWORD
        ok = ok and _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or row.disabled_us is not None:
        for bucket, value in (("login_name", username), ("login_ip", ip_key)):
            uow.operators.hit(bucket, throttle_key(value), window_of(now, LOGIN_WINDOW_S))
        raise Unauthorized("unknown username or wrong password")
    uow.operators.clear("login_name", throttle_key(username))
    if _HASHER.check_needs_rehash(stored):
        uow.operators.set_password(row.id, _HASHER.hash(password))
    return _operator(row)


def get(uow: UnitOfWork, operator_id: int) -> Operator:
    row = uow.operators.by_id(operator_id)
    if row is None:
        raise NotFound(f"no operator #{operator_id}", operator=operator_id)
    return _operator(row)


def listed(uow: UnitOfWork, account_ids: list[int] | None) -> list[Operator]:
    return [_operator(r) for r in uow.operators.of_accounts(account_ids)]


def disable(uow: UnitOfWork, name: str, *, now: datetime) -> Operator:
    """Disable an operator: their sessions stop working at their next request."""
    row = uow.operators.by_name(check_name(name))
    if row is None:
        raise NotFound(f"no operator {name!r}", operator=name)
    uow.operators.disable(row.id, to_us(now))
    return get(uow, row.id)


class Operators:
    """The operator use cases on one database (``Consentline.operators()``)."""

    def __init__(self, units: UnitOfWorkFactory, clock: Callable[[], datetime]) -> None:
        self._units = units
        self._clock = clock

    def create(
        self, name: str, *, directory: Directory, account: str, role: str, password: str
    ) -> Operator:
        with self._units() as uow:
            created = create(
                uow,
                directory,
                name=name,
                account=account,
                role=role,
                password=password,
                now=self._clock(),
            )
            uow.commit()
        return created

    def authenticate(self, name: str, password: str, *, ip: str) -> Operator:
        # The failure counts are written even though the sign-in is refused.
        with self._units() as uow:
            try:
                found = authenticate(uow, name=name, password=password, ip=ip, now=self._clock())
            except Unauthorized:
                uow.commit()
                raise
            uow.commit()
        return found

    def get(self, operator_id: int) -> Operator:
        with self._units(write=False) as uow:
            return get(uow, operator_id)

    def list(self, account_ids: list[int] | None = None) -> list[Operator]:
        with self._units(write=False) as uow:
            return listed(uow, account_ids)

    def disable(self, name: str) -> Operator:
        with self._units() as uow:
            done = disable(uow, name, now=self._clock())
            uow.commit()
        return done

    def hit(self, bucket: str, value: str, *, limit: int, seconds: int) -> None:
        """Count one hit (a form post per IP, per number); :class:`TooManyAttempts`
        past ``limit`` in the window. The count is kept even when refused."""
        with self._units() as uow:
            try:
                hit(uow, bucket, value, limit=limit, seconds=seconds, now=self._clock())
            finally:
                uow.commit()
