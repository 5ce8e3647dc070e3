"""Shared test data: recorded payloads, a fixed clock, request builders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

from consentline.providers import WebhookRequest

PAYLOADS = Path(__file__).parent / "payloads"
NOW = datetime(2024, 5, 3, 9, 15, 30, tzinfo=UTC)
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def payload(name: str) -> bytes:
    """The recorded body ``payloads/<name>`` exactly as stored."""
    return (PAYLOADS / name).read_bytes()


def form(body: bytes) -> dict[str, str]:
    """A form body as the dict the SDK signers take."""
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def post(url: str, body: bytes, content_type: str, **headers: str) -> WebhookRequest:
    """A POST with the given headers (``x_foo`` -> ``X-Foo``)."""
    named = {k.replace("_", "-").title(): v for k, v in headers.items()}
    return WebhookRequest.create("POST", url, {"Content-Type": content_type, **named}, body)


def tampered(request: WebhookRequest) -> WebhookRequest:
    """The same request with ``STOP`` in the body turned into ``STAY``."""
    body = request.body.replace(b"STOP", b"STAY").replace(b"Stop", b"Stay")
    assert body != request.body
    return WebhookRequest(request.method, request.url, request.headers, body)


def without(request: WebhookRequest, header: str) -> WebhookRequest:
    """The same request without ``header``."""
    headers = {k: v for k, v in request.headers.items() if k != header.lower()}
    assert len(headers) < len(request.headers)
    return WebhookRequest(request.method, request.url, headers, request.body)
