"""Bandwidth: a JSON array of events, guarded by HTTP Basic credentials.

Bandwidth does not sign callbacks; the application's callback credentials
(``username`` / ``password``) arrive as ``Authorization: Basic`` and are compared in
constant time.

Each event has ``type``, ``time``, ``to``, ``description``, ``errorCode`` and a
``message`` (``id``, ``from``, ``to`` list, ``text``, ``owner`` = our number).
``message-received`` is an MO; ``message-delivered`` / ``message-failed`` /
``message-sending`` are statuses, error 4775 meaning the recipient opted out (C19).
Other event types are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from consentline.domain.errors import InvalidPayload
from consentline.providers import _common as c
from consentline.services.provider_port import (
    CredentialProblem,
    DeliveryStatus,
    Event,
    InboundSms,
    ProviderReply,
    WebhookRequest,
)

NAME = "bandwidth"
OPT_OUT_ERRORS = frozenset({"4775"})
_STATUS_TYPES = frozenset({"message-delivered", "message-failed", "message-sending"})


class Bandwidth:
    """The Bandwidth adapter (see the module docstring for the scheme)."""

    name = NAME
    credential_fields: tuple[str, ...] = ("username", "password")

    def destination(self, request: WebhookRequest) -> str | None:
        try:
            events = _events(request)
        except InvalidPayload:
            return None
        for event in events:
            message = event.get("message")
            if isinstance(message, dict) and (owner := c.number(c.optional(message, "owner"))):
                return owner
            if event.get("type") == "message-received":
                return c.number(c.optional(event, "to"))
        return None

    def verify(
        self, request: WebhookRequest, credentials: Mapping[str, str], *, now: datetime
    ) -> None:
        username = c.credential(credentials, "username", provider=NAME)
        password = c.credential(credentials, "password", provider=NAME)
        c.check_basic_auth(request, username, password, provider=NAME)

    def credential_problems(self, credentials: Mapping[str, str]) -> list[CredentialProblem]:
        """Any non-empty Basic pair can be right: nothing to check by shape."""
        return []

    def parse(self, request: WebhookRequest) -> list[Event]:
        result: list[Event] = []
        for event in _events(request):
            kind = c.field(event, "type", provider=NAME)
            if kind == "message-received":
                result.append(_inbound(event))
            elif kind in _STATUS_TYPES:
                result.append(_status(event, kind))
        return result

    def reply(self, text: str | None, *, inbound: InboundSms | None = None) -> ProviderReply:
        """Bandwidth takes no reply in the response: answers go out through the API."""
        return ProviderReply(200, None, b"")


def _events(request: WebhookRequest) -> list[dict[str, Any]]:
    body = c.json_body(request, provider=NAME)
    if not isinstance(body, list) or not all(isinstance(e, dict) for e in body):
        raise InvalidPayload("body is not a JSON array of events", provider=NAME)
    return body


def _message(event: Mapping[str, Any]) -> Mapping[str, Any]:
    message = event.get("message")
    if not isinstance(message, dict):
        raise InvalidPayload("missing field 'message'", provider=NAME, field="message")
    return message


def _inbound(event: Mapping[str, Any]) -> InboundSms:
    message = _message(event)
    to = c.number(c.optional(event, "to")) or c.number(c.optional(message, "owner"))
    if to is None:
        raise InvalidPayload("missing field 'to'", provider=NAME, field="to")
    return InboundSms(
        message_id=c.field(message, "id", provider=NAME),
        from_=c.required_number(message, "from", provider=NAME),
        to=to,
        text=c.text_field(message, "text", provider=NAME),
        received_at=c.parse_time(c.optional(event, "time")),
    )


def _status(event: Mapping[str, Any], kind: str) -> DeliveryStatus:
    message = _message(event)
    code = c.optional(event, "errorCode") or None
    return DeliveryStatus(
        message_id=c.field(message, "id", provider=NAME),
        to=c.number(c.optional(event, "to")),
        from_=c.number(c.optional(message, "from")),
        status=kind.removeprefix("message-"),
        error_code=code,
        opted_out=code in OPT_OUT_ERRORS,
    )
