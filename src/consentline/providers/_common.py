"""Helpers shared by the adapters: body decoding, field access, time, Basic auth.

Error messages name the provider and the field, never a value: a phone number or a
message text must not reach an error report or a log (C23).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from consentline.domain.errors import InvalidPayload, SignatureInvalid
from consentline.services.provider_port import WebhookRequest

JsonObject = dict[str, Any]
# XML 1.0 forbids most control characters; a reply document with one is rejected outright.
_XML_FORBIDDEN = dict.fromkeys(n for n in range(32) if n not in (9, 10, 13))


def form_pairs(raw: bytes | str, *, provider: str) -> list[tuple[str, str]]:
    """Decode an ``application/x-www-form-urlencoded`` body or query into ordered pairs."""
    try:
        return list(_decoded_pairs(raw))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidPayload("form body is not valid UTF-8", provider=provider) from exc


@functools.lru_cache(maxsize=64)
def _decoded_pairs(raw: bytes | str) -> tuple[tuple[str, str], ...]:
    # A webhook's body is read to find the line, to verify and to parse: decoded once.
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    return tuple(parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict"))


def query_pairs(url: str, *, provider: str) -> list[tuple[str, str]]:
    """The query parameters of ``url`` as ordered pairs."""
    return form_pairs(urlsplit(url).query, provider=provider)


def first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Pairs to a dict, keeping the first value of a repeated name."""
    result: dict[str, str] = {}
    for name, value in pairs:
        result.setdefault(name, value)
    return result


def is_json(request: WebhookRequest) -> bool:
    """True when the body is JSON (by content type, else by its first character)."""
    content_type = (request.header("content-type") or "").lower()
    if "json" in content_type:
        return True
    if "form" in content_type:
        return False
    return request.body.lstrip()[:1] in (b"{", b"[")


def json_body(request: WebhookRequest, *, provider: str) -> Any:
    """The body parsed as JSON; ``InvalidPayload`` when it is not."""
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidPayload("body is not valid JSON", provider=provider) from exc


def json_object(request: WebhookRequest, *, provider: str) -> JsonObject:
    """The body parsed as a JSON object."""
    value = json_body(request, provider=provider)
    if not isinstance(value, dict):
        raise InvalidPayload("body is not a JSON object", provider=provider)
    return value


def field(data: Mapping[str, Any], name: str, *, provider: str) -> str:
    """A required, non-empty scalar field as a string."""
    value = optional(data, name)
    if not value:
        raise InvalidPayload(f"missing field {name!r}", provider=provider, field=name)
    return value


def optional(data: Mapping[str, Any], name: str) -> str | None:
    """An optional scalar field as a string (``None`` when absent, null or not a scalar)."""
    value = data.get(name)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value)
    return None


def text_field(data: Mapping[str, Any], name: str, *, provider: str) -> str:
    """The message text: may be empty (an MMS without text), must be a string if present."""
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidPayload(f"field {name!r} is not text", provider=provider, field=name)
    return value


def number(value: str | None) -> str | None:
    """A phone number as the provider sent it, whitespace stripped (the service normalises)."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def required_number(data: Mapping[str, Any], name: str, *, provider: str) -> str:
    """A required phone-number field, whitespace stripped."""
    value = number(optional(data, name))
    if value is None:
        raise InvalidPayload(f"missing field {name!r}", provider=provider, field=name)
    return value


def parse_time(value: str | None) -> datetime | None:
    """An aware UTC datetime from ISO 8601 or ``YYYY-MM-DD HH:MM:SS`` (taken as UTC).

    Unreadable times give ``None`` rather than an error: a garbled timestamp must not
    make us drop a STOP (the service then uses its own receive time).
    """
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 across UTC
        return None


def credential(credentials: Mapping[str, str], name: str, *, provider: str) -> str:
    """A configured credential; ``SignatureInvalid`` when it is missing (fail closed)."""
    value = credentials.get(name)
    if not value:
        raise SignatureInvalid(f"credential {name!r} is not configured", provider=provider)
    return value


def check_basic_auth(
    request: WebhookRequest, username: str, password: str, *, provider: str
) -> None:
    """Require ``Authorization: Basic`` with exactly these credentials (constant time)."""
    header = request.header("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token:
        raise SignatureInvalid("missing Basic credentials", provider=provider)
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("malformed Basic credentials", provider=provider) from exc
    expected = f"{username}:{password}".encode()
    if not hmac.compare_digest(decoded, expected):
        raise SignatureInvalid("wrong Basic credentials", provider=provider)


def b64decode_or_none(value: str) -> bytes | None:
    """Strict base64 decoding; ``None`` on garbage."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def xml_text(text: str) -> str:
    """``text`` escaped for XML character data, forbidden control characters removed."""
    return escape(text.translate(_XML_FORBIDDEN))
