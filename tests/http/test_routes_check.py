"""The send gate over HTTP: one check, and bulk checks streamed in order."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentline.http.routes_check import _pairs
from tests.http.conftest import ACME_LINE, SHOP_LINE, Api, X, Y

PARAMS = {"to": X, "from": ACME_LINE, "purpose": "marketing"}


def test_a_check_answers_allowed_reason_and_the_deciding_event(api: Api) -> None:
    read = api.key("acme_read")
    before = api.http.get("/v1/check", params=PARAMS, headers=read).json()
    assert before == {"to": X, "allowed": False, "reason": "no_consent", "event": None}
    event = api.consent("acme_write").json()
    after = api.http.get("/v1/check", params=PARAMS, headers=read).json()
    assert (after["allowed"], after["reason"]) == (True, "opted_in")
    assert after["event"]["id"] == event["id"]
    assert after["event"]["where"] == "account acme"


def test_at_asks_about_another_moment(api: Api) -> None:
    api.consent("acme_write")
    params = {**PARAMS, "at": "2026-03-01T00:00:00Z"}
    earlier = api.http.get("/v1/check", params=params, headers=api.key("acme_read")).json()
    assert earlier["reason"] == "no_consent"
    naive = api.http.get(
        "/v1/check", params={**PARAMS, "at": "2026-03-01T00:00:00"}, headers=api.key("acme_read")
    )
    assert (naive.status_code, naive.json()["code"]) == (422, "invalid_time")


def test_check_errors_are_4xx_json(api: Api) -> None:
    read = api.key("acme_read")
    cases = [
        ({"to": "nonsense"}, 422, "invalid_address"),
        ({"purpose": "raffle"}, 404, "unknown_purpose"),
        ({"from": "+18005550177"}, 404, "unknown_line"),
        ({"channel": "fax"}, 422, "invalid_channel"),
        ({"to": None}, 422, "invalid_input"),
        ({"at": "soon"}, 422, "invalid_time"),
        ({"to": "+1" * 200}, 422, "invalid_input"),
        ({"purpose": None}, 422, "invalid_input"),
        ({"from": None}, 422, "invalid_input"),
    ]
    for change, status, code in cases:
        params = {k: v for k, v in {**PARAMS, **change}.items() if v is not None}
        response = api.http.get("/v1/check", params=params, headers=read)
        assert (response.status_code, response.json()["code"]) == (status, code), change


def test_bulk_checks_answer_in_order(api: Api) -> None:
    api.consent("acme_write", address=Y)
    body = {"from": ACME_LINE, "purpose": "marketing", "recipients": [X, Y, "junk", Y]}
    response = api.http.post("/v1/check", json=body, headers=api.key("acme_read"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "results": [
            {"to": X, "allowed": False, "reason": "no_consent"},
            {"to": Y, "allowed": True, "reason": "opted_in"},
            {"to": "junk", "allowed": False, "reason": "invalid_address"},
            {"to": Y, "allowed": True, "reason": "opted_in"},
        ]
    }


def test_a_recipient_holding_a_lone_surrogate_is_an_invalid_address_not_a_500(api: Api) -> None:
    body = {"from": ACME_LINE, "purpose": "marketing", "recipients": ["\ud800", X]}
    raw = json.dumps(body)  # ASCII JSON: the surrogate travels as the escape \\ud800
    headers = {**api.key("acme_read"), "Content-Type": "application/json"}
    response = api.http.post("/v1/check", content=raw, headers=headers)
    assert response.status_code == 200
    assert response.json()["results"] == [
        {"to": "\ufffd", "allowed": False, "reason": "invalid_address"},  # echoed as U+FFFD
        {"to": X, "allowed": False, "reason": "no_consent"},
    ]


def test_a_long_list_streams_valid_json(api: Api) -> None:
    api.consent("acme_write", address="+14155551234")
    recipients = [f"+1415555{i:04d}" for i in range(10_000)]
    body = {"from": SHOP_LINE, "purpose": "marketing", "recipients": recipients}
    response = api.http.post("/v1/check", json=body, headers=api.key("shop_read"))
    results = json.loads(response.content)["results"]
    assert [r["to"] for r in results] == recipients
    assert [r["to"] for r in results if r["allowed"]] == ["+14155551234"]


def test_bulk_errors_come_before_the_stream(api: Api) -> None:
    read = api.key("acme_read")
    empty = api.http.post(
        "/v1/check",
        json={"from": ACME_LINE, "purpose": "marketing", "recipients": []},
        headers=read,
    )
    assert empty.json() == {"results": []}
    cases = [
        ({"purpose": "raffle"}, 404, "unknown_purpose"),
        ({"recipients": "+14155550123"}, 422, "invalid_input"),
        ({"recipients": [1, 2]}, 422, "invalid_input"),
        ({"channel": "fax"}, 422, "invalid_channel"),
    ]
    for change, status, code in cases:
        body = {"from": ACME_LINE, "purpose": "marketing", "recipients": [X], **change}
        response = api.http.post("/v1/check", json=body, headers=read)
        assert (response.status_code, response.json()["code"]) == (status, code), change


def test_the_lean_check_route_is_still_documented_in_openapi(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    operation = spec["paths"]["/v1/check"]["get"]
    names = {p["name"]: p["required"] for p in operation["parameters"]}
    assert names == {
        "to": True,
        "from": True,
        "purpose": True,
        "topic": False,
        "channel": False,
        "at": False,
    }
    assert operation["security"] == [{"HTTPBearer": []}]
    assert "post" in spec["paths"]["/v1/check"]  # the bulk check beside it


def test_a_bearer_scheme_in_any_case_is_accepted_and_others_are_401(api: Api) -> None:
    raw = api.named["acme_read"]
    ok = api.http.get("/v1/check", params=PARAMS, headers={"Authorization": f"bearer {raw}"})
    assert ok.status_code == 200
    basic = api.http.get("/v1/check", params=PARAMS, headers={"Authorization": f"Basic {raw}"})
    assert basic.status_code == 401 and basic.headers["www-authenticate"] == "Bearer"


@given(
    st.lists(
        st.tuples(st.text(max_size=8), st.text(max_size=12)),
        max_size=6,
    )
)
def test_the_hand_read_query_string_means_what_the_standard_parser_reads(
    pairs: list[tuple[str, str]],
) -> None:
    raw = urlencode(pairs).encode()
    expected: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode(), keep_blank_values=True):
        expected.setdefault(name, value)
    assert _pairs(raw) == expected


def test_an_unexpected_failure_in_the_fast_lane_is_the_json_500_without_details(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("+14155550123 leaked?")

    monkeypatch.setattr(api.cl, "check", broken)
    response = api.http.get("/v1/check", params=PARAMS, headers=api.key("acme_read"))
    assert response.status_code == 500
    assert response.json() == {"code": "internal_error", "message": "internal error"}
