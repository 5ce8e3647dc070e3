"""Provider webhooks built from field values and signed by each provider's own signer.

``build(provider, fields)`` returns a request as the provider would send it, with the
given text, message id, sender, destination and timestamp, signed through the
builders of ``tests/providers/signers.py`` (the official SDKs). ``Hooks`` is an app
on a real database with every provider configured, driven by an async client so
that many webhooks can be in flight at once and share the batcher's group commit.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import httpx
import sqlalchemy as sa

import consentline
from consentline import Consentline
from consentline.domain.evidence import is_storable
from consentline.http import create_app
from consentline.providers import WebhookRequest
from consentline.settings import Settings
from tests.conftest import Clock
from tests.providers import signers
from tests.providers._support import NOW, payload

LINE: Final = "+18005550100"
PUBLIC: Final = "https://consentline.example.com"
# Body limit of the test app: fuzzed bodies may go over it (answered 413).
MAX_BODY: Final = 64 * 1024

Fields = dict[str, str]
Signed = tuple[WebhookRequest, dict[str, str]]


def _form(name: str, fields: Fields, names: dict[str, str], drop: tuple[str, ...] = ()) -> bytes:
    params = dict(httpx.QueryParams(payload(name).decode()).multi_items())
    for key in drop:
        params.pop(key, None)
    for field, value in fields.items():
        if field in names:
            params[names[field]] = value
    return urlencode(params).encode()


def _json(name: str, fields: Fields, place: Callable[[Any, Fields], None]) -> bytes:
    data = json.loads(payload(name))
    place(data, fields)
    # ensure_ascii: a lone surrogate travels as a \ud800 escape, as a JSON sender sends it
    return json.dumps(data, ensure_ascii=True).encode()


def _set(target: dict[str, Any], fields: Fields, names: dict[str, str]) -> None:
    for field, value in fields.items():
        if field in names:
            target[names[field]] = value


def _sinch(data: Any, fields: Fields) -> None:
    _set(
        data,
        fields,
        {"text": "body", "id": "id", "from": "from", "to": "to", "time": "received_at"},
    )


def _messagemedia(data: Any, fields: Fields) -> None:
    names = {
        "text": "content",
        "id": "reply_id",
        "from": "source_number",
        "to": "destination_number",
        "time": "date_received",
    }
    _set(data, fields, names)


def _vonage_messages(data: Any, fields: Fields) -> None:
    _set(
        data,
        fields,
        {"text": "text", "id": "message_uuid", "from": "from", "to": "to", "time": "timestamp"},
    )
    data.get("sms", {}).pop("keyword", None)  # a hint would suppress our confirmation


def _telnyx(data: Any, fields: Fields) -> None:
    body = data["data"]["payload"]
    body.pop("autoresponse_type", None)
    _set(body, fields, {"text": "text", "id": "id", "time": "received_at"})
    if "from" in fields:
        body["from"]["phone_number"] = fields["from"]
    if "to" in fields:
        body["to"][0]["phone_number"] = fields["to"]


def _bandwidth(data: Any, fields: Fields) -> None:
    event = data[0]
    message = event["message"]
    _set(message, fields, {"text": "text", "id": "id", "from": "from"})
    _set(event, fields, {"time": "time"})
    if "to" in fields:
        event["to"] = fields["to"]
        message["to"] = [fields["to"]]
        message["owner"] = fields["to"]


_TWILIO = {"text": "Body", "id": "MessageSid", "from": "From", "to": "To"}
_VONAGE = {
    "text": "text",
    "id": "messageId",
    "from": "msisdn",
    "to": "to",
    "time": "message-timestamp",
}
_PLIVO = {"text": "Text", "id": "MessageUUID", "from": "From", "to": "To"}

# provider -> (signer, recorded payload, body builder)
BUILDERS: Final[dict[str, tuple[Callable[[str], Signed], str, Callable[[str, Fields], bytes]]]] = {
    "twilio": (
        signers.twilio,
        "twilio_stop.txt",
        lambda n, f: _form(n, f, _TWILIO, ("OptOutType", "SmsMessageSid", "SmsSid")),
    ),
    "sinch": (signers.sinch, "sinch_stop.json", lambda n, f: _json(n, f, _sinch)),
    "messagemedia": (
        signers.messagemedia,
        "messagemedia_stop.json",
        lambda n, f: _json(n, f, _messagemedia),
    ),
    "vonage": (signers.vonage, "vonage_stop.txt", lambda n, f: _form(n, f, _VONAGE, ("keyword",))),
    "vonage_messages": (
        signers.vonage_jwt,
        "vonage_messages_stop.json",
        lambda n, f: _json(n, f, _vonage_messages),
    ),
    "plivo": (
        signers.plivo_v3,
        "plivo_stop.txt",
        lambda n, f: _form(n, f, _PLIVO, ("MessageIntent",)),
    ),
    "telnyx": (signers.telnyx, "telnyx_stop.json", lambda n, f: _json(n, f, _telnyx)),
    "bandwidth": (signers.bandwidth, "bandwidth_stop.json", lambda n, f: _json(n, f, _bandwidth)),
}
PROVIDERS: Final = tuple(BUILDERS)


def _telnyx_status(data: Any, fields: Fields) -> None:
    body = data["data"]["payload"]
    _set(body, fields, {"id": "id"})
    _set(body["to"][0], fields, {"status": "status", "to": "phone_number"})
    if "from" in fields:
        body["from"]["phone_number"] = fields["from"]


def _bandwidth_status(data: Any, fields: Fields) -> None:
    del data[1:]  # the recorded callback carries three events; one is enough here
    event = data[0]
    message = event["message"]
    _set(message, fields, {"id": "id"})
    _set(event, fields, {"status": "description"})
    if "to" in fields:
        event["to"] = fields["to"]
        message["to"] = [fields["to"]]
    if "from" in fields:
        message["from"] = message["owner"] = fields["from"]


# Status callbacks saying the recipient opted out (C19): ``to`` is the recipient and
# ``from`` our line, as in the providers' receipts.
_TWILIO_STATUS = {"id": "MessageSid", "status": "MessageStatus", "to": "To", "from": "From"}
_VONAGE_STATUS = {"id": "messageId", "status": "status", "to": "msisdn", "from": "to"}
_PLIVO_STATUS = {"id": "MessageUUID", "status": "Status", "to": "To", "from": "From"}
STATUS_BUILDERS: Final[
    dict[str, tuple[Callable[[str], Signed], str, Callable[[str, Fields], bytes]]]
] = {
    "twilio": (
        signers.twilio,
        "twilio_status_optout.txt",
        lambda n, f: _form(n, f, _TWILIO_STATUS, ("SmsSid", "SmsStatus")),
    ),
    "vonage": (
        signers.vonage,
        "vonage_status_optout.txt",
        lambda n, f: _form(n, f, _VONAGE_STATUS),
    ),
    "plivo": (
        signers.plivo_v3,
        "plivo_status_optout.txt",
        lambda n, f: _form(n, f, _PLIVO_STATUS, ("ParentMessageUUID",)),
    ),
    "telnyx": (
        signers.telnyx,
        "telnyx_status_optout.json",
        lambda n, f: _json(n, f, _telnyx_status),
    ),
    "bandwidth": (
        signers.bandwidth,
        "bandwidth_status_optout.json",
        lambda n, f: _json(n, f, _bandwidth_status),
    ),
}
# Providers whose body is JSON: a lone surrogate can travel in it (as an escape).
JSON_PROVIDERS: Final = frozenset(
    {"sinch", "messagemedia", "vonage_messages", "telnyx", "bandwidth"}
)


def adapter(provider: str) -> str:
    """The webhook name (both Vonage APIs post to ``/webhooks/vonage``)."""
    return "vonage" if provider == "vonage_messages" else provider


@contextmanager
def _payload_of(body: bytes) -> Iterator[None]:
    """Make the signers sign ``body`` instead of a recorded payload."""
    original = signers.payload
    signers.payload = lambda _name: body
    try:
        yield
    finally:
        signers.payload = original


def build(provider: str, fields: Fields, *, status: bool = False) -> Signed:
    """A webhook from ``provider`` carrying ``fields``, signed by the provider's signer.

    ``fields`` may name ``text``, ``id``, ``from``, ``to`` and ``time`` (the
    provider's receive timestamp, where its format has one); the others keep the
    recorded payload's values. With ``status``, an opted-out status callback:
    ``id``, ``status``, ``to`` (the recipient) and ``from`` (our line).
    """
    signer, name, body_of = (STATUS_BUILDERS if status else BUILDERS)[provider]
    body = body_of(name, fields)
    with _payload_of(body):
        return signer(name)


def credentials(provider: str) -> dict[str, str]:
    return build(provider, {})[1]


@dataclass
class Hooks:
    """An app on a database with a line and every provider configured."""

    cl: Consentline
    app: Any

    def send_all(self, requests: list[WebhookRequest]) -> list[httpx.Response]:
        """All at once: they are in flight together, so the batcher groups them."""

        async def send(http: httpx.AsyncClient, request: WebhookRequest) -> httpx.Response:
            parts = urlsplit(request.url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            return await http.request(
                request.method, target, headers=dict(request.headers), content=request.body
            )

        async def send_together() -> list[httpx.Response]:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
                return list(await asyncio.gather(*(send(http, r) for r in requests)))

        return asyncio.run(send_together())

    def denied(self, number: str) -> bool:
        """Does the send gate refuse ``number`` because it opted out (not merely for
        want of consent, which every fresh number lacks)?"""
        decision = self.cl.check(number, from_=LINE, purpose="marketing")
        return not decision.allowed and decision.reason == "opted_out"

    def inbound_ids(self, provider: str, among: list[str]) -> set[str]:
        """Which of the message ids ``among`` are stored for ``provider``."""
        wanted = [i for i in among if i and is_storable(i)]
        if not wanted:
            return set()
        im = sa.table("inbound_messages", sa.column("provider"), sa.column("message_id"))
        query = sa.select(im.c.message_id).where(
            im.c.provider == adapter(provider), im.c.message_id.in_(wanted)
        )
        with self.cl.engine.connect() as conn:
            return {str(r[0]) for r in conn.execute(query)}


def open_hooks(url: str) -> tuple[Hooks, Callable[[], None]]:
    """An app on ``url`` (already empty); returns the hooks and a closer."""
    clock = Clock(NOW)
    cl = consentline.connect(url, clock=clock, cache_seconds=0.0)
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    store = cl.provider_credentials(clock)
    account = cl.directory().account("acme").id
    for provider in PROVIDERS:
        if provider != "vonage_messages":  # the same credentials serve both Vonage APIs
            store.put(account_id=account, provider=adapter(provider), fields=credentials(provider))
    settings = Settings(max_body=MAX_BODY, max_bulk_body=1024 * 1024, public_url=PUBLIC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = create_app(cl, settings)
    return Hooks(cl, app), cl.close


class Handsets:
    """Fresh, valid US handset numbers (one per valid STOP, so each can be checked)."""

    def __init__(self) -> None:
        self._next = 0

    def __call__(self) -> str:
        self._next += 1
        assert self._next < 10_000
        return f"+1415555{self._next:04d}"
