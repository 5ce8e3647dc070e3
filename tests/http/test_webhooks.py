"""``/webhooks/{provider}``: recorded payloads signed by each provider's own SDK.

acme (root, US) ── shop: the lines live on ``shop``, the credentials on ``acme``
(inherited down the tree). The public URL the signers use is configured, as behind a
proxy, unless a test says otherwise.
"""

from __future__ import annotations

import base64
import logging
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

import consentline
from consentline import Consentline
from consentline.http import create_app
from consentline.providers import WebhookRequest
from consentline.services.credentials import ProviderCredentials
from consentline.settings import Settings
from tests.conftest import Clock
from tests.providers import signers
from tests.providers._support import FORM, NOW, form, payload, tampered, without

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LINE = "+18005550100"
AU_LINE = "+61491570156"
HANDSET = "+14155550101"
AU_HANDSET = "+61491570157"
PUBLIC = "https://consentline.example.com"
PROVIDERS = ["twilio", "sinch", "messagemedia", "vonage", "plivo", "telnyx", "bandwidth"]

Signed = tuple[WebhookRequest, dict[str, str]]

# Recorded STOPs, with the provider's own opt-out verdict removed where it has one
# (a hint means the provider already answered, so ours would be suppressed).
STOPS: dict[str, tuple[str, Callable[[str], Signed], Callable[[bytes], bytes]]] = {
    "twilio": ("twilio_stop.txt", signers.twilio, lambda b: b.replace(b"&OptOutType=STOP", b"")),
    "sinch": ("sinch_stop.json", signers.sinch, lambda b: b),
    "messagemedia": ("messagemedia_stop.json", signers.messagemedia, lambda b: b),
    "vonage": (
        "vonage_stop.txt",
        signers.vonage,
        lambda b: b.replace(b"text=Stop+please", b"text=STOP").replace(b"&keyword=STOP", b""),
    ),
    "plivo": (
        "plivo_stop.txt",
        signers.plivo_v3,
        lambda b: b.replace(b"&MessageIntent=optout", b""),
    ),
    "telnyx": (
        "telnyx_stop.json",
        signers.telnyx,
        lambda b: b.replace(b'"autoresponse_type":"stop",', b""),
    ),
    "bandwidth": ("bandwidth_stop.json", signers.bandwidth, lambda b: b),
}
STATUSES: dict[str, tuple[str, Callable[[str], Signed], str]] = {
    "twilio": ("twilio_status_optout.txt", signers.twilio, "21610"),
    "vonage": ("vonage_status_optout.txt", signers.vonage, "9"),
    "plivo": ("plivo_status_optout.txt", signers.plivo_v3, "200"),
    "telnyx": ("telnyx_status_optout.json", signers.telnyx, "40300"),
    "bandwidth": ("bandwidth_status_optout.json", signers.bandwidth, "4775"),
}
SIGNATURE_HEADER = {"bandwidth": "authorization"}


@dataclass
class Hooks:
    http: TestClient
    cl: Consentline
    credentials: ProviderCredentials
    clock: Clock

    def configure(self, provider: str, fields: dict[str, Any], account: str = "acme") -> None:
        account_id = self.cl.directory().account(account).id
        self.credentials.put(account_id=account_id, provider=provider, fields=fields)

    def send(self, request: WebhookRequest) -> httpx.Response:
        parts = urlsplit(request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.http.request(
            request.method, target, headers=dict(request.headers), content=request.body
        )

    def count(self, table: str) -> int:
        with self.cl.engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())

    def stored(self) -> dict[str, int]:
        return {t: self.count(t) for t in ("events", "inbound_messages", "outbox")}


