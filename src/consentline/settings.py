"""Settings of the HTTP service, read once from the environment and validated.

>>> Settings.from_env({"CONSENTLINE_MAX_BODY": "2048"}).max_body
2048

Every problem is a :class:`SettingsError` naming the variable, raised at start-up
(never at import time). Values that may carry credentials (the database URL, the
admin key) are wrapped in :class:`Secret`, whose ``repr`` and ``str`` hide them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from consentline.domain.errors import InvalidInput, SettingsError
from consentline.domain.outbound import ENV as OUTBOUND_ALLOW_ENV
from consentline.domain.outbound import NOTHING, OutboundAllow, check_url_shape

T = TypeVar("T", int, float)

DEFAULT_DATABASE_URL: Final = "sqlite:///./var/consentline.db"
DEFAULT_MAX_BODY: Final = 1024 * 1024  # 1 MiB
DEFAULT_MAX_BULK_BODY: Final = 32 * 1024 * 1024  # POST /v1/check carries long lists
# Bulk checks (POST /v1/check), bounded so that one request cannot monopolise the server:
DEFAULT_MAX_BULK_RECIPIENTS: Final = 1_000_000  # recipients per request
DEFAULT_BULK_CHECK_SECONDS: Final = 60.0  # from a request's start to its last byte
DEFAULT_MAX_BULK_CHECKS: Final = 2  # bulk requests served at once; more answer 429
MIN_ADMIN_KEY: Final = 24
MIN_ERASURE_KEY: Final = 32


class Secret:
    """A value kept out of reprs, logs and tracebacks; ``reveal()`` returns it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _fail(variable: str, problem: str) -> SettingsError:
    return SettingsError(f"{variable}: {problem}", variable=variable)


def _database_url(environ: Mapping[str, str]) -> Secret:
    name = "CONSENTLINE_DATABASE_URL"
    value = environ.get(name, "").strip() or DEFAULT_DATABASE_URL
    try:
        backend = make_url(value).get_backend_name()
    except ArgumentError:
        # Not echoed: an unparsable URL may still carry a password.
        problem = "not a database URL (sqlite:///path.db or postgresql+psycopg://…)"
        raise _fail(name, problem) from None
    if backend not in ("sqlite", "postgresql"):
        raise _fail(name, f"unsupported database {backend!r}; use sqlite or postgresql")
    return Secret(value)


def database_location(url: str) -> tuple[str, str | None]:
    """``url`` with any password hidden, and the resolved file of a SQLite database
    (None for an in-memory one or another database).

    >>> database_location("postgresql+psycopg://app:s3cret@db/consent")
    ('postgresql+psycopg://app:***@db/consent', None)
    """
    parsed = make_url(url)
    path = None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = str(Path(str(parsed.database)).expanduser().resolve())
    return parsed.render_as_string(hide_password=True), path


def _secret(environ: Mapping[str, str], name: str, minimum: int) -> Secret | None:
    """A secret setting: unset is None; set, it must be long and without spaces."""
    value = environ.get(name, "").strip()
    if not value:
        return None
    if len(value) < minimum or any(c.isspace() for c in value):
        raise _fail(name, f"must be at least {minimum} characters without spaces")
    return Secret(value)


def _admin_key(environ: Mapping[str, str]) -> Secret | None:
    return _secret(environ, "CONSENTLINE_ADMIN_KEY", MIN_ADMIN_KEY)


def _erasure_key(environ: Mapping[str, str]) -> Secret | None:
    """C22: the secret of the keyed hash that replaces an erased number. It must not
    be stored in the database (whoever holds both could test guesses)."""
    return _secret(environ, "CONSENTLINE_ERASURE_KEY", MIN_ERASURE_KEY)


def _session_secret(environ: Mapping[str, str]) -> Secret | None:
    """The key that signs the web UI's session cookies: shared by every process that
    serves the UI (without it each process makes its own, and a restart signs out)."""
    return _secret(environ, "CONSENTLINE_SESSION_SECRET", MIN_ERASURE_KEY)


def _public_url(environ: Mapping[str, str]) -> str | None:
    name = "CONSENTLINE_PUBLIC_URL"
    value = environ.get(name, "").strip()
    if not value:
        return None
    try:
        check_url_shape(value, field=name, base=True)
    except InvalidInput as error:
        raise _fail(name, f"{value!r}: {error} (such as https://consent.example.com)") from None
    return value.rstrip("/")


