"""Generic inbound messages over HTTP."""

from __future__ import annotations

from tests.http.conftest import ACME_LINE, SHOP_LINE, Api, X


def test_a_stop_records_an_opt_out_and_queues_the_confirmation(api: Api) -> None:
    body = {"from": X, "to": ACME_LINE, "text": "Stop.", "message_id": "m1"}
    response = api.http.post("/v1/inbound", json=body, headers=api.key("acme_write"))
    assert response.status_code == 200
    result = response.json()
    assert result["classification"]["intent"] == "opt_out"
    assert [e["action"] for e in result["events"]] == ["opt_out"]
    assert result["events"][0]["proof"]["message_id"] == "m1"
    assert result["reply"]["kind"] == "opt_out_confirmation"
    assert (result["duplicate"], result["review_id"]) == (False, None)
    again = api.http.post("/v1/inbound", json=body, headers=api.key("acme_write")).json()
    assert again["duplicate"] is True
    assert [e["id"] for e in again["events"]] == [e["id"] for e in result["events"]]
    assert len(api.cl.history(X, account="acme")) == 1  # the repeat recorded nothing


def test_inbound_is_checked_like_every_route(api: Api) -> None:
    shop = api.key("shop_write")
    parent = api.http.post(
        "/v1/inbound", json={"from": X, "to": ACME_LINE, "text": "STOP"}, headers=shop
    )
    assert (parent.status_code, parent.json()["code"]) == (404, "unknown_line")
    own = api.http.post(
        "/v1/inbound", json={"from": X, "to": SHOP_LINE, "text": "hi"}, headers=shop
    )
    assert own.status_code == 200
    cases = [
        ({"from": "nobody"}, 422, "invalid_address"),
        ({"text": None}, 422, "invalid_input"),
        ({"received_at": "2026-03-02T10:00:00"}, 422, "invalid_input"),
        ({"channel": "fax"}, 422, "invalid_channel"),
    ]
    for change, status, code in cases:
        body = {
            k: v
            for k, v in {"from": X, "to": SHOP_LINE, "text": "STOP", **change}.items()
            if v is not None
        }
        response = api.http.post("/v1/inbound", json=body, headers=shop)
        assert (response.status_code, response.json()["code"]) == (status, code), change