def make_hooks(url: str, public_url: str | None) -> Iterator[Hooks]:
    clock = Clock(NOW)
    cl = consentline.connect(url, clock=clock, cache_seconds=0.0)
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    cl.create_account("globex", default_region="US")
    cl.add_line(LINE, account="shop")
    cl.add_line(AU_LINE, account="shop")
    settings = Settings(max_body=64 * 1024, max_bulk_body=1024 * 1024, public_url=public_url)
    app = create_app(cl, settings)
    hooks = Hooks(TestClient(app), cl, cl.provider_credentials(clock), clock)
    try:
        with hooks.http:
            yield hooks
    finally:
        cl.close()


@pytest.fixture
def hooks(tmp_path: object) -> Iterator[Hooks]:
    yield from make_hooks(f"sqlite:///{tmp_path}/hooks.db", PUBLIC)


@pytest.fixture
def db_hooks(db_url: str) -> Iterator[Hooks]:
    yield from make_hooks(db_url, PUBLIC)


def stop(provider: str, monkeypatch: pytest.MonkeyPatch) -> Signed:
    """The provider's STOP without its own opt-out hint, signed by its SDK."""
    name, builder, change = STOPS[provider]
    original = payload
    monkeypatch.setattr(signers, "payload", lambda n: change(original(n)))
    try:
        return builder(name)
    finally:
        monkeypatch.setattr(signers, "payload", original)


def handset(provider: str) -> str:
    return AU_HANDSET if provider == "messagemedia" else HANDSET


def bad_twin(provider: str, request: WebhookRequest) -> WebhookRequest:
    if provider in SIGNATURE_HEADER:  # Basic auth covers no body: drop the credentials
        return without(request, SIGNATURE_HEADER[provider])
    return tampered(request)


