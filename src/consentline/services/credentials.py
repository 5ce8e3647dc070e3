"""SMS provider credentials per account, inherited down the account tree.

An account stores at most one set of credentials per provider. A provider accepts the
names its adapter lists in ``credential_fields`` (for verifying webhooks), the names
its send API needs (for sending replies through it), and ``upstream_base_url`` (an
http(s) URL replacing the provider's API host: Twilio's for the send gateway, any
provider's for sending replies)::

    twilio        account_sid, auth_token, shared_key_secret | (send: the same)
    sinch         signature_secret, username, password       | service_plan_id, api_token
    messagemedia  public_key, username, password             | api_key, api_secret
    vonage        api_key, signature_secret, signature_method | api_key, api_secret
    plivo         auth_id, auth_token, accept_v2 (flag)      | (send: the same)
    telnyx        public_key                                 | api_key
    bandwidth     username, password                         | account_id, application_id,
                                                               username, password

Which provider takes which names is provider knowledge: this module is given it as a
:class:`CredentialRules` (``consentline.providers.credential_fields.RULES``).

A flag (``CredentialRules.flags``: Plivo's ``accept_v2``) is given as JSON ``true``/``false`` and
stored only when true. ``accept_v2`` lets Plivo V2-only requests in, each V2 nonce for
one request only (:meth:`ProviderCredentials.claim_nonce`, remembered for
:data:`NONCE_WINDOW`): V2 signs the URL and the nonce, not the message.

Only the verifying names are required (``CredentialRules.required``); sending checks its own
names when it builds a request. A webhook to a line uses the credentials of the
nearest account, from the line's own up to the tenant, that has that provider
configured.

Values are secrets: they are stored for verifying signatures and for sending, and
never returned; :meth:`CredentialRules.describe` says which names are set and whether
they can verify a webhook at all (``verifiable``, with the ``problems`` found).
Values whose shape can never verify (a Telnyx key that is not a base64 Ed25519 key, a
MessageMedia key that is not an RSA PEM, an unknown Vonage ``signature_method``) are
refused on save, naming the field and never the value.
Twilio's ``account_sid`` is also kept as ``external_id`` (unique per provider) so that
the send gateway can find an account from the AccountSid in its URL.

>>> store = cl.provider_credentials()  # ProviderCredentials(units, rules, clock)  # doctest: +SKIP
>>> store.put(account_id=1, provider="telnyx", fields={"public_key": "..."})
>>> store.resolve(directory, account_id=2, provider="telnyx")       # inherited from #1
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from consentline.domain import outbound
from consentline.domain.errors import (
    DuplicateExternalId,
    InvalidInput,
    SignatureInvalid,
    UnknownProvider,
)
from consentline.domain.evidence import check_identifier
from consentline.domain.ledger import from_us, to_us
from consentline.domain.scopes import Directory
from consentline.services.ports import CredentialsRecord, UnitOfWork, UnitOfWorkFactory
from consentline.services.provider_port import CredentialProblem, Provider, WebhookRequest

__all__ = [
    "CredentialProblem",
    "CredentialRules",
    "CredentialSet",
    "ProviderCredentials",
    "UnknownProvider",
]

MAX_VALUE: Final = 8192  # a PEM public key fits comfortably
# How long a single-use nonce is remembered. Within it a nonce serves one request only;
# a nonce older than this is forgotten (pruned), which is the limit of what a nonce
# can do for a signature without a timestamp (Plivo V2).
NONCE_WINDOW: Final = timedelta(hours=24)
_PRUNE_EVERY_US: Final = 60 * 1_000_000


@dataclass(frozen=True, slots=True)
class CredentialRules:
    """Which credential names each provider takes: the provider knowledge this module
    is given (``consentline.providers.credential_fields.RULES`` builds it from the
    adapters and the send side; the façade passes it in).

    ``providers`` are the adapters by name (their ``credential_fields`` verify
    webhooks); ``send_fields`` the names each send API needs; ``url_field`` the
    optional name of another API host (an http(s) URL); ``required`` the groups of
    names one of which must be complete; ``external_id`` the field kept as an
    account's external id; ``flags`` the names given as JSON ``true``/``false``.
    """

    providers: Mapping[str, Provider]
    send_fields: Mapping[str, frozenset[str]]
    url_field: str
    required: Mapping[str, tuple[frozenset[str], ...]]
    external_id: Mapping[str, str]
    flags: Mapping[str, frozenset[str]]

    def provider(self, name: str) -> Provider:
        """The adapter called ``name``, or :class:`UnknownProvider` (404)."""
        found = self.providers.get(name)
        if found is None:
            known = ", ".join(sorted(self.providers))
            raise UnknownProvider(f"no provider {name!r}; known: {known}", provider=name)
        return found

    def allowed_fields(self, name: str) -> tuple[str, ...]:
        """Every credential name ``name`` accepts: the adapter's, then the send API's
        names the adapter does not list, then the URL field."""
        verifying = self.provider(name).credential_fields
        sending = sorted(self.send_fields.get(name, frozenset()) - set(verifying))
        return (*verifying, *sending, self.url_field)

    def can_send(self, name: str, fields: Mapping[str, str]) -> bool:
        """Whether ``fields`` hold every name the ``name`` send API needs."""
        needed = self.send_fields.get(name)
        return needed is not None and needed <= fields.keys()

    def validate(
        self,
        name: str,
        fields: Mapping[str, Any],
        *,
        allow: outbound.OutboundAllow = outbound.NOTHING,
    ) -> dict[str, str]:
        """``fields`` checked against the provider's names; :class:`InvalidInput` (422) if not.

        Error messages name fields, never values (they are secrets).
        """
        allowed = self.allowed_fields(name)
        unknown = sorted(str(k) for k in fields if k not in allowed)
        if unknown:
            raise InvalidInput(
                f"unknown credential field(s) for {name}: {', '.join(unknown)}; "
                f"expected some of {', '.join(allowed)}",
                field=unknown[0],
                allowed=list(allowed),
            )
        clean: dict[str, str] = {}
        flags = self.flags.get(name, frozenset())
        for key, value in fields.items():
            if key in flags:
                if _flag(key, value):
                    clean[key] = "true"
                continue
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"{key} must be a non-empty string", field=key)
            if len(value) > MAX_VALUE:
                raise InvalidInput(f"{key} is longer than {MAX_VALUE} characters", field=key)
            check_identifier(value, key)  # NUL or a lone surrogate: no database stores it
            clean[key] = value.strip() if key != "public_key" else value
        for problem in self.provider(name).credential_problems(clean):
            raise InvalidInput(f"{problem.field} {problem.problem}", field=problem.field)
        missing = self._missing(name, clean)
        if missing is not None:
            names, options = missing
            raise InvalidInput(
                f"missing credential field(s) for {name}: {', '.join(names)} (needs {options})",
                field=names[0],
            )
        if self.url_field in clean:  # an http(s) URL the outbound policy lets us reach
            outbound.check_url(clean[self.url_field], field=self.url_field, allow=allow, base=True)
        return clean

    def _missing(self, name: str, fields: Mapping[str, str]) -> tuple[list[str], str] | None:
        """The missing names of the required group closest to complete, and the groups."""
        groups = self.required.get(name, ())
        if not groups or any(group <= fields.keys() for group in groups):
            return None
        options = " or ".join("+".join(sorted(g)) for g in groups)
        closest = min(groups, key=lambda g: (len(g - fields.keys()), -len(g & fields.keys())))
        return sorted(closest - fields.keys()), options

    def problems(self, name: str, fields: Mapping[str, str]) -> list[CredentialProblem]:
        """Why stored ``fields`` can never verify a ``name`` webhook (empty: they may).

        The same checks as :meth:`validate`, for credentials saved before a check existed.
        """
        found = list(self.provider(name).credential_problems(fields))
        missing = self._missing(name, fields)
        if missing is not None:
            names, options = missing
            found += [CredentialProblem(n, f"is missing (needs {options})") for n in names]
        return found

    def describe(self, credentials: CredentialSet) -> dict[str, Any]:
        """Which names are set and whether they can verify a webhook, never the values."""
        found = self.problems(credentials.provider, credentials.fields)
        return {
            "provider": credentials.provider,
            "fields_set": sorted(credentials.fields),
            "updated_at": credentials.updated_at.isoformat(),
            "verifiable": not found,
            "problems": [{"field": p.field, "problem": p.problem} for p in found],
        }


HIDDEN_PROBLEM: Final = (
    "the inherited credentials can never verify a webhook; an admin of the account "
    "holding them can see why"
)


def status(
    credentials: ProviderCredentials,
    directory: Directory,
    *,
    account_id: int,
    provider: str,
    reaches: Callable[[int], bool],
) -> dict[str, Any]:
    """What an admin of a subtree may know of an account's ``provider`` credentials:
    which names are set (never a value), whether its lines can verify a webhook, and
    where inherited ones come from — the ancestor named, and its problems detailed,
    only when ``reaches`` says the ancestor is within the asker's subtree."""
    rules = credentials.rules
    rules.provider(provider)
    account = directory.account_by_id(account_id)
    own_set = credentials.get(account_id=account_id, provider=provider)
    if own_set is not None:
        return {
            "account": account.slug,
            "configured": True,
            "inherited_from": None,
            **rules.describe(own_set),
        }
    found = credentials.resolve(directory, account_id=account_id, provider=provider)
    origin = None
    if found is not None and reaches(found.account_id):
        origin = directory.account_by_id(found.account_id).slug
    issues: list[dict[str, str | None]]
    if found is None:
        issues = [{"field": None, "problem": f"no {provider} credentials here or on an ancestor"}]
    elif origin is not None:
        issues = [
            {"field": p.field, "problem": p.problem} for p in rules.problems(provider, found.fields)
        ]
    else:  # the ancestor is outside the asker's reach: say that, not what
        issues = [
            {"field": None, "problem": HIDDEN_PROBLEM}
            for _ in rules.problems(provider, found.fields)[:1]
        ]
    return {
        "account": account.slug,
        "configured": False,
        "inherited": found is not None,
        "inherited_from": origin,
        "provider": provider,
        "fields_set": [],
        "updated_at": None,
        "verifiable": not issues,
        "problems": issues,
    }


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInput(f"{key} must be true or false", field=key)


