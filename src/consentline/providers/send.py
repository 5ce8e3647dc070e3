"""Provider send APIs, pure: build the HTTP request for one SMS, read the answer.

The outbox worker owns the I/O; this module only turns an :class:`OutgoingSms` and an
account's stored credentials into a :class:`SendRequest`, and a provider's status and
body into a :class:`SendOutcome`. No sockets, no clock, no logging here.

======================  =================================================  ==============
provider                request                                            auth
======================  =================================================  ==============
twilio                  ``POST /2010-04-01/Accounts/{account_sid}/         Basic sid:token
                        Messages.json`` form ``To``, ``From``, ``Body``
sinch                   ``POST /xms/v1/{service_plan_id}/batches``          Bearer api_token
                        JSON ``from``, ``to: [...]``, ``body``,
                        ``client_reference``
messagemedia            ``POST /v1/messages`` JSON ``messages: [...]``      Basic key:secret
vonage                  ``POST /sms/json`` form ``api_key``,                in the body
                        ``api_secret``, ``from``, ``to`` (no ``+``),
                        ``text``, ``client-ref``
plivo                   ``POST /v1/Account/{auth_id}/Message/`` JSON        Basic id:token
                        ``src``, ``dst``, ``text``
telnyx                  ``POST /v2/messages`` JSON ``from``, ``to``,        Bearer api_key
                        ``text``
bandwidth               ``POST /api/v2/users/{account_id}/messages`` JSON   Basic user:pass
                        ``applicationId``, ``to: [...]``, ``from``,
                        ``text``, ``tag``
======================  =================================================  ==============

The host is the provider's public API (:data:`DEFAULT_BASE_URLS`) unless the
credentials carry ``upstream_base_url`` (a stand-in, a regional host, a proxy).
Reading the answer: see :mod:`consentline.providers._send_answers`. The outcome's
``detail`` names the provider, the HTTP status and the provider's error code, never
a phone number or a message text (C23); a provider code meaning "the recipient opted
out" gives ``status="opted_out"`` (C19).

>>> sms = OutgoingSms(to="+14155550101", from_="+18005550100", text="You are opted out.",
...                   reference="42")
>>> request = build_send("telnyx", {"api_key": "KEY..."}, sms)
>>> request.method, request.url
('POST', 'https://api.telnyx.com/v2/messages')
>>> interpret("telnyx", 200, b'{"data": {"id": "40317f0e-0000"}}')
SendOutcome(status='sent', provider_message_id='40317f0e-0000', detail='telnyx 200')
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

from consentline.domain.errors import CannotSend, InvalidInput
from consentline.domain.outbound import check_url_shape
from consentline.providers import _send_answers as answers

__all__ = [
    "DEFAULT_BASE_URLS",
    "SEND_FIELDS",
    "UPSTREAM_BASE_URL",
    "CannotSend",
    "OutgoingSms",
    "SendOutcome",
    "SendRequest",
    "build_send",
    "interpret",
]

# The optional credential naming another host for the send API (every provider).
UPSTREAM_BASE_URL: Final = "upstream_base_url"

DEFAULT_BASE_URLS: Final[Mapping[str, str]] = {
    "twilio": "https://api.twilio.com",
    "sinch": "https://us.sms.api.sinch.com",
    "messagemedia": "https://api.messagemedia.com",
    "vonage": "https://rest.nexmo.com",
    "plivo": "https://api.plivo.com",
    "telnyx": "https://api.telnyx.com",
    "bandwidth": "https://messaging.bandwidth.com",
}

# The credential names each provider needs for sending (all of them).
SEND_FIELDS: Final[Mapping[str, frozenset[str]]] = {
    "twilio": frozenset({"account_sid", "auth_token"}),
    "sinch": frozenset({"service_plan_id", "api_token"}),
    "messagemedia": frozenset({"api_key", "api_secret"}),
    "vonage": frozenset({"api_key", "api_secret"}),
    "plivo": frozenset({"auth_id", "auth_token"}),
    "telnyx": frozenset({"api_key"}),
    "bandwidth": frozenset({"account_id", "application_id", "username", "password"}),
}

# GSM 03.38 default alphabet and its extension table (escape characters cost two septets).
_GSM7: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "\f^{}\\[~]|€"
)
_FORM: Final = "application/x-www-form-urlencoded"
_JSON: Final = "application/json"


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    """One SMS to send: E.164 numbers, the text, and our outbox id as ``reference``."""

    to: str
    from_: str
    text: str
    reference: str


@dataclass(frozen=True, slots=True)
class SendRequest:
    """The HTTP request to make; ``headers`` carry the credentials (do not log them)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What became of a send; ``detail`` is safe to store (no number, no text, C23)."""

    status: Literal["sent", "retry", "failed", "opted_out"]
    provider_message_id: str | None
    detail: str


def build_send(provider: str, credentials: Mapping[str, str], sms: OutgoingSms) -> SendRequest:
    """The request that sends ``sms`` through ``provider`` with ``credentials``.

    :class:`CannotSend` for an unknown provider, missing send fields (named, never
    their values) or an ``upstream_base_url`` that is not an http(s) URL.
    """
    builder = _BUILDERS.get(provider)
    if builder is None:
        raise CannotSend(
            f"no send API for provider {provider!r}; known: {', '.join(sorted(_BUILDERS))}",
            provider=provider,
        )
    present = {k for k, v in credentials.items() if isinstance(v, str) and v.strip()}
    missing = sorted(SEND_FIELDS[provider] - present)
    if missing:
        raise CannotSend(
            f"missing send credential field(s) for {provider}: {', '.join(missing)}",
            provider=provider,
            field=missing[0],
            missing=missing,
        )
    fields = {k: credentials[k].strip() for k in present}
    return builder(_base_url(provider, fields), fields, sms)


def interpret(provider: str, status: int, body: bytes) -> SendOutcome:
    """What the provider's answer (HTTP ``status``, raw ``body``) means for the outbox.

    2xx -> ``sent`` (with the provider's message id when the body has one; Vonage
    reports failures inside a 200); 408, 425, 429, 5xx and throttling -> ``retry``;
    a code meaning the recipient opted out at the provider -> ``opted_out`` (C19);
    anything else -> ``failed``. Never raises on a bad body.
    """
    reader = answers.READERS.get(provider)
    if reader is None:
        raise CannotSend(f"no send API for provider {provider!r}", provider=provider)
    answer = reader(status, answers.parse(body))
    detail = f"{provider} {status}"
    if answer.code is not None:
        detail += f" {answer.code_name} {answer.code}"
    return SendOutcome(answer.status, answer.message_id, detail)


def _base_url(provider: str, fields: Mapping[str, str]) -> str:
    url = fields.get(UPSTREAM_BASE_URL) or DEFAULT_BASE_URLS[provider]
    try:  # checked when saved; a value stored before URLs were checked may still be bad
        check_url_shape(url, field=UPSTREAM_BASE_URL, base=True)
    except InvalidInput:
        raise CannotSend(
            f"{UPSTREAM_BASE_URL} must be an http(s) URL",
            provider=provider,
            field=UPSTREAM_BASE_URL,
        ) from None
    return url.rstrip("/")


def _segment(value: str) -> str:
    """A credential placed in a URL path, quoted so that it stays one segment."""
    return quote(value, safe="")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _json(url: str, auth: str, payload: Mapping[str, Any]) -> SendRequest:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Authorization": auth, "Content-Type": _JSON, "Accept": _JSON}
    return SendRequest("POST", url, headers, body)


def _form(url: str, headers: Mapping[str, str], pairs: list[tuple[str, str]]) -> SendRequest:
    body = urlencode(pairs).encode("ascii")
    return SendRequest("POST", url, {**headers, "Content-Type": _FORM, "Accept": _JSON}, body)


def _twilio(base: str, f: Mapping[str, str], sms: OutgoingSms) -> SendRequest:
    url = f"{base}/2010-04-01/Accounts/{_segment(f['account_sid'])}/Messages.json"
    auth = {"Authorization": _basic(f["account_sid"], f["auth_token"])}
    return _form(url, auth, [("To", sms.to), ("From", sms.from_), ("Body", sms.text)])


def _sinch(base: str, f: Mapping[str, str], sms: OutgoingSms) -> SendRequest:
    url = f"{base}/xms/v1/{_segment(f['service_plan_id'])}/batches"
    payload = {
        "from": sms.from_,
        "to": [sms.to],
        "body": sms.text,
        "client_reference": sms.reference,
    }
    return _json(url, f"Bearer {f['api_token']}", payload)


def _messagemedia(base: str, f: Mapping[str, str], sms: OutgoingSms) -> SendRequest:
    message = {
        "content": sms.text,
        "destination_number": sms.to,
        "source_number": sms.from_,
        "format": "SMS",
        "metadata": {"reference": sms.reference},
    }
    auth = _basic(f["api_key"], f["api_secret"])
    return _json(f"{base}/v1/messages", auth, {"messages": [message]})


def _vonage(base: str, f: Mapping[str, str], sms: OutgoingSms) -> SendRequest:
    pairs = [
        ("api_key", f["api_key"]),
        ("api_secret", f["api_secret"]),
        ("from", sms.from_.removeprefix("+")),
        ("to", sms.to.removeprefix("+")),
        ("text", sms.text),
        ("client-ref", sms.reference),
    ]
    if not _is_gsm7(sms.text):
        # Vonage's default type "text" is GSM-7: other characters arrive as "?".
        pairs.append(("type", "unicode"))
    return _form(f"{base}/sms/json", {}, pairs)


def _is_gsm7(text: str) -> bool:
    return all(char in _GSM7 for char in text)


def _plivo(base: str, f: Mapping[str, str], sms: OutgoingSms) -> SendRequest:
    url = f"{base}/v1/Account/{_segment(f['auth_id'])}/Message/"
    payload = {"src": sms.from_, "dst": sms.to, "text": sms.text}
    return _json(url, _basic(f["auth_id"], f["auth_token"]), payload)


def _telnyx(base: str, f: Mapping[str, str], sms: OutgoingSms) -> SendRequest:
    payload = {"from": sms.from_, "to": sms.to, "text": sms.text}
    return _json(f"{base}/v2/messages", f"Bearer {f['api_key']}", payload)


def _bandwidth(base: str, f: Mapping[str, str], sms: OutgoingSms) -> SendRequest:
    url = f"{base}/api/v2/users/{_segment(f['account_id'])}/messages"
    payload = {
        "applicationId": f["application_id"],
        "to": [sms.to],
        "from": sms.from_,
        "text": sms.text,
        "tag": sms.reference,
    }
    return _json(url, _basic(f["username"], f["password"]), payload)


_BUILDERS: Final[dict[str, Callable[[str, Mapping[str, str], OutgoingSms], SendRequest]]] = {
    "twilio": _twilio,
    "sinch": _sinch,
    "messagemedia": _messagemedia,
    "vonage": _vonage,
    "plivo": _plivo,
    "telnyx": _telnyx,
    "bandwidth": _bandwidth,
}
