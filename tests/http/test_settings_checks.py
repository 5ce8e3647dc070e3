"""Over HTTP, a default region or a sender id that can never work is a 422 naming it."""

from __future__ import annotations

from tests.http.conftest import Api


def test_an_unknown_default_region_is_422(api: Api) -> None:
    response = api.http.post(
        "/v1/accounts", json={"slug": "initech", "default_region": "ZZ"}, headers=api.key("admin")
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["code"], body["default_region"]) == ("invalid_config", "ZZ")
    assert "region" in body["message"]
    assert not api.cl.directory().has_account("initech")


def test_a_sender_id_over_eleven_characters_is_422(api: Api) -> None:
    admin = api.key("acme_admin")
    body = {"number": "hello world this is long", "account": "shop"}
    response = api.http.post("/v1/lines", json=body, headers=admin)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["code"] == "invalid_input" and "11" in answer["message"]
    fits = {"number": "Hello World", "account": "shop"}
    ok = api.http.post("/v1/lines", json=fits, headers=admin)
    assert ok.status_code == 201, ok.text