@dataclass(frozen=True, slots=True)
class CredentialSet:
    """One account's credentials for one provider (``fields`` holds the secrets)."""

    account_id: int
    provider: str
    fields: Mapping[str, str]
    updated_at: datetime


def _set(row: CredentialsRecord) -> CredentialSet:
    raw = json.loads(row.fields)
    fields = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return CredentialSet(
        account_id=int(row.account_id),
        provider=str(row.provider),
        fields=fields,
        updated_at=from_us(int(row.updated_us)),
    )


# -- the use cases: values in, one unit of work each, time passed in -----------------
def store(
    uow: UnitOfWork,
    *,
    account_id: int,
    provider: str,
    clean: Mapping[str, str],
    external_field: str | None,
    now: datetime,
) -> CredentialSet:
    """Replace the account's ``provider`` credentials with ``clean`` (validated);
    :class:`DuplicateExternalId` if its ``external_field`` is another account's."""
    external_id = clean.get(external_field) if external_field else None
    if external_id is not None:
        other = uow.api.credentials_by_external_id(provider, external_id)
        if other is not None and int(other.account_id) != account_id:
            raise DuplicateExternalId(
                f"this {external_field} is configured on another account",
                field=external_field,
            )
    uow.api.put_credentials(
        account_id=account_id,
        provider=provider,
        fields=json.dumps(clean, sort_keys=True),
        external_id=external_id,
        now_us=to_us(now),
    )
    row = uow.api.credentials([account_id], provider).get(account_id)
    assert row is not None
    return _set(row)


