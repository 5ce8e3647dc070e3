"""Twilio: form-encoded webhooks signed with ``X-Twilio-Signature``.

Scheme: ``base64(HMAC(key, url + name1 + value1 + name2 + value2 ...))`` where ``url`` is
the full public URL (query included) and the POST parameters are sorted by name (the
values of a repeated name sorted too); a GET carries its parameters in the URL only.
The HMAC is SHA-1 keyed with the auth token, or — when the request carries
``X-Twilio-Webhooks-Signature-Settings: key=...,algorithm=HMAC_SHA256`` — the named
algorithm keyed with the SharedKey secret (credential ``shared_key_secret``, falling
back to the auth token). JSON bodies are covered by ``?bodySHA256=<hex sha256 of the
body>`` in the signed URL, which we check. Twilio signs inconsistently with or without
the default port, so both spellings of the URL are accepted.

An MO carries ``MessageSid``, ``From``, ``To``, ``Body`` and, with Advanced Opt-Out,
``OptOutType`` (STOP/START/HELP). A status callback carries ``MessageStatus`` and
``ErrorCode``; 21610 means the recipient had opted out (C19). The reply is TwiML.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

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

NAME = "twilio"
OPT_OUT_ERRORS = frozenset({"21610"})
_ALGORITHMS = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}
_DEFAULT_PORTS = {"https": 443, "http": 80}


class Twilio:
    """The Twilio adapter (see the module docstring for the scheme)."""

    name = NAME
    credential_fields: tuple[str, ...] = ("account_sid", "auth_token", "shared_key_secret")

    def destination(self, request: WebhookRequest) -> str | None:
        try:
            params = _params(request)
        except InvalidPayload:
            return None
        if _is_status(params):
            return c.number(c.optional(params, "From"))
        return c.number(c.optional(params, "To"))

    def verify(
        self, request: WebhookRequest, credentials: Mapping[str, str], *, now: datetime
    ) -> None:
        signature = request.header("x-twilio-signature")
        if not signature:
            raise SignatureInvalid("missing X-Twilio-Signature", provider=NAME)
        settings = request.header("x-twilio-webhooks-signature-settings")
        algorithm = _algorithm(settings)
        # A request signed with a SharedKey announces it in the settings header.
        key = (settings and credentials.get("shared_key_secret")) or c.credential(
            credentials, "auth_token", provider=NAME
        )
        body_hash = _query_value(request.url, "bodySHA256")
        if body_hash is not None:
            actual = hashlib.sha256(request.body).hexdigest()
            if not hmac.compare_digest(actual.encode(), body_hash.lower().encode()):
                raise SignatureInvalid("body does not match bodySHA256", provider=NAME)
            pairs: list[tuple[str, str]] = []
        elif request.method == "POST":
            pairs = c.form_pairs(request.body, provider=NAME)
        else:
            pairs = []
        given = signature.strip().encode()
        # Each comparison is constant-time; which spelling of the URL matched is public.
        ok = any(
            hmac.compare_digest(compute_signature(key, url, pairs, algorithm).encode(), given)
            for url in _url_spellings(request.url)
        )
        if not ok:
            raise SignatureInvalid("X-Twilio-Signature does not match", provider=NAME)

    def credential_problems(self, credentials: Mapping[str, str]) -> list[CredentialProblem]:
        """Any non-empty token can be right: nothing to check by shape."""
        return []

    def parse(self, request: WebhookRequest) -> list[Event]:
        params = _params(request)
        if _is_status(params):
            code = c.optional(params, "ErrorCode") or None
            status = c.optional(params, "MessageStatus") or c.field(
                params, "SmsStatus", provider=NAME
            )
            return [
                DeliveryStatus(
                    message_id=_sid(params),
                    to=c.number(c.optional(params, "To")),
                    from_=c.number(c.optional(params, "From")),
                    status=status,
                    error_code=code,
                    opted_out=code in OPT_OUT_ERRORS,
                )
            ]
        if "Body" not in params and "NumMedia" not in params:
            raise InvalidPayload("neither a message nor a status callback", provider=NAME)
        return [
            InboundSms(
                message_id=_sid(params),
                from_=c.required_number(params, "From", provider=NAME),
                to=c.required_number(params, "To", provider=NAME),
                text=c.text_field(params, "Body", provider=NAME),
                received_at=None,  # Twilio sends no timestamp with an MO
                channel="whatsapp" if _is_whatsapp(params) else "sms",
                provider_hint=c.optional(params, "OptOutType") or None,
            )
        ]

    def reply(self, text: str | None, *, inbound: InboundSms | None = None) -> ProviderReply:
        """TwiML: ``<Response><Message>text</Message></Response>``, or an empty ``<Response/>``.

        >>> Twilio().reply("a<b & c>").body[38:]
        b'<Response><Message>a&lt;b &amp; c&gt;</Message></Response>'
        """
        head = '<?xml version="1.0" encoding="UTF-8"?>'
        if not text:
            xml = f"{head}<Response/>"
        else:
            xml = f"{head}<Response><Message>{c.xml_text(text)}</Message></Response>"
        return ProviderReply(200, "text/xml; charset=utf-8", xml.encode())


def compute_signature(key: str, url: str, pairs: list[tuple[str, str]], algorithm: str) -> str:
    """``base64(HMAC(key, url + sorted name/value concatenation))``."""
    grouped: dict[str, set[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, set()).add(value)
    data = url + "".join(
        name + value for name in sorted(grouped) for value in sorted(grouped[name])
    )
    digest = hmac.new(key.encode(), data.encode(), _ALGORITHMS[algorithm]).digest()
    return base64.b64encode(digest).decode()


def _algorithm(settings: str | None) -> str:
    algorithm = "HMAC_SHA1"
    for part in (settings or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            algorithm = value.strip().upper()
    if algorithm not in _ALGORITHMS:
        raise SignatureInvalid("unsupported signature algorithm", provider=NAME)
    return algorithm


def _url_spellings(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    bare = parts._replace(netloc=_netloc(parts.username, parts.password, host, None))
    default = _DEFAULT_PORTS.get(parts.scheme)
    port = parts.port or default
    with_port = parts._replace(netloc=_netloc(parts.username, parts.password, host, port))
    return list(dict.fromkeys([url, urlunsplit(bare), urlunsplit(with_port)]))


def _netloc(user: str | None, password: str | None, host: str, port: int | None) -> str:
    auth = ""
    if user is not None:
        auth = user + (f":{password}" if password is not None else "") + "@"
    return auth + host + (f":{port}" if port else "")


def _query_value(url: str, name: str) -> str | None:
    for key, value in c.query_pairs(url, provider=NAME):
        if key == name:
            return value
    return None


def _params(request: WebhookRequest) -> dict[str, Any]:
    if request.method == "GET":
        return c.first_values(c.query_pairs(request.url, provider=NAME))
    if c.is_json(request):
        return c.json_object(request, provider=NAME)
    return c.first_values(c.form_pairs(request.body, provider=NAME))


def _is_status(params: Mapping[str, Any]) -> bool:
    if "MessageStatus" in params:
        return True
    status = c.optional(params, "SmsStatus")
    return status is not None and status != "received"


def _is_whatsapp(params: Mapping[str, Any]) -> bool:
    return (c.optional(params, "From") or "").startswith("whatsapp:")


def _sid(params: Mapping[str, Any]) -> str:
    sid = c.optional(params, "MessageSid") or c.optional(params, "SmsSid")
    if not sid:
        raise InvalidPayload("missing field 'MessageSid'", provider=NAME, field="MessageSid")
    return sid