# -- the STOP round trip, on every provider and both databases --------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_signed_stop_is_an_opt_out_answered_natively(
    db_hooks: Hooks, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    request, credentials = stop(provider, monkeypatch)
    db_hooks.configure(provider, credentials)
    response = db_hooks.send(request)
    assert response.status_code in (200, 204), response.text

    history = db_hooks.cl.history(handset(provider), account="acme")
    assert [e.action for e in history] == ["opt_out"]
    replies = db_hooks.cl.outbox()
    assert len(replies) == 1 and replies[0].kind == "opt_out_confirmation"
    if provider in ("twilio", "plivo"):
        assert response.headers["content-type"].startswith(("text/xml", "application/xml"))
        assert replies[0].body in response.text or _xml(replies[0].body) in response.text
        assert replies[0].status == "sent"
    else:
        assert replies[0].status == "pending"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_signature_is_403_and_stores_nothing(
    db_hooks: Hooks, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    request, credentials = stop(provider, monkeypatch)
    db_hooks.configure(provider, credentials)
    response = db_hooks.send(bad_twin(provider, request))
    assert response.status_code == 403
    assert response.json()["code"] == "signature_invalid"
    assert db_hooks.stored() == {"events": 0, "inbound_messages": 0, "outbox": 0}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_retry_answers_the_same_and_records_nothing_new(
    hooks: Hooks, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    request, credentials = stop(provider, monkeypatch)
    hooks.configure(provider, credentials)
    first = hooks.send(request)
    again = hooks.send(request)
    assert first.status_code == again.status_code
    assert first.content == again.content
    assert hooks.stored() == {"events": 1, "inbound_messages": 1, "outbox": 1}


# -- status callbacks ------------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(STATUSES))
def test_opted_out_status_is_a_provider_signal_opt_out(hooks: Hooks, provider: str) -> None:
    name, builder, code = STATUSES[provider]
    request, credentials = builder(name)
    hooks.configure(provider, credentials)
    response = hooks.send(request)
    assert 200 <= response.status_code < 300, response.text
    assert hooks.send(request).status_code == response.status_code
    history = hooks.cl.history(HANDSET, account="acme")
    assert [(e.action, e.source) for e in history] == [("opt_out", "provider_signal")]
    event = history[0]
    assert event.proof["provider"] == provider and event.proof["error_code"] == code
    assert event.idempotency_key == f"{provider}:status:{event.proof['message_id']}"
    assert hooks.count("outbox") == 0
    # the delivered half of Bandwidth's batch is not an opt-out
    assert hooks.cl.history("+14155550102", account="acme") == []


@pytest.mark.parametrize(
    ("provider", "name", "builder"),
    [
        ("sinch", "sinch_status_optout.json", signers.sinch),
        ("sinch", "sinch_batch_report.json", signers.sinch),
        ("messagemedia", "messagemedia_status.json", signers.messagemedia),
    ],
)
def test_receipt_without_our_number_records_nothing_and_says_why(
    hooks: Hooks, provider: str, name: str, builder: Callable[[str], Signed]
) -> None:
    request, credentials = builder(name)
    hooks.configure(provider, credentials)
    response = hooks.send(request)
    assert response.status_code == 200
    assert response.json()["recorded"] == 0 and "cannot be tied" in response.json()["reason"]
    assert hooks.stored() == {"events": 0, "inbound_messages": 0, "outbox": 0}


# -- hints, lines, credentials, URLs, payloads -----------------------------------------


def test_twilio_opt_out_hint_is_passed_through_and_our_reply_suppressed(hooks: Hooks) -> None:
    request, credentials = signers.twilio("twilio_stop.txt")  # OptOutType=STOP
    hooks.configure("twilio", credentials)
    response = hooks.send(request)
    assert response.status_code == 200
    assert "<Message>" not in response.text
    [event] = hooks.cl.history(HANDSET, account="acme")
    assert event.action == "opt_out" and event.proof["provider_hint"] == "STOP"
    assert hooks.count("outbox") == 0


def test_plain_text_gets_no_reply_and_no_event(hooks: Hooks) -> None:
    request, credentials = signers.twilio("twilio_text.txt")
    hooks.configure("twilio", credentials)
    response = hooks.send(request)
    assert response.status_code == 200 and "<Message>" not in response.text
    assert hooks.count("events") == 0 and hooks.count("inbound_messages") == 1


def _to_another_number(monkeypatch: pytest.MonkeyPatch) -> None:
    original = payload
    monkeypatch.setattr(
        signers, "payload", lambda n: original(n).replace(b"%2B18005550100", b"%2B18005550177")
    )


def test_unknown_line_is_403_and_stores_nothing(
    hooks: Hooks, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _to_another_number(monkeypatch)
    request, credentials = signers.twilio("twilio_stop.txt")
    hooks.configure("twilio", credentials)
    with caplog.at_level(logging.INFO, logger="consentline.webhooks"):
        response = hooks.send(request)
    assert response.status_code == 403
    assert response.json()["code"] == "signature_invalid"
    assert "18005550177" not in response.text
    # the operator still learns the cause; the log names no number (C23)
    assert "unknown_line" in caplog.text and "5550177" not in caplog.text
    assert hooks.stored() == {"events": 0, "inbound_messages": 0, "outbox": 0}


def test_no_credentials_is_403(hooks: Hooks) -> None:
    request, _ = signers.twilio("twilio_stop.txt")
    response = hooks.send(request)
    assert response.status_code == 403
    assert response.json()["code"] == "signature_invalid"
    assert hooks.stored() == {"events": 0, "inbound_messages": 0, "outbox": 0}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_outsider_cannot_tell_a_line_from_a_stranger(
    hooks: Hooks, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No line, no credentials, bad signature: one answer, so numbers cannot be probed."""
    request, credentials = stop(provider, monkeypatch)
    unconfigured = hooks.send(request)  # a line here, no credentials yet
    hooks.configure(provider, credentials)
    forged = hooks.send(bad_twin(provider, request))  # a line here, a bad signature
    with hooks.cl.engine.begin() as conn:  # the numbers stop being lines here
        conn.execute(sa.text("UPDATE lines SET number = 'gone' || id"))
    stranger = hooks.send(request)  # well signed, to a number that is no line
    answers = [
        (r.status_code, r.headers.get("content-type"), r.content)
        for r in (unconfigured, forged, stranger)
    ]
    assert answers[0][0] == 403, answers
    assert answers[0] == answers[1] == answers[2]
    assert hooks.stored() == {"events": 0, "inbound_messages": 0, "outbox": 0}


def test_credentials_of_another_tenant_do_not_apply(hooks: Hooks) -> None:
    request, credentials = signers.twilio("twilio_stop.txt")
    hooks.configure("twilio", credentials, account="globex")
    assert hooks.send(request).status_code == 403


def test_nearest_ancestor_credentials_win(hooks: Hooks) -> None:
    request, credentials = signers.twilio("twilio_stop.txt")
    hooks.configure("twilio", {**credentials, "auth_token": "wrong"}, account="acme")
    other = {**credentials, "account_sid": "AC" + "e0" * 16}
    hooks.configure("twilio", other, account="shop")
    assert hooks.send(request).status_code == 200


def test_request_url_is_signed_when_no_public_url(tmp_path: object) -> None:
    for found in make_hooks(f"sqlite:///{tmp_path}/own.db", None):
        body = payload("twilio_stop.txt")
        url = "http://testserver/webhooks/twilio?line=main"
        params = dict(form(body))
        sig = RequestValidator(signers.TWILIO_TOKEN).compute_signature(url, params)
        found.configure("twilio", {"account_sid": "AC1", "auth_token": signers.TWILIO_TOKEN})
        headers = {"Content-Type": FORM, "X-Twilio-Signature": sig}
        ok = found.send(WebhookRequest.create("POST", url, headers, body))
        assert ok.status_code == 200
        # the same request signed for the public URL does not match the request's own
        public, _ = signers.twilio("twilio_text.txt")
        assert found.send(public).status_code == 403


def test_public_url_is_what_is_verified(hooks: Hooks) -> None:
    body = payload("twilio_stop.txt")
    url = "http://testserver/webhooks/twilio?line=main"
    sig = RequestValidator(signers.TWILIO_TOKEN).compute_signature(url, dict(form(body)))
    hooks.configure("twilio", {"account_sid": "AC1", "auth_token": signers.TWILIO_TOKEN})
    headers = {"Content-Type": FORM, "X-Twilio-Signature": sig}
    response = hooks.send(WebhookRequest.create("POST", url, headers, body))
    assert response.status_code == 403


def test_twilio_get_webhook(hooks: Hooks) -> None:
    request, credentials = signers.twilio_get("twilio_stop.txt")
    hooks.configure("twilio", {**credentials, "account_sid": "AC1"})
    response = hooks.send(request)
    assert response.status_code == 200, response.text
    assert [e.action for e in hooks.cl.history(HANDSET, account="acme")] == ["opt_out"]


def test_malformed_payload_is_422_never_500(hooks: Hooks) -> None:
    hooks.configure("telnyx", {"public_key": base64.b64encode(b"k" * 32).decode()})
    for body in (b"{", b"[]", b'{"data": 1}', b"\xff"):
        response = hooks.http.post(
            "/webhooks/telnyx", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, body
        assert response.json()["code"] == "invalid_payload"


def test_unknown_provider_and_wrong_method(hooks: Hooks) -> None:
    response = hooks.http.post("/webhooks/nope", content=b"")
    assert response.status_code == 404 and response.json()["code"] == "unknown_provider"
    assert hooks.http.get("/webhooks/sinch").status_code == 405


def test_an_unreadable_signed_url_answers_as_a_bad_signature(hooks: Hooks) -> None:
    """Verify cannot read the query (not UTF-8): the same 403 as for a stranger."""
    request, credentials = signers.plivo_v3("plivo_stop.txt")
    hooks.configure("plivo", credentials)
    broken = WebhookRequest(request.method, f"{request.url}&x=%ff", request.headers, request.body)
    response = hooks.send(broken)
    assert (response.status_code, response.json()["code"]) == (403, "signature_invalid")
    assert hooks.stored() == {"events": 0, "inbound_messages": 0, "outbox": 0}
