"""Sinch SMS (XMS): JSON callbacks, signed with an HMAC or guarded by Basic auth.

Scheme, when a signature secret is configured (credential ``signature_secret``)::

    x-sinch-webhook-signature = base64(HMAC-SHA256(secret, body + "." + nonce + "." + timestamp))

with the nonce and timestamp in ``x-sinch-webhook-signature-nonce`` and
``x-sinch-webhook-signature-timestamp``. Without a secret, the callback URL's Basic
credentials (``username`` / ``password``) are required instead. With neither, nothing
is accepted.

An MO is ``{"type": "mo_text", "id", "from", "to", "body", "received_at"}``; numbers
come without ``+``. Delivery reports are ``recipient_delivery_report_sms`` (one
recipient) or ``delivery_report_sms`` (per status, with a ``recipients`` list when
the report is "full"); code 257 means the recipient opted out (C19). Sinch reports
carry no sender number, so ``destination`` is ``None`` for them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from consentline.domain.errors import InvalidPayload, SignatureInvalid
from consentline.providers import _common as c
from consentline.services.provider_port import (
    CredentialProblem,
    DeliveryStatus,
    Event,
    InboundSms,
    ProviderReply,
    WebhookRequest,
)

NAME = "sinch"
OPT_OUT_ERRORS = frozenset({"257"})
_SIGNATURE = "x-sinch-webhook-signature"


class Sinch:
    """The Sinch SMS adapter (see the module docstring for the scheme)."""

    name = NAME
    credential_fields: tuple[str, ...] = ("signature_secret", "username", "password")

    def destination(self, request: WebhookRequest) -> str | None:
        try:
            data = c.json_object(request, provider=NAME)
        except InvalidPayload:
            return None
        if data.get("type") in ("mo_text", "mo_binary"):
            return c.number(c.optional(data, "to"))
        return None

    def verify(
        self, request: WebhookRequest, credentials: Mapping[str, str], *, now: datetime
    ) -> None:
        secret = credentials.get("signature_secret")
        if secret:
            _check_signature(request, secret)
        elif credentials.get("username") and credentials.get("password"):
            c.check_basic_auth(
                request, credentials["username"], credentials["password"], provider=NAME
            )
        else:
            raise SignatureInvalid("no signature secret or Basic credentials", provider=NAME)

    def credential_problems(self, credentials: Mapping[str, str]) -> list[CredentialProblem]:
        """Any non-empty secret or Basic pair can be right: nothing to check by shape."""
        return []

    def parse(self, request: WebhookRequest) -> list[Event]:
        data = c.json_object(request, provider=NAME)
        kind = c.field(data, "type", provider=NAME)
        if kind == "mo_text":
            return [
                InboundSms(
                    message_id=c.field(data, "id", provider=NAME),
                    from_=c.required_number(data, "from", provider=NAME),
                    to=c.required_number(data, "to", provider=NAME),
                    text=c.text_field(data, "body", provider=NAME),
                    received_at=c.parse_time(c.optional(data, "received_at")),
                )
            ]
        if kind == "recipient_delivery_report_sms":
            return [_status(data, c.optional(data, "recipient"), data)]
        if kind == "delivery_report_sms":
            return _batch_statuses(data)
        return []  # mo_binary, mt reports of other channels: nothing for the ledger

    def reply(self, text: str | None, *, inbound: InboundSms | None = None) -> ProviderReply:
        """Sinch takes no reply in the response: answers go out through the API."""
        return ProviderReply(200, None, b"")


def signature(secret: str, body: bytes, nonce: str, timestamp: str) -> str:
    """``base64(HMAC-SHA256(secret, body.nonce.timestamp))``."""
    data = body + b"." + nonce.encode() + b"." + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def _check_signature(request: WebhookRequest, secret: str) -> None:
    given = request.header(_SIGNATURE)
    nonce = request.header(f"{_SIGNATURE}-nonce")
    timestamp = request.header(f"{_SIGNATURE}-timestamp")
    if not given or nonce is None or timestamp is None:
        raise SignatureInvalid("missing x-sinch-webhook-signature headers", provider=NAME)
    expected = signature(secret, request.body, nonce, timestamp)
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise SignatureInvalid("x-sinch-webhook-signature does not match", provider=NAME)


def _status(data: Mapping[str, Any], recipient: str | None, entry: Mapping[str, Any]) -> Event:
    code = c.optional(entry, "code")
    return DeliveryStatus(
        message_id=c.field(data, "batch_id", provider=NAME),
        to=c.number(recipient),
        from_=None,
        status=c.field(entry, "status", provider=NAME),
        error_code=code,
        opted_out=code in OPT_OUT_ERRORS,
    )


def _batch_statuses(data: Mapping[str, Any]) -> list[Event]:
    statuses = data.get("statuses")
    if not isinstance(statuses, list):
        raise InvalidPayload("missing field 'statuses'", provider=NAME, field="statuses")
    events: list[Event] = []
    for entry in statuses:
        if not isinstance(entry, dict):
            raise InvalidPayload("malformed 'statuses' entry", provider=NAME, field="statuses")
        recipients = entry.get("recipients") or [None]
        if not isinstance(recipients, list):
            raise InvalidPayload("malformed 'recipients'", provider=NAME, field="recipients")
        events.extend(_status(data, r if isinstance(r, str) else None, entry) for r in recipients)
    return events
