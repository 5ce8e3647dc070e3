"""Telnyx: JSON events signed with Ed25519.

Scheme: ``telnyx-signature-ed25519`` is the base64 Ed25519 signature of
``"{telnyx-timestamp}|{raw body}"`` made with Telnyx's key; credential ``public_key`` is
the base64 public key shown in the portal. A timestamp more than 300 s away from
``now`` is refused (replay protection).

An MO is ``data.event_type == "message.received"`` with ``data.payload`` holding
``id``, ``from.phone_number``, ``to[0].phone_number``, ``text``, ``received_at`` and
``autoresponse_type`` (Telnyx's own STOP/HELP verdict). ``message.sent`` /
``message.finalized`` are status events; error code 40300 means the recipient opted
out (C19).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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

NAME = "telnyx"
TOLERANCE_SECONDS = 300
OPT_OUT_ERRORS = frozenset({"40300"})
_STATUS_EVENTS = frozenset({"message.sent", "message.finalized"})
PUBLIC_KEY_PROBLEM = (
    "is not an Ed25519 public key: expected the base64 of 32 bytes, as the Telnyx portal shows it"
)


class Telnyx:
    """The Telnyx adapter (see the module docstring for the scheme)."""

    name = NAME
    credential_fields: tuple[str, ...] = ("public_key",)

    def destination(self, request: WebhookRequest) -> str | None:
        try:
            kind, payload = _event(request)
            if kind == "message.received":
                return _to(payload)
            if kind in _STATUS_EVENTS:
                return _from(payload)
        except InvalidPayload:
            pass
        return None

    def verify(
        self, request: WebhookRequest, credentials: Mapping[str, str], *, now: datetime
    ) -> None:
        key_bytes = _public_key(c.credential(credentials, "public_key", provider=NAME))
        if key_bytes is None:
            raise SignatureInvalid("configured public key is not base64 Ed25519", provider=NAME)
        signature = request.header("telnyx-signature-ed25519")
        timestamp = request.header("telnyx-timestamp")
        if not signature or not timestamp:
            raise SignatureInvalid("missing telnyx-signature-ed25519 headers", provider=NAME)
        try:
            sent_at = int(timestamp.strip())
        except ValueError as exc:
            raise SignatureInvalid("malformed telnyx-timestamp", provider=NAME) from exc
        if abs(now.timestamp() - sent_at) > TOLERANCE_SECONDS:
            raise SignatureInvalid("telnyx-timestamp too far from now", provider=NAME)
        raw_signature = c.b64decode_or_none(signature)
        if raw_signature is None:
            raise SignatureInvalid("malformed telnyx-signature-ed25519", provider=NAME)
        signed = timestamp.strip().encode() + b"|" + request.body
        try:
            Ed25519PublicKey.from_public_bytes(key_bytes).verify(raw_signature, signed)
        except InvalidSignature as exc:
            raise SignatureInvalid(
                "telnyx-signature-ed25519 does not match", provider=NAME
            ) from exc

    def credential_problems(self, credentials: Mapping[str, str]) -> list[CredentialProblem]:
        """``public_key`` must be the base64 of a 32-byte Ed25519 key."""
        value = credentials.get("public_key")
        if value and _public_key(value) is None:
            return [CredentialProblem("public_key", PUBLIC_KEY_PROBLEM)]
        return []

    def parse(self, request: WebhookRequest) -> list[Event]:
        kind, payload = _event(request)
        if kind == "message.received":
            to = _to(payload)
            if to is None:
                raise InvalidPayload("missing field 'to'", provider=NAME, field="to")
            sender = _from(payload)
            if sender is None:
                raise InvalidPayload("missing field 'from'", provider=NAME, field="from")
            return [
                InboundSms(
                    message_id=c.field(payload, "id", provider=NAME),
                    from_=sender,
                    to=to,
                    text=c.text_field(payload, "text", provider=NAME),
                    received_at=c.parse_time(c.optional(payload, "received_at")),
                    channel=_channel(payload),
                    provider_hint=c.optional(payload, "autoresponse_type") or None,
                )
            ]
        if kind in _STATUS_EVENTS:
            code = _error_code(payload)
            return [
                DeliveryStatus(
                    message_id=c.field(payload, "id", provider=NAME),
                    to=_to(payload),
                    from_=_from(payload),
                    status=_recipient_status(payload) or kind.removeprefix("message."),
                    error_code=code,
                    opted_out=code in OPT_OUT_ERRORS,
                )
            ]
        return []

    def reply(self, text: str | None, *, inbound: InboundSms | None = None) -> ProviderReply:
        """Telnyx takes no reply in the response: answers go out through the API."""
        return ProviderReply(200, None, b"")


def _public_key(value: str) -> bytes | None:
    """The raw 32-byte Ed25519 key in a base64 ``public_key``, or ``None``."""
    raw = c.b64decode_or_none(value)
    return raw if raw is not None and len(raw) == 32 else None


def _event(request: WebhookRequest) -> tuple[str, dict[str, Any]]:
    body = c.json_object(request, provider=NAME)
    data = body.get("data")
    if not isinstance(data, dict):
        raise InvalidPayload("missing field 'data'", provider=NAME, field="data")
    kind = c.field(data, "event_type", provider=NAME)
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise InvalidPayload("missing field 'data.payload'", provider=NAME, field="payload")
    return kind, payload


def _first_to(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    to = payload.get("to")
    if isinstance(to, list) and to and isinstance(to[0], dict):
        return to[0]
    return None


def _to(payload: Mapping[str, Any]) -> str | None:
    first = _first_to(payload)
    return c.number(c.optional(first, "phone_number")) if first else None


def _from(payload: Mapping[str, Any]) -> str | None:
    sender = payload.get("from")
    return c.number(c.optional(sender, "phone_number")) if isinstance(sender, dict) else None


def _recipient_status(payload: Mapping[str, Any]) -> str | None:
    first = _first_to(payload)
    return c.optional(first, "status") if first else None


def _error_code(payload: Mapping[str, Any]) -> str | None:
    errors = payload.get("errors")
    if isinstance(errors, list):
        for error in errors:
            if isinstance(error, dict) and (code := c.optional(error, "code")):
                return code
    return None


def _channel(payload: Mapping[str, Any]) -> str:
    kind = (c.optional(payload, "type") or "SMS").lower()
    return "sms" if kind in ("sms", "mms") else kind
