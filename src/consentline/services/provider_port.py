"""The values every provider adapter speaks, and the ``Provider`` port.

The port lives with the use cases that call it (the webhook service, the credential
store); the adapters under :mod:`consentline.providers` implement it.

A webhook arrives as a :class:`WebhookRequest` (method, the public URL the provider
signed, headers, raw body). The HTTP layer then calls, in this order::

    number = provider.destination(request)          # find the line, hence the credentials
    provider.verify(request, credentials, now=now)  # SignatureInvalid: 403, nothing recorded
    provider.single_use_nonce(request, credentials) # SingleUseNonces only: claim it, once
    events = provider.parse(request)                # InboundSms / DeliveryStatus, or InvalidPayload
    reply = provider.reply(text, inbound=sms)       # what to answer the provider

Adapters are pure: no I/O, no clock (``now`` is passed in), no logging — phone numbers
and message text never leave them except inside the returned values (C23).

Example::

    >>> req = WebhookRequest.create("post", "https://x.test/hook", {"Content-Type": "a"}, b"")
    >>> req.header("content-type"), req.method
    ('a', 'POST')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = [
    "CredentialProblem",
    "DeliveryStatus",
    "InboundSms",
    "Provider",
    "ProviderReply",
    "SingleUseNonces",
    "WebhookRequest",
]


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One webhook request exactly as received.

    ``url`` is the public URL the provider called (and signed); behind a proxy it is the
    configured public URL, not the request's own. Header names are normalised to lower
    case on construction, so lookups are case-insensitive.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "headers", {k.lower(): v for k, v in self.headers.items()})

    @classmethod
    def create(
        cls,
        method: str,
        url: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> WebhookRequest:
        """Build a request from any header mapping or list of pairs (first value wins)."""
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        normalised: dict[str, str] = {}
        for name, value in pairs:
            normalised.setdefault(name.lower(), value)
        return cls(method=method, url=url, headers=normalised, body=body)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or ``None``."""
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A mobile-originated message.

    ``provider_hint`` is the provider's own keyword verdict, raw (Twilio ``OptOutType``,
    Telnyx ``autoresponse_type``, Plivo ``MessageIntent``, Vonage ``keyword``); the
    service classifies the text itself and treats the hint as a second opinion (C19).
    """

    message_id: str
    from_: str
    to: str
    text: str
    received_at: datetime | None
    channel: str = "sms"
    provider_hint: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """A status callback / delivery receipt for a message we sent.

    ``opted_out`` is True when the provider's error code means "the recipient opted
    out" (Twilio 21610, Telnyx 40300, Plivo 200, Vonage 9, Sinch 257, Bandwidth 4775):
    the service turns that into an opt-out event (C19).
    """

    message_id: str
    to: str | None
    from_: str | None
    status: str
    error_code: str | None
    opted_out: bool


@dataclass(frozen=True, slots=True)
class ProviderReply:
    """The HTTP response to give the provider."""

    status: int
    content_type: str | None
    body: bytes


Event = InboundSms | DeliveryStatus


@dataclass(frozen=True, slots=True)
class CredentialProblem:
    """Why stored credentials can never verify a webhook: the field and the problem.

    ``problem`` describes the value's shape, never the value (it is a secret).
    """

    field: str
    problem: str


class Provider(Protocol):
    """The port every SMS provider adapter implements."""

    name: str
    credential_fields: tuple[str, ...]

    def destination(self, request: WebhookRequest) -> str | None:
        """Our own number in the request (the To of an MO, the From of a receipt).

        Used to find the line, hence the credentials, before verifying; returns
        ``None`` on anything it cannot read, never raises.
        """
        ...

    def verify(
        self, request: WebhookRequest, credentials: Mapping[str, str], *, now: datetime
    ) -> None:
        """Raise ``SignatureInvalid`` unless the request is authentic."""
        ...

    def credential_problems(self, credentials: Mapping[str, str]) -> list[CredentialProblem]:
        """What in ``credentials`` makes every webhook fail ``verify`` (empty: nothing).

        Checked when credentials are saved and shown when they are read back, so that
        a key that can never match is refused at once rather than found out from a
        stream of 403s (and STOPs refused meanwhile).
        """
        ...

    def parse(self, request: WebhookRequest) -> list[Event]:
        """The MO messages and delivery receipts in the body; ``InvalidPayload`` if malformed."""
        ...

    def reply(self, text: str | None, *, inbound: InboundSms | None = None) -> ProviderReply:
        """The response that answers ``inbound`` with ``text`` (or with nothing)."""
        ...


@runtime_checkable
class SingleUseNonces(Protocol):
    """An adapter whose ``verify`` may accept a signature that does not cover the body.

    Its caller must then accept the named nonce for one request only, durably and
    atomically, before recording anything (Plivo V2; see ``providers.plivo``).
    """

    def single_use_nonce(
        self, request: WebhookRequest, credentials: Mapping[str, str]
    ) -> str | None:
        """The nonce to claim for ``request`` (verified), or ``None`` when none is needed."""
        ...