def _bounded(
    environ: Mapping[str, str], name: str, default: T, low: T, high: T, parse: Callable[[str], T]
) -> T:
    """A number from ``environ[name]`` (``default`` when unset) within ``low..high``."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    kind = "whole number" if parse is int else "number"
    try:
        value = parse(raw)
    except ValueError:
        raise _fail(name, f"{raw!r} is not a {kind}") from None
    if not low <= value <= high:  # also refuses nan and inf
        raise _fail(name, f"must be between {low} and {high}")
    return value


def _size(environ: Mapping[str, str], name: str, default: int) -> int:
    return _bounded(environ, name, default, 1024, 1024**3, int)  # bytes


def _outbound_allow(environ: Mapping[str, str]) -> OutboundAllow:
    name = OUTBOUND_ALLOW_ENV
    try:
        return OutboundAllow.parse(environ.get(name, ""))
    except ValueError as error:
        raise _fail(name, f"{error}; expected e.g. 127.0.0.0/8,relay.internal") from None


def _count(environ: Mapping[str, str], name: str, default: int, most: int) -> int:
    return _bounded(environ, name, default, 1, most, int)


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    return _bounded(environ, name, default, 0.01, 3600.0, float)


@dataclass(frozen=True, slots=True)
class Settings:
    """What ``consentline serve`` needs; build with :meth:`from_env`."""

    database_url: Secret = field(default_factory=lambda: Secret(DEFAULT_DATABASE_URL))
    admin_key: Secret | None = None
    public_url: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    max_bulk_body: int = DEFAULT_MAX_BULK_BODY
    outbound_allow: OutboundAllow = NOTHING
    max_bulk_recipients: int = DEFAULT_MAX_BULK_RECIPIENTS
    bulk_check_seconds: float = DEFAULT_BULK_CHECK_SECONDS
    max_bulk_checks: int = DEFAULT_MAX_BULK_CHECKS
    erasure_key: Secret | None = None
    session_secret: Secret | None = None
    secure_cookies: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read ``CONSENTLINE_*`` variables; raise :class:`SettingsError` naming a bad one.

        ``CONSENTLINE_DATABASE_URL`` (default ``sqlite:///./var/consentline.db``),
        ``CONSENTLINE_ADMIN_KEY`` (bootstrap installation-admin key),
        ``CONSENTLINE_PUBLIC_URL`` (http(s) URL providers sign against),
        ``CONSENTLINE_MAX_BODY`` (request body limit in bytes, default 1 MiB),
        ``CONSENTLINE_MAX_BULK_BODY`` (limit for ``POST /v1/check``, default 32 MiB) and
        ``CONSENTLINE_OUTBOUND_ALLOW`` (host names and CIDR ranges that outbound
        requests may reach beyond public addresses, e.g. ``127.0.0.0/8``; default
        none: see :mod:`consentline.domain.outbound`).

        Bulk checks (``POST /v1/check``): ``CONSENTLINE_MAX_BULK_RECIPIENTS`` (default
        1,000,000 recipients a request), ``CONSENTLINE_BULK_CHECK_SECONDS`` (seconds
        from the start of a check to the last byte of its answer, default 60) and
        ``CONSENTLINE_MAX_BULK_CHECKS`` (requests served at once, default 2; more are
        answered 429).

        ``CONSENTLINE_ERASURE_KEY`` (at least 32 characters): the installation secret
        of erasure's keyed hash (docs/privacy.md); without it erasure is refused.

        The web UI (docs/web-ui.md): ``CONSENTLINE_SESSION_SECRET`` (at least 32
        characters) signs session cookies; they are marked ``Secure`` when
        ``CONSENTLINE_PUBLIC_URL`` is an https URL.
        """
        public_url = _public_url(environ)
        return cls(
            database_url=_database_url(environ),
            admin_key=_admin_key(environ),
            public_url=public_url,
            max_body=_size(environ, "CONSENTLINE_MAX_BODY", DEFAULT_MAX_BODY),
            max_bulk_body=_size(environ, "CONSENTLINE_MAX_BULK_BODY", DEFAULT_MAX_BULK_BODY),
            outbound_allow=_outbound_allow(environ),
            max_bulk_recipients=_count(
                environ, "CONSENTLINE_MAX_BULK_RECIPIENTS", DEFAULT_MAX_BULK_RECIPIENTS, 10**7
            ),
            bulk_check_seconds=_seconds(
                environ, "CONSENTLINE_BULK_CHECK_SECONDS", DEFAULT_BULK_CHECK_SECONDS
            ),
            max_bulk_checks=_count(
                environ, "CONSENTLINE_MAX_BULK_CHECKS", DEFAULT_MAX_BULK_CHECKS, 1000
            ),
            erasure_key=_erasure_key(environ),
            session_secret=_session_secret(environ),
            secure_cookies=public_url is not None and public_url.startswith("https://"),
        )
