"""Plivo: form-encoded webhooks signed with ``X-Plivo-Signature-V3`` (or, opted in, ``-V2``).

V3 (the default, and the only scheme accepted unless the credentials opt in to V2;
it covers the parameters; the same string as the official SDK's
``plivo.utils.signature_v3.construct_get_url``/``construct_post_url``)::

    base = scheme://host/path
    GET:  base + "?" + query            (when there is one)
    POST: base + "?" + query + "." + params     (query and params present)
          base + "?" + params                  (params, no query)
          base + ("?" + query if query)         (no params)
    query  = sorted "name=value" joined by "&" (decoded values, repeated names sorted)
    params = sorted "namevalue" concatenated
    X-Plivo-Signature-V3 = base64(HMAC-SHA256(auth token, url + "." + nonce)), maybe several
    comma-separated (any one matching is enough); nonce in X-Plivo-Signature-V3-Nonce.

V2: ``base64(HMAC-SHA256(auth token, base + nonce))`` with the nonce in
``X-Plivo-Signature-V2-Nonce``. It covers neither the body nor the query, so anyone who
has seen one signed request could post any message under it (a forged START or YES
re-subscribes someone): a V2-only request is refused unless the credentials set
``accept_v2`` ("true"), and then only once per nonce. The adapter, being pure, leaves
that to its caller: :meth:`Plivo.single_use_nonce` names the nonce to claim (the
webhook route claims it durably before recording anything). A V3 header, when present,
is always what is checked, never the V2 one beside it.

An MO carries ``MessageUUID``, ``From``, ``To`` (no ``+``), ``Text`` and
``MessageIntent`` (optout/optin/help). A status callback carries ``Status`` and
``ErrorCode``; 200 means the recipient opted out (C19). The reply is Plivo XML, which
needs the numbers of the message answered.
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

NAME = "plivo"
OPT_OUT_ERRORS = frozenset({"200"})
ACCEPT_V2 = "accept_v2"  # credential flag: "true" lets V2-only requests in (single-use nonce)
MAX_NONCE = 128  # Plivo's nonces are 20 digits; anything much longer is not one


class Plivo:
    """The Plivo adapter (see the module docstring for the scheme)."""

    name = NAME
    credential_fields: tuple[str, ...] = ("auth_id", "auth_token", ACCEPT_V2)

    def destination(self, request: WebhookRequest) -> str | None:
        try:
            params = _params(request)
        except InvalidPayload:
            return None
        our_side = "From" if _is_status(params) else "To"
        return c.number(params.get(our_side))

    def verify(
        self, request: WebhookRequest, credentials: Mapping[str, str], *, now: datetime
    ) -> None:
        token = c.credential(credentials, "auth_token", provider=NAME)
        v3 = request.header("x-plivo-signature-v3")
        if v3:
            nonce = request.header("x-plivo-signature-v3-nonce")
            if nonce is None:
                raise SignatureInvalid("missing X-Plivo-Signature-V3-Nonce", provider=NAME)
            expected = _sign(token, f"{v3_url(request)}.{nonce}")
            candidates = [s.strip() for s in v3.split(",")]
        else:
            v2 = request.header("x-plivo-signature-v2")
            if not v2:
                raise SignatureInvalid("missing X-Plivo-Signature-V3", provider=NAME)
            if not accepts_v2(credentials):
                raise SignatureInvalid(
                    "X-Plivo-Signature-V2 does not cover the message and is refused unless"
                    f" the credentials set {ACCEPT_V2}; Plivo signs V3 too",
                    provider=NAME,
                )
            nonce = _v2_nonce(request)
            expected = _sign(token, _base_url(request.url) + nonce)
            candidates = [v2.strip()]
        ok = False
        for candidate in candidates:
            ok |= hmac.compare_digest(expected.encode(), candidate.encode())
        if not ok:
            raise SignatureInvalid("X-Plivo-Signature does not match", provider=NAME)

    def single_use_nonce(
        self, request: WebhookRequest, credentials: Mapping[str, str]
    ) -> str | None:
        """The V2 nonce the caller must accept for this one request only, when ``verify``
        accepts ``request`` on its V2 signature; ``None`` when V3 covers it."""
        if request.header("x-plivo-signature-v3") or not accepts_v2(credentials):
            return None
        return request.header("x-plivo-signature-v2-nonce")

    def credential_problems(self, credentials: Mapping[str, str]) -> list[CredentialProblem]:
        """Any non-empty auth token can be right; ``accept_v2`` is stored as "true"."""
        flag = credentials.get(ACCEPT_V2)
        if flag is not None and flag != "true":
            return [CredentialProblem(ACCEPT_V2, "must be true or false")]
        return []

    def parse(self, request: WebhookRequest) -> list[Event]:
        params = _params(request)
        uuid = c.field(params, "MessageUUID", provider=NAME)
        if _is_status(params):
            code = c.optional(params, "ErrorCode") or None
            return [
                DeliveryStatus(
                    message_id=uuid,
                    to=c.number(c.optional(params, "To")),
                    from_=c.number(c.optional(params, "From")),
                    status=c.field(params, "Status", provider=NAME),
                    error_code=code,
                    opted_out=code in OPT_OUT_ERRORS,
                )
            ]
        return [
            InboundSms(
                message_id=uuid,
                from_=c.required_number(params, "From", provider=NAME),
                to=c.required_number(params, "To", provider=NAME),
                text=c.text_field(params, "Text", provider=NAME),
                received_at=None,
                provider_hint=c.optional(params, "MessageIntent") or None,
            )
        ]

    def reply(self, text: str | None, *, inbound: InboundSms | None = None) -> ProviderReply:
        """``<Response><Message src=OUR dst=THEIRS>text</Message></Response>`` or empty.

        Plivo's ``Message`` element needs ``src`` and ``dst``, so a reply with text needs
        the ``inbound`` message it answers (``ValueError`` otherwise).
        """
        if not text:
            return ProviderReply(200, "application/xml", b"<Response></Response>")
        if inbound is None:
            raise ValueError("a Plivo reply needs the inbound message it answers")
        src, dst = _attr(inbound.to), _attr(inbound.from_)
        xml = (
            f'<Response><Message src="{src}" dst="{dst}" type="sms">'
            f"{c.xml_text(text)}</Message></Response>"
        )
        return ProviderReply(200, "application/xml", xml.encode())


def accepts_v2(credentials: Mapping[str, str]) -> bool:
    """True when these credentials opted in to V2-only requests."""
    return credentials.get(ACCEPT_V2) == "true"


def _v2_nonce(request: WebhookRequest) -> str:
    nonce = request.header("x-plivo-signature-v2-nonce")
    if not nonce:
        raise SignatureInvalid("missing X-Plivo-Signature-V2-Nonce", provider=NAME)
    if len(nonce) > MAX_NONCE or not nonce.isascii() or not nonce.isprintable():
        raise SignatureInvalid("malformed X-Plivo-Signature-V2-Nonce", provider=NAME)
    return nonce


def v3_url(request: WebhookRequest) -> str:
    """The string V3 signs, before ``"." + nonce`` (see the module docstring)."""
    base = _base_url(request.url)
    query = _query_string(c.query_pairs(request.url, provider=NAME))
    if request.method == "GET":
        return f"{base}?{query}" if query else base
    params = _params_string(c.form_pairs(request.body, provider=NAME))
    if not params:
        return f"{base}?{query}" if query else base
    return f"{base}?{query}.{params}" if query else f"{base}?{params}"


def _sign(token: str, data: str) -> str:
    return base64.b64encode(
        hmac.new(token.encode(), data.encode(), hashlib.sha256).digest()
    ).decode()


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _query_string(pairs: list[tuple[str, str]]) -> str:
    grouped = _grouped(pairs)
    return "&".join(f"{k}={v}" for k in sorted(grouped) for v in sorted(grouped[k]))


def _params_string(pairs: list[tuple[str, str]]) -> str:
    grouped = _grouped(pairs)
    return "".join(f"{k}{v}" for k in sorted(grouped) for v in sorted(grouped[k]))


def _params(request: WebhookRequest) -> dict[str, Any]:
    if request.method == "GET":
        return c.first_values(c.query_pairs(request.url, provider=NAME))
    return c.first_values(c.form_pairs(request.body, provider=NAME))


def _is_status(params: Mapping[str, Any]) -> bool:
    return "Status" in params and "Text" not in params


def _attr(value: str) -> str:
    return c.xml_text(value).replace('"', "&quot;")
