"""Sinch MessageMedia: JSON callbacks, optionally RSA-signed.

Scheme (when a ``public_key`` PEM is configured): ``X-Messagemedia-Signature`` is the
base64 RSA PKCS#1 v1.5 signature of ``request line + Date header + body``, concatenated
without separators, where the request line is ``"POST /path?query HTTP/1.1"`` (taken
from the public URL) and the digest is named by ``X-Messagemedia-Digest-Type``
(SHA224, SHA256 or SHA512; SHA224 when absent). Without a public key, the callback
URL's Basic credentials (``username`` / ``password``) are required; with neither,
nothing is accepted.

A reply (MO) carries ``reply_id`` (``message_id`` refers to the message it answers),
``source_number`` (the handset), ``destination_number`` (our number), ``content`` and
``date_received``. A delivery report carries ``delivery_report_id``, ``message_id``,
``status`` and, for failures, ``error_code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

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

NAME = "messagemedia"
HTTP_VERSION = "HTTP/1.1"
# MessageMedia publishes no "recipient opted out" delivery error code (docs/providers.md
# lists none), so no receipt maps to an opt-out; replies are classified as usual (C19).
OPT_OUT_ERRORS: frozenset[str] = frozenset()
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA224": hashes.SHA224,
    "SHA256": hashes.SHA256,
    "SHA512": hashes.SHA512,
}


class MessageMedia:
    """The MessageMedia adapter (see the module docstring for the scheme)."""

    name = NAME
    credential_fields: tuple[str, ...] = ("public_key", "username", "password")

    def destination(self, request: WebhookRequest) -> str | None:
        try:
            data = c.json_object(request, provider=NAME)
        except InvalidPayload:
            return None
        return c.number(c.optional(data, "destination_number"))  # our number, when present

    def verify(
        self, request: WebhookRequest, credentials: Mapping[str, str], *, now: datetime
    ) -> None:
        pem = credentials.get("public_key")
        if pem:
            _check_signature(request, _load_key(pem))
        elif credentials.get("username") and credentials.get("password"):
            c.check_basic_auth(
                request, credentials["username"], credentials["password"], provider=NAME
            )
        else:
            raise SignatureInvalid("no public key or Basic credentials", provider=NAME)

    def credential_problems(self, credentials: Mapping[str, str]) -> list[CredentialProblem]:
        """``public_key``, when set, must load as an RSA public key (PEM or its body)."""
        pem = credentials.get("public_key")
        key = _parse_key(pem) if pem else None
        return [CredentialProblem("public_key", key)] if isinstance(key, str) else []

    def parse(self, request: WebhookRequest) -> list[Event]:
        data = c.json_object(request, provider=NAME)
        if "delivery_report_id" in data:
            code = c.optional(data, "error_code") or None
            return [
                DeliveryStatus(
                    message_id=c.field(data, "message_id", provider=NAME),
                    to=c.number(c.optional(data, "source_number")),
                    from_=c.number(c.optional(data, "destination_number")),
                    status=c.field(data, "status", provider=NAME),
                    error_code=code,
                    opted_out=code in OPT_OUT_ERRORS,
                )
            ]
        if "content" not in data:
            raise InvalidPayload("neither a reply nor a delivery report", provider=NAME)
        message_id = c.optional(data, "reply_id") or c.field(data, "message_id", provider=NAME)
        return [
            InboundSms(
                message_id=message_id,
                from_=c.required_number(data, "source_number", provider=NAME),
                to=c.required_number(data, "destination_number", provider=NAME),
                text=c.text_field(data, "content", provider=NAME),
                received_at=c.parse_time(c.optional(data, "date_received")),
            )
        ]

    def reply(self, text: str | None, *, inbound: InboundSms | None = None) -> ProviderReply:
        """MessageMedia takes no reply in the response: answers go out through the API."""
        return ProviderReply(200, None, b"")


def signed_data(request: WebhookRequest) -> bytes:
    """``request line + Date + body``, exactly as MessageMedia signs it."""
    parts = urlsplit(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    line = f"{request.method} {target} {HTTP_VERSION}"
    return line.encode() + (request.header("date") or "").encode() + request.body


def _load_key(pem: str) -> RSAPublicKey:
    key = _parse_key(pem)
    if isinstance(key, str):
        raise SignatureInvalid(f"configured public_key {key}", provider=NAME)
    return key


def _parse_key(pem: str) -> RSAPublicKey | str:
    """The RSA key in ``pem`` (a PEM, or the bare base64 body the API returns), or what
    is wrong with it (never quoting it)."""
    text = pem.strip()
    if "-----BEGIN" not in text:
        text = f"-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----"
    try:
        key = serialization.load_pem_public_key(text.encode("utf-8", "replace"))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return "is not a PEM public key (nor the base64 body of one)"
    if not isinstance(key, RSAPublicKey):
        return "is a public key but not an RSA one"
    return key


def _check_signature(request: WebhookRequest, key: RSAPublicKey) -> None:
    given = request.header("x-messagemedia-signature")
    if not given or request.header("date") is None:
        raise SignatureInvalid("missing X-Messagemedia-Signature or Date", provider=NAME)
    digest = _DIGESTS.get((request.header("x-messagemedia-digest-type") or "SHA224").upper())
    if digest is None:
        raise SignatureInvalid("unsupported X-Messagemedia-Digest-Type", provider=NAME)
    raw = c.b64decode_or_none(given)
    if raw is None:
        raise SignatureInvalid("malformed X-Messagemedia-Signature", provider=NAME)
    try:
        key.verify(raw, signed_data(request), padding.PKCS1v15(), digest())
    except InvalidSignature as exc:
        raise SignatureInvalid("X-Messagemedia-Signature does not match", provider=NAME) from exc
