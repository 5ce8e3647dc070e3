"""Vonage: the SMS API (``sig`` parameter) and the Messages API (JWT), one adapter.

SMS API — inbound messages and delivery receipts arrive as GET, POST form or POST
JSON. Signed messages carry ``sig``: all other parameters sorted by name, ``&`` and
``=`` in values replaced by ``_``, joined as ``&name=value...``; then
``hex(HMAC-<method>(signature secret, that string))`` for method md5/sha1/sha256/sha512,
or ``hex(MD5(string + secret))`` for the legacy ``md5hash`` (Vonage's default). Credentials:
``signature_secret``, ``signature_method`` (default ``md5hash``), ``api_key`` (when
set, the request's ``api-key`` must match).

Messages API — JSON, with ``Authorization: Bearer <JWT>`` signed HS256 with the
signature secret; its ``payload_hash`` claim must equal the hex SHA-256 of the body
(checked here), and ``exp``, when present, is checked against ``now``.

The MO sender is ``msisdn`` (SMS API) or ``from`` (Messages API); numbers come without
``+``. Vonage's first-word ``keyword`` (``sms.keyword``) is the provider hint. In an SMS
API receipt ``msisdn`` is the recipient and ``to`` is our number; ``err-code`` 9 means
the recipient opted out (C19).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import jwt

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

NAME = "vonage"
OPT_OUT_ERRORS = frozenset({"9"})
_HMACS: dict[str, Callable[[], Any]] = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha512": hashlib.sha512,
}
# Every ``signature_method`` Vonage's dashboard offers, in lower case.
SIGNATURE_METHODS = ("md5hash", *_HMACS)


class Vonage:
    """The Vonage adapter, SMS API and Messages API (see the module docstring)."""

    name = NAME
    credential_fields: tuple[str, ...] = ("api_key", "signature_secret", "signature_method")

    def destination(self, request: WebhookRequest) -> str | None:
        try:
            params = _params(request)
        except InvalidPayload:
            return None
        if _is_messages_api(params):
            side = "from" if "status" in params else "to"
            return _messages_number(params.get(side))
        return c.number(c.optional(params, "to"))  # our number, in MOs and in receipts

    def verify(
        self, request: WebhookRequest, credentials: Mapping[str, str], *, now: datetime
    ) -> None:
        secret = c.credential(credentials, "signature_secret", provider=NAME)
        authorization = request.header("authorization") or ""
        if authorization[:7].lower() == "bearer ":
            _verify_jwt(request, authorization[7:].strip(), secret, credentials, now)
            return
        try:
            params = _params(request)
        except InvalidPayload as exc:
            raise SignatureInvalid("unreadable body", provider=NAME) from exc
        given = params.pop("sig", None)
        if not isinstance(given, str) or not given:
            raise SignatureInvalid("missing sig parameter or Bearer token", provider=NAME)
        method = (credentials.get("signature_method") or "md5hash").lower()
        expected = sign_params(params, secret, method)
        if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
            raise SignatureInvalid("sig does not match", provider=NAME)
        api_key = credentials.get("api_key")
        if api_key and c.optional(params, "api-key") not in (None, api_key):
            raise SignatureInvalid("api-key does not match", provider=NAME)

    def credential_problems(self, credentials: Mapping[str, str]) -> list[CredentialProblem]:
        """``signature_method``, when set, must be one Vonage signs with."""
        method = credentials.get("signature_method")
        if method and method.lower() not in SIGNATURE_METHODS:
            expected = ", ".join(SIGNATURE_METHODS)
            return [CredentialProblem("signature_method", f"must be one of {expected}")]
        return []

    def parse(self, request: WebhookRequest) -> list[Event]:
        params = _params(request)
        if _is_messages_api(params):
            return [_messages_event(params)]
        if "status" in params and "text" not in params:
            code = c.optional(params, "err-code")
            code = None if code in (None, "", "0") else code
            return [
                DeliveryStatus(
                    message_id=c.field(params, "messageId", provider=NAME),
                    to=c.number(c.optional(params, "msisdn")),
                    from_=c.number(c.optional(params, "to")),
                    status=c.field(params, "status", provider=NAME),
                    error_code=code,
                    opted_out=code in OPT_OUT_ERRORS,
                )
            ]
        return [
            InboundSms(
                message_id=c.field(params, "messageId", provider=NAME),
                from_=c.required_number(params, "msisdn", provider=NAME),
                to=c.required_number(params, "to", provider=NAME),
                text=c.text_field(params, "text", provider=NAME),
                received_at=c.parse_time(c.optional(params, "message-timestamp")),
                provider_hint=c.optional(params, "keyword") or None,
            )
        ]

    def reply(self, text: str | None, *, inbound: InboundSms | None = None) -> ProviderReply:
        """Vonage takes no reply in the response: answers go out through the API."""
        return ProviderReply(200, None, b"")


def sign_params(params: Mapping[str, Any], secret: str, method: str) -> str:
    """The SMS API ``sig`` of ``params`` (without ``sig``) — see the module docstring."""
    data = "".join(f"&{name}={_sig_value(params[name])}" for name in sorted(params))
    if method == "md5hash":
        return hashlib.md5((data + secret).encode(), usedforsecurity=False).hexdigest()
    if method not in _HMACS:
        raise SignatureInvalid("unsupported signature_method", provider=NAME)
    return hmac.new(secret.encode(), data.encode(), _HMACS[method]).hexdigest()


def _sig_value(value: Any) -> str:
    return value.replace("&", "_").replace("=", "_") if isinstance(value, str) else str(value)


def _verify_jwt(
    request: WebhookRequest,
    token: str,
    secret: str,
    credentials: Mapping[str, str],
    now: datetime,
) -> None:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            # time claims are checked below against the `now` we are given
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise SignatureInvalid("Bearer token does not verify", provider=NAME) from exc
    payload_hash = claims.get("payload_hash")
    if not isinstance(payload_hash, str):
        raise SignatureInvalid("Bearer token has no payload_hash", provider=NAME)
    actual = hashlib.sha256(request.body).hexdigest()
    if not hmac.compare_digest(actual.encode(), payload_hash.lower().encode()):
        raise SignatureInvalid("body does not match payload_hash", provider=NAME)
    exp = claims.get("exp")
    if isinstance(exp, int | float) and now.timestamp() > exp:
        raise SignatureInvalid("Bearer token expired", provider=NAME)
    api_key = credentials.get("api_key")
    if api_key and claims.get("api_key") not in (None, api_key):
        raise SignatureInvalid("api_key claim does not match", provider=NAME)


def _params(request: WebhookRequest) -> dict[str, Any]:
    if request.method == "GET":
        return c.first_values(c.query_pairs(request.url, provider=NAME))
    if c.is_json(request):
        return c.json_object(request, provider=NAME)
    return c.first_values(c.form_pairs(request.body, provider=NAME))


def _is_messages_api(params: Mapping[str, Any]) -> bool:
    return "message_uuid" in params


def _messages_number(value: Any) -> str | None:
    if isinstance(value, dict):  # Messages API v0.1: {"type": "sms", "number": "..."}
        value = value.get("number")
    return c.number(value) if isinstance(value, str) else None


def _messages_event(params: Mapping[str, Any]) -> Event:
    uuid = c.field(params, "message_uuid", provider=NAME)
    sender = _messages_number(params.get("from"))
    to = _messages_number(params.get("to"))
    if "status" in params:
        code = _messages_error(params.get("error"))
        return DeliveryStatus(
            message_id=uuid,
            to=to,
            from_=sender,
            status=c.field(params, "status", provider=NAME),
            error_code=code,
            opted_out=code in OPT_OUT_ERRORS,
        )
    if sender is None or to is None:
        raise InvalidPayload("missing field 'from' or 'to'", provider=NAME, field="from")
    sms = params.get("sms")
    keyword = c.optional(sms, "keyword") if isinstance(sms, dict) else None
    return InboundSms(
        message_id=uuid,
        from_=sender,
        to=to,
        text=c.text_field(params, "text", provider=NAME),
        received_at=c.parse_time(c.optional(params, "timestamp")),
        channel=c.optional(params, "channel") or "sms",
        provider_hint=keyword or None,
    )


def _messages_error(error: Any) -> str | None:
    """The code of a Messages API ``error``: its ``title``, else the ``#code`` of ``type``."""
    if not isinstance(error, dict):
        return None
    title = c.optional(error, "title")
    if title and title.isdigit():
        return title
    kind = c.optional(error, "type") or ""
    code = kind.rpartition("#")[2]
    return code or title or None
