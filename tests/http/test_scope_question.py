"""The scope question over HTTP (C17, C28): set with ``PUT /v1/accounts/{slug}/scope-question``,
asked in the TwiML answer to a signed Twilio STOP, answered by a signed Twilio reply,
and shown in the number's history."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from twilio.request_validator import RequestValidator

from consentline.settings import Settings
from tests.conftest import Clock
from tests.http.conftest import ACME_LINE, Api
from tests.providers._support import FORM, post
from tests.providers.signers import TWILIO_TOKEN, TWILIO_URL

HANDSET = "+14155550101"
SETTING = {
    "enabled": True,
    "categories": [
        {"code": "1", "purpose": "transactional", "label": "order updates"},
        {"code": "2", "purpose": "marketing", "label": "offers"},
    ],
}


@pytest.fixture
def settings() -> Settings:
    """The public URL the Twilio signatures are computed on."""
    return Settings(max_body=64 * 1024, max_bulk_body=1024 * 1024, public_url=_public())


def _public() -> str:
    parts = urlsplit(TWILIO_URL)
    return f"{parts.scheme}://{parts.netloc}"


def twilio(api: Api, text: str, sid: str) -> httpx.Response:
    """A message from the handset to ACME_LINE, signed as Twilio signs it."""
    fields = {
        "MessageSid": sid,
        "AccountSid": "AC" + "f0" * 16,
        "From": HANDSET,
        "To": ACME_LINE,
        "Body": text,
        "NumMedia": "0",
    }
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(TWILIO_URL, fields)
    request = post(TWILIO_URL, urlencode(fields).encode(), FORM, x_twilio_signature=signature)
    parts = urlsplit(request.url)
    return api.http.post(
        f"{parts.path}?{parts.query}", headers=dict(request.headers), content=request.body
    )


def put(api: Api, body: Any, key: str = "admin", slug: str = "acme") -> httpx.Response:
    return api.http.put(f"/v1/accounts/{slug}/scope-question", json=body, headers=api.key(key))


def test_a_twilio_stop_asks_and_a_twilio_reply_answers_end_to_end(api: Api, clock: Clock) -> None:
    acme = api.cl.directory().account("acme").id
    api.cl.provider_credentials(clock).put(
        account_id=acme,
        provider="twilio",
        fields={"account_sid": "AC" + "f0" * 16, "auth_token": TWILIO_TOKEN},
    )
    api.consent("admin", address=HANDSET)  # a marketing opt-in at acme
    set_up = put(api, SETTING)
    assert set_up.status_code == 200, set_up.text
    assert set_up.json()["scope_question"]["categories"][0]["code"] == "1"

    stop = twilio(api, "STOP", "SMstop1")
    assert stop.status_code == 200 and stop.headers["content-type"].startswith("text/xml")
    assert "reply 1 for order updates, 2 for offers" in stop.text  # one message (C17)

    clock.advance(hours=2)
    answer = twilio(api, "2", "SManswer1")
    assert answer.status_code == 200 and "<Message>" not in answer.text  # no second text
    again = twilio(api, "2", "SManswer1")  # Twilio retries: nothing new
    assert again.status_code == 200

    check = {"to": HANDSET, "from": ACME_LINE}
    allowed = {
        purpose: api.http.get(
            "/v1/check", params={**check, "purpose": purpose}, headers=api.key("admin")
        ).json()["reason"]
        for purpose in ("marketing", "transactional")
    }
    assert allowed == {"marketing": "opted_in", "transactional": "opted_out"}

    history = api.http.get(
        f"/v1/addresses/{HANDSET.replace('+', '%2B')}/history", headers=api.key("acme_read")
    ).json()
    assert [(e["action"], e["source"]) for e in history["events"]] == [
        ("opt_in", "web_form"),
        ("opt_out", "keyword"),
        ("opt_in", "scope_answer"),
    ]
    restored = history["events"][2]
    (question,) = history["scope_questions"]
    assert question["status"] == "answered" and question["reply"]["status"] == "sent"
    assert question["revocation"]["event"] == history["events"][1]["id"]
    assert question["answer"]["text"] == "2" and question["answer"]["message_id"] == "SManswer1"
    assert question["answer"]["events"] == [restored["id"]]
    assert restored["proof"]["scope_answer"]["question"] == question["id"]
    assert restored["proof"]["scope_answer"]["question_text"] == question["text"]
    # another tenant's key sees none of it
    other = api.http.get(
        f"/v1/addresses/{HANDSET.replace('+', '%2B')}/history", headers=api.key("globex_read")
    ).json()
    assert other == {"events": [], "scope_questions": []}


def test_the_setting_is_read_back_inherited_by_a_sub_account(api: Api) -> None:
    assert put(api, SETTING).status_code == 200
    found = api.http.get("/v1/accounts/shop/scope-question", headers=api.key("shop_admin"))
    assert found.status_code == 200
    assert found.json()["inherited"] is True and found.json()["scope_question"]["enabled"]
    off = put(api, {"enabled": False}, key="shop_admin", slug="shop").json()
    assert off["inherited"] is False and off["scope_question"]["enabled"] is False


def category(**over: str) -> dict[str, Any]:
    return {**SETTING, "categories": [{"code": "1", "purpose": "marketing", "label": "x", **over}]}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (category(purpose="loyalty"), "invalid_config"),  # not a purpose of the tenant
        (category(code="STOP"), "invalid_config"),  # reads as a keyword
        (category(label="free stuff"), "invalid_config"),  # C17: never promotional
        ({**SETTING, "wording": {"en": "Reply {choices} at www.acme.example"}}, "invalid_config"),
        ({**SETTING, "window_hours": 100}, "invalid_config"),
        ({"enabled": True}, "invalid_config"),  # on, with nothing to offer
        ({**SETTING, "colour": "red"}, "invalid_input"),
        (category(code="123456789"), "invalid_input"),
        ({**SETTING, "window_hours": "soon"}, "invalid_input"),
    ],
)
def test_a_bad_setting_is_a_422_with_a_code_and_nothing_is_saved(
    api: Api, body: Any, code: str
) -> None:
    answer = put(api, body)
    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    found = api.http.get("/v1/accounts/acme/scope-question", headers=api.key("admin")).json()
    assert found["scope_question"] is None


def test_only_an_admin_of_the_account_may_set_it(api: Api) -> None:
    assert put(api, SETTING, key="acme_write").status_code == 403
    assert put(api, SETTING, key="shop_admin").status_code == 404  # acme is above shop
    assert put(api, SETTING, key="globex_admin").status_code == 404
