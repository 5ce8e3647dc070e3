"""NUL bytes and lone surrogates over HTTP, on SQLite and PostgreSQL (issue 8 #2).

``Body=STOP%00`` was a 500 on PostgreSQL and the number stayed sendable; now a STOP
with a stray character is recorded on both databases, and only what cannot be
stored — identifiers: a message id, an idempotency key, an AccountSid — is refused
with a typed 4xx. The JSON API itself refuses lone surrogates (not Unicode text).
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest

import consentline
from consentline import Consentline
from consentline.domain.evidence import exact_text
from consentline.http import create_app
from consentline.settings import Settings
from tests.conftest import Clock
from tests.http import _signed

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LINE = _signed.LINE
HANDSET = "+14155550101"
SID = "AC" + "f0" * 16


@dataclass
class Api:
    http: TestClient
    cl: Consentline
    key: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}

    def post_json(self, path: str, body: dict[str, object]) -> object:
        # json.dumps, not httpx's encoder: NUL and surrogates travel as \u escapes
        return self.http.post(path, content=json.dumps(body).encode(), headers=self.headers())

    def denied(self, number: str) -> bool:
        decision = self.cl.check(number, from_=LINE, purpose="marketing")
        return not decision.allowed and decision.reason == "opted_out"


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    clock = Clock(_signed.NOW)
    cl = consentline.connect(db_url, clock=clock, cache_seconds=0.0)
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    account = cl.directory().account("acme").id
    cl.provider_credentials(clock).put(
        account_id=account, provider="twilio", fields=_signed.credentials("twilio")
    )
    keys = cl.api_keys(clock)
    raw, _ = keys.create(account_id=account, role="write")
    settings = Settings(public_url=_signed.PUBLIC)
    try:
        with TestClient(create_app(cl, settings, keys=keys)) as http:
            yield Api(http, cl, raw)
    finally:
        cl.close()


def send(api: Api, fields: dict[str, str]) -> object:
    request, _ = _signed.build("twilio", fields)
    return api.http.post(
        "/webhooks/twilio?line=main", headers=dict(request.headers), content=request.body
    )


def test_a_twilio_stop_with_a_nul_is_recorded(api: Api) -> None:
    answer = send(api, {"text": "STOP\x00", "from": HANDSET, "id": "SM1", "to": LINE})
    assert answer.status_code == 200, answer.text
    assert api.denied(HANDSET)
    [event] = api.cl.history(HANDSET, account="acme")
    assert exact_text(event.proof) == "STOP\x00"


def test_a_twilio_message_sid_with_a_nul_is_refused(api: Api) -> None:
    answer = send(api, {"text": "STOP", "from": HANDSET, "id": "SM\x001", "to": LINE})
    assert answer.status_code == 422
    assert answer.json()["field"] == "message_id"


def test_the_generic_inbound_route_records_a_nul_and_refuses_bad_ids(api: Api) -> None:
    ok = api.post_json("/v1/inbound", {"from": HANDSET, "to": LINE, "text": "STOP\x00"})
    assert ok.status_code == 200 and api.denied(HANDSET)
    assert ok.json()["events"][0]["proof"]["text_escaped"] == json.dumps("STOP\x00")
    bad = {"from": "+14155550102", "to": LINE, "text": "STOP", "message_id": "m\x00"}
    assert api.post_json("/v1/inbound", bad).status_code == 422
    surrogate = {"from": "+14155550102", "to": LINE, "text": "STOP\ud800"}
    assert api.post_json("/v1/inbound", surrogate).status_code == 422  # not Unicode text


@pytest.mark.parametrize("key", ["k\x00", "k\ud800"])
def test_an_idempotency_key_that_cannot_be_stored_is_422(api: Api, key: str) -> None:
    body = {
        "address": HANDSET,
        "action": "opt_out",
        "via": LINE,
        "source": "keyword",
        "idempotency_key": key,
    }
    answer = api.post_json("/v1/consents", body)
    assert answer.status_code == 422, answer.text
    assert api.cl.history(HANDSET, account="acme") == []


def test_an_account_sid_with_a_nul_is_a_4xx(api: Api) -> None:
    sid = SID[:10] + "\x00" + SID[11:]
    basic = base64.b64encode(f"{sid}:{api.key}".encode()).decode()
    answer = api.http.post(
        f"/2010-04-01/Accounts/{quote(sid)}/Messages.json",
        content=f"To={quote(HANDSET)}&From={quote(LINE)}&Body=hi".encode(),
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert 400 <= answer.status_code < 500, answer.text
