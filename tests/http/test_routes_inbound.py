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


# -- a message relayed by a sub-account key cannot lift its parent's opt-out ------------
def _allowed(api: Api, line: str) -> bool:
    params = {"to": X, "from": line, "purpose": "marketing"}
    answer = api.http.get("/v1/check", params=params, headers=api.key("acme_read"))
    assert answer.status_code == 200
    allowed: bool = answer.json()["allowed"]
    return allowed


def _relay(api: Api, key: str, line: str, text: str, message_id: str) -> dict[str, object]:
    body = {"from": X, "to": line, "text": text, "message_id": message_id}
    response = api.http.post("/v1/inbound", json=body, headers=api.key(key))
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_a_start_relayed_by_a_sub_account_key_stays_in_its_subtree(api: Api) -> None:
    assert api.consent("acme_write").status_code == 201  # opted in at account acme
    _relay(api, "acme_write", ACME_LINE, "STOP", "m-stop")  # reach tree: all of acme
    assert not _allowed(api, ACME_LINE) and not _allowed(api, SHOP_LINE)

    result = _relay(api, "shop_write", SHOP_LINE, "START", "m-start")
    events = result["events"]
    assert isinstance(events, list)
    assert [(e["action"], e["where"]) for e in events] == [("resume", "account shop")]
    assert _allowed(api, SHOP_LINE)  # as the handset's START does on shop's own lines
    assert not _allowed(api, ACME_LINE)  # the parent's line stays opted out


def test_a_yes_relayed_by_a_sub_account_key_cannot_confirm_the_parents_request(
    api: Api,
) -> None:
    pending = api.consent("acme_write", action="pending")  # double opt-in asked at acme
    assert pending.status_code == 201
    result = _relay(api, "shop_write", SHOP_LINE, "YES", "m-yes")
    assert result["events"] == []  # the request above the key is not the key's to confirm
    assert not _allowed(api, ACME_LINE) and not _allowed(api, SHOP_LINE)
    own = _relay(api, "acme_write", ACME_LINE, "YES", "m-yes-acme")
    events = own["events"]
    assert isinstance(events, list)
    assert [e["action"] for e in events] == ["opt_in"]  # the parent's key can
    assert _allowed(api, ACME_LINE)


def test_a_stop_relayed_by_a_sub_account_key_still_reaches_the_parent(api: Api) -> None:
    assert api.consent("acme_write").status_code == 201
    result = _relay(api, "shop_write", SHOP_LINE, "STOP", "m-stop")
    events = result["events"]
    assert isinstance(events, list)
    assert [(e["action"], e["where"]) for e in events] == [("opt_out", "account acme")]
    assert not _allowed(api, ACME_LINE)
