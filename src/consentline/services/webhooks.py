"""A provider webhook (inbound SMS, status callbacks) as one use case.

``await webhooks.receive(WebhookCall(...))`` takes the request as values and returns
the answer to give the provider (:class:`WebhookAnswer`); the HTTP route only
translates. The order is fixed, and nothing is stored before the signature is checked::

    destination()   our number in the request -> the line
    credentials     nearest account up the tree with this provider configured
    verify()        the provider's signature scheme (Plivo V2, when an account opts in:
                    its nonce claimed durably for this one request, before anything)
                    (a number that is no line here, no credentials and a bad signature
                    all answer the same 403 signature_invalid, so that an outsider
                    cannot probe which numbers are lines here; the cause is logged)
    parse()         InboundSms / DeliveryStatus (422 invalid_payload)
    handle          the messages through the group commit (concurrent webhooks share
                    one durable transaction), then the opted-out receipts as
                    ``opt_out`` events with source ``provider_signal``
    answer          the provider's native format; Twilio and Plivo carry the reply
                    inline (its outbox row is stored ``sent``/``inline`` in the same
                    commit), the others leave it ``pending`` for the reply worker

The answer is returned only after the commit, so a provider retry can neither lose
nor duplicate an opt-out: a retried message id answers the same, records nothing new
and queues no second reply; a retried receipt reuses its idempotency key
``{provider}:status:{message_id}``.

Receipts that carry no number of ours (Sinch delivery reports, MessageMedia delivery
reports) cannot be tied to a line or to credentials, so they cannot be verified: they
are answered ``200 {"recorded": 0, "reason": ...}`` and record nothing.

The provider adapters are passed in (``providers``: name -> adapter), as are the group
commit (``inbound``), the recording of receipts (``record``) and the way to run a
blocking write off the event loop (``offload``): this module reaches no registry, no
database and no framework itself.

Numbers and texts stay in the request and the ledger (C23): the one log line, for a
refused webhook, names the provider and the cause, never a value.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol, TypeVar, cast

from consentline.domain.addresses import normalise_line_id
from consentline.domain.errors import (
    ConsentlineError,
    InvalidPayload,
    SignatureInvalid,
    UnknownLine,
)
from consentline.domain.evidence import digest, display_form, is_storable
from consentline.domain.scopes import Directory, Line
from consentline.services.credentials import CredentialSet, UnknownProvider
from consentline.services.inbound import InboundMessage, InboundResult
from consentline.services.provider_port import (
    DeliveryStatus,
    InboundSms,
    Provider,
    SingleUseNonces,
    WebhookRequest,
)
from consentline.services.recording import RecordRequest

__all__ = [
    "GET_ALLOWED",
    "INLINE",
    "CredentialStore",
    "Offload",
    "WebhookAnswer",
    "WebhookCall",
    "Webhooks",
]

log = logging.getLogger("consentline.webhooks")

T = TypeVar("T")

# Providers whose answer carries the reply (TwiML, Plivo Message XML).
INLINE: Final = frozenset({"twilio", "plivo"})
# Providers that may call with GET (parameters in the query string).
GET_ALLOWED: Final = frozenset({"twilio", "plivo", "vonage"})
NO_SENDER_REASON: Final = (
    "this {provider} delivery report names no number of ours, so it cannot be tied to a "
    "line or its credentials; nothing was recorded"
)
# The one answer to every webhook refused before it is authenticated.
UNVERIFIED: Final = (
    "this {provider} webhook could not be verified: check that it is sent to a line "
    "registered here, that the line's account (or an ancestor) has {provider} "
    "credentials, and that they are the ones the provider signs with"
)


class CredentialStore(Protocol):
    """What the use case needs of the credentials (``ProviderCredentials``, cached)."""

    def resolve(
        self, directory: Directory, *, account_id: int, provider: str
    ) -> CredentialSet | None: ...

    def claim_nonce(self, provider: str, nonce: str, request: WebhookRequest) -> None: ...


class Offload(Protocol):
    """Runs a blocking call off the event loop (the server's thread pool)."""

    def __call__(self, func: Callable[[], T], /) -> Awaitable[T]: ...


@dataclass(frozen=True, slots=True)
class WebhookCall:
    """One webhook as received: ``url`` is the public URL the provider signed."""

    provider: str
    method: str
    url: str
    headers: Mapping[str, str] | Iterable[tuple[str, str]]
    body: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What to answer the provider: its native reply, or (``json``) a JSON object."""

    status: int
    content_type: str | None = None
    body: bytes = b""
    json: Mapping[str, Any] | None = None


@dataclass
class _Plan:
    messages: list[InboundMessage] = field(default_factory=list)
    inbound: list[InboundSms] = field(default_factory=list)
    opt_outs: list[RecordRequest] = field(default_factory=list)
    ignored: int = 0
    nonce: str | None = None  # to claim for this request only before recording


class Webhooks:
    """Verify, parse, record and answer provider webhooks (see the module docstring)."""

    def __init__(
        self,
        *,
        providers: Mapping[str, Provider],
        credentials: CredentialStore,
        directory: Callable[[], Directory],
        inbound: Callable[[Sequence[InboundMessage]], Awaitable[list[InboundResult]]],
        record: Callable[[list[RecordRequest]], object],
        offload: Offload,
    ) -> None:
        self._providers = providers
        self._credentials = credentials
        self._directory = directory
        self._inbound = inbound
        self._record = record
        self._offload = offload

    def provider(self, name: str) -> Provider:
        """The adapter called ``name``, or :class:`UnknownProvider` (404)."""
        found = self._providers.get(name)
        if found is None:
            known = ", ".join(sorted(self._providers))
            raise UnknownProvider(f"no provider {name!r}; known: {known}", provider=name)
        return found

    def accepts_get(self, name: str) -> bool:
        """Does provider ``name`` call with GET? (:class:`UnknownProvider` if no such one)."""
        return self.provider(name).name in GET_ALLOWED

    async def receive(self, call: WebhookCall) -> WebhookAnswer:
        """The whole webhook: verified before anything is stored, answered after commit."""
        adapter = self.provider(call.provider)
        hook = WebhookRequest.create(call.method, call.url, call.headers, call.body)
        # On the event loop: verifying and parsing are CPU work on cached credentials
        # and directory (a cache miss costs one short read), cheaper than a thread hop.
        prepared = self._prepare(adapter, hook, call.received_at)
        if isinstance(prepared, WebhookAnswer):
            return prepared
        nonce = prepared.nonce
        if nonce is not None:  # a write: off the event loop, before any other
            await self._offload(lambda: self._claim(adapter, hook, nonce))
        # Group commit: requests arriving together share one durable transaction.
        results = await self._inbound(prepared.messages)
        opt_outs = prepared.opt_outs
        if opt_outs:  # idempotent on a provider retry
            await self._offload(lambda: self._record(opt_outs))
        return _answer(adapter, prepared, results)

    def _prepare(
        self, adapter: Provider, hook: WebhookRequest, now: datetime
    ) -> _Plan | WebhookAnswer:
        """Verify and parse one webhook into what to record."""
        name = adapter.name
        number = adapter.destination(hook)
        if number is None:
            return _without_destination(adapter, hook)
        directory = self._directory()
        store = self._credentials
        try:
            line = _line(directory, number)
            credentials = store.resolve(directory, account_id=line.account_id, provider=name)
            if credentials is None:
                raise SignatureInvalid(
                    f"no {name} credentials configured for this line's account or its ancestors",
                    provider=name,
                )
            adapter.verify(hook, credentials.fields, now=now)
        except (UnknownLine, SignatureInvalid, InvalidPayload) as refused:
            raise _unverified(name, refused) from None
        events = adapter.parse(hook)
        # A lone message to an inline provider is answered with its reply in the body.
        inline = name in INLINE and sum(isinstance(e, InboundSms) for e in events) == 1

        plan = _Plan()
        plan.nonce = _single_use_nonce(adapter, hook, credentials.fields)
        seen_keys: dict[str, int] = {}
        for event in events:
            if isinstance(event, InboundSms):
                target = _line(directory, event.to)
                _same_credentials(store, directory, target, credentials.account_id, name)
                plan.inbound.append(event)
                plan.messages.append(
                    InboundMessage(
                        from_=event.from_,
                        to=target.number,
                        text=event.text,
                        provider=name,
                        message_id=event.message_id,
                        received_at=event.received_at,
                        channel=event.channel,
                        provider_hint=event.provider_hint,
                        inline_reply=inline,
                    )
                )
            elif isinstance(event, DeliveryStatus) and event.opted_out and event.to:
                target = _line(directory, event.from_ or number)
                _same_credentials(store, directory, target, credentials.account_id, name)
                key = _receipt_key(name, event.message_id)
                count = seen_keys.get(key, 0)
                seen_keys[key] = count + 1
                plan.opt_outs.append(
                    RecordRequest(
                        address=event.to,
                        action="opt_out",
                        via=target.number,
                        channel="sms",
                        source="provider_signal",
                        proof={  # storable: an odd receipt must not cost the opt-out
                            "provider": name,
                            "message_id": display_form(event.message_id),
                            "error_code": event.error_code and display_form(event.error_code),
                            "status": event.status and display_form(event.status),
                        },
                        idempotency_key=key if count == 0 else f"{key}:{count}",
                    )
                )
            else:
                plan.ignored += 1

        return plan

    def _claim(self, adapter: Provider, hook: WebhookRequest, nonce: str) -> None:
        try:
            self._credentials.claim_nonce(adapter.name, nonce, hook)
        except SignatureInvalid as replayed:
            raise _unverified(adapter.name, replayed) from None


def _line(directory: Directory, number: str | None) -> Line:
    if number:
        line = directory.find_line(number)
        if line is not None:
            return line
        try:
            line = directory.find_line(normalise_line_id(number))
        except ConsentlineError:
            line = None
        if line is not None:
            return line
    raise UnknownLine("the number this webhook was sent to is not a line here")


def _unverified(name: str, refused: ConsentlineError) -> SignatureInvalid:
    """The one answer to a webhook that is not authenticated, whatever the cause."""
    # Adapter and lookup messages name headers and fields, never values (C23).
    log.info("%s webhook refused (%s): %s", name, refused.code, refused.message)
    return SignatureInvalid(UNVERIFIED.format(provider=name), provider=name)


def _single_use_nonce(
    adapter: Provider, hook: WebhookRequest, fields: Mapping[str, str]
) -> str | None:
    if not _claims_nonces(type(adapter)):
        return None
    return cast(SingleUseNonces, adapter).single_use_nonce(hook, fields)


@functools.cache
def _claims_nonces(kind: type[object]) -> bool:
    # Once per adapter class: a runtime Protocol check costs ~14 µs, per webhook too much.
    return issubclass(kind, SingleUseNonces)


def _receipt_key(name: str, message_id: str) -> str:
    """``{provider}:status:{message_id}``, or a digest of an id that could not be a key."""
    key = f"{name}:status:{message_id}"
    if len(key) <= 200 and is_storable(key):
        return key
    return f"{name}:status:sha256:{digest(message_id)}"


def _same_credentials(
    store: CredentialStore, directory: Directory, line: Line, verified_account: int, name: str
) -> None:
    """Every event must belong to a line whose credentials were the ones verified."""
    found = store.resolve(directory, account_id=line.account_id, provider=name)
    if found is None or found.account_id != verified_account:
        raise SignatureInvalid(
            "the webhook carries events for lines verified with other credentials", provider=name
        )


def _answer(adapter: Provider, plan: _Plan, results: list[InboundResult]) -> WebhookAnswer:
    text: str | None = None
    answered: InboundSms | None = plan.inbound[0] if plan.inbound else None
    if adapter.name in INLINE and len(results) == 1:
        reply = results[0].reply
        # Stored as sent ("inline") in the commit; a retry answers with it again,
        # since the provider never got our first answer.
        if reply is not None and reply.status == "sent":
            text = reply.body
    native = adapter.reply(text, inbound=answered)
    return WebhookAnswer(native.status, native.content_type, native.body)


def _without_destination(adapter: Provider, hook: WebhookRequest) -> WebhookAnswer:
    """No number of ours: a receipt that cannot be verified (recorded: 0), else 422."""
    events = adapter.parse(hook)
    if any(isinstance(e, InboundSms) for e in events):
        raise InvalidPayload("the message names no number of ours", provider=adapter.name)
    body = {"recorded": 0, "reason": NO_SENDER_REASON.format(provider=adapter.name)}
    return WebhookAnswer(200, "application/json", json=body)