def own(uow: UnitOfWork, *, account_id: int, provider: str) -> CredentialSet | None:
    """The account's OWN credentials for ``provider`` (not inherited), or None."""
    row = uow.api.credentials([account_id], provider).get(account_id)
    return None if row is None else _set(row)


def nearest(uow: UnitOfWork, chain: Sequence[int], provider: str) -> CredentialSet | None:
    """The credentials of the first account in ``chain`` that has ``provider``'s."""
    rows = uow.api.credentials(list(chain), provider)
    return next((_set(rows[c]) for c in chain if c in rows), None)


def by_external_id(uow: UnitOfWork, provider: str, external_id: str) -> CredentialSet | None:
    row = uow.api.credentials_by_external_id(provider, external_id)
    return None if row is None else _set(row)


def claim_nonce(
    uow: UnitOfWork,
    provider: str,
    nonce: str,
    request: WebhookRequest,
    *,
    now: datetime,
    prune: bool,
) -> bool:
    """Bind ``nonce`` to ``request`` (see :meth:`ProviderCredentials.claim_nonce`);
    whether it is fresh (or this very request's). With ``prune``, forget old nonces."""
    now_us = to_us(now)
    since_us = now_us - int(NONCE_WINDOW.total_seconds() * 1_000_000)
    digest = hashlib.sha256(
        b"\n".join((request.method.encode(), request.url.encode(), request.body))
    ).hexdigest()
    if prune:
        uow.nonces.prune(before_us=since_us)
    return uow.nonces.claim(
        provider=provider, nonce=nonce, digest=digest, now_us=now_us, since_us=since_us
    )


class ProviderCredentials:
    """Store and resolve provider credentials on one database.

    ``units`` opens the units of work, ``rules`` says what each provider takes,
    ``clock`` gives the time the use cases are passed. The façade builds one:
    ``Consentline.provider_credentials()``.
    """

    def __init__(
        self,
        units: UnitOfWorkFactory,
        rules: CredentialRules,
        clock: Callable[[], datetime],
        *,
        cache_seconds: float = 0.0,
        allow: outbound.OutboundAllow = outbound.NOTHING,
    ) -> None:
        self._units = units
        self.rules = rules
        self._clock = clock
        self._allow = allow  # what an upstream_base_url may point at beyond public hosts
        # Webhooks resolve credentials on every request (twice with the check that all
        # of a batch's events share them); with ``cache_seconds`` a resolution is kept
        # that long. ``put`` on this instance clears it; a change made by another
        # process is seen within ``cache_seconds``, as for the client's other caches.
        self._cache_seconds = cache_seconds
        self._cache: dict[tuple[tuple[int, ...], str], tuple[float, CredentialSet | None]] = {}
        self._by_external: dict[tuple[str, str], tuple[float, CredentialSet | None]] = {}
        self._lock = threading.Lock()
        self._pruned_us = 0

    def put(self, *, account_id: int, provider: str, fields: Mapping[str, Any]) -> CredentialSet:
        """Replace the account's credentials for ``provider`` (validated first)."""
        clean = self.rules.validate(provider, fields, allow=self._allow)
        with self._units() as uow:
            saved = store(
                uow,
                account_id=account_id,
                provider=provider,
                clean=clean,
                external_field=self.rules.external_id.get(provider),
                now=self._clock(),
            )
            uow.commit()
        with self._lock:
            self._cache.clear()
            self._by_external.clear()
        return saved

    def get(self, *, account_id: int, provider: str) -> CredentialSet | None:
        """The account's OWN credentials for ``provider`` (not inherited), or None."""
        with self._units(write=False) as uow:
            return own(uow, account_id=account_id, provider=provider)

    def resolve(
        self, directory: Directory, *, account_id: int, provider: str
    ) -> CredentialSet | None:
        """The credentials of the nearest account, ``account_id`` first, up to its root."""
        chain = tuple(a.id for a in directory.ancestors(account_id))
        key = (chain, provider)
        if self._cache_seconds > 0:
            cached = self._cache.get(key)
            if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
                return cached[1]
        with self._units(write=False) as uow:
            found = nearest(uow, chain, provider)
        if self._cache_seconds > 0:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = (time.monotonic(), found)
        return found

    def by_external_id(self, provider: str, external_id: str) -> CredentialSet | None:
        """The credentials whose external id (Twilio AccountSid) is ``external_id``
        (kept ``cache_seconds``, as :meth:`resolve`: the send gateway asks per send)."""
        key = (provider, external_id)
        if self._cache_seconds > 0:
            cached = self._by_external.get(key)
            if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
                return cached[1]
        with self._units(write=False) as uow:
            found = by_external_id(uow, provider, external_id)
        if self._cache_seconds > 0:
            with self._lock:
                if len(self._by_external) > 10_000:
                    self._by_external.clear()
                self._by_external[key] = (time.monotonic(), found)
        return found

    def claim_nonce(self, provider: str, nonce: str, request: WebhookRequest) -> None:
        """Accept ``nonce`` for ``request`` only; :class:`SignatureInvalid` if another used it.

        A nonce is bound to the first request that used it (the SHA-256 of its method,
        URL and body) for :data:`NONCE_WINDOW`: the same nonce with any other request
        — a forged body under a seen signature — is refused, atomically (two at once
        cannot both pass), while a byte-identical retry is let through: it can only
        repeat what was recorded, which the message id dedupes. Committed before the
        request is recorded; nonces older than the window are pruned.
        """
        now = self._clock()
        now_us = to_us(now)
        prune = now_us - self._pruned_us >= _PRUNE_EVERY_US
        with self._units() as uow:
            fresh = claim_nonce(uow, provider, nonce, request, now=now, prune=prune)
            if prune:
                self._pruned_us = now_us
            uow.commit()
        if not fresh:
            raise SignatureInvalid(
                "this signature nonce was already used by another request", provider=provider
            )
