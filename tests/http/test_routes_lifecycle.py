"""``POST /v1/addresses/{old}/change-number``: write role, the caller's subtree only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import ACME_LINE, SHOP_LINE, Api, X

NEW = "+14155550199"


@pytest.fixture
def url(db_url: str) -> str:  # on SQLite and PostgreSQL
    return db_url


def _change(api: Api, key: str, old: str = X, **body: Any) -> Any:
    return api.http.post(
        f"/v1/addresses/{old}/change-number", json={"new": NEW, **body}, headers=api.key(key)
    )


def test_a_change_lapses_the_opt_ins_of_the_old_number(api: Api) -> None:
    given = api.consent("acme_write").json()
    response = _change(api, "acme_write")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["old"], body["new"], body["replayed"]) == (X, NEW, 0)
    (lapse,) = body["lapsed"]
    assert (lapse["action"], lapse["source"]) == ("lapse", "number_change")
    assert lapse["proof"] == {"changed_to": NEW, "lapsed_event": given["id"]}
    assert not api.cl.check(X, from_=ACME_LINE, purpose="marketing").allowed
    again = _change(api, "acme_write")
    assert (again.status_code, again.json()["lapsed"]) == (200, [])


def test_a_key_only_lapses_its_own_subtree(api: Api) -> None:
    api.consent("acme_write")  # at acme, above shop
    api.consent("shop_write", account="shop")
    body = _change(api, "shop_write").json()
    assert [e["scope"] for e in body["lapsed"]] == ["A2"]
    assert api.cl.check(X, from_=ACME_LINE, purpose="marketing").allowed
    assert not api.cl.check(X, from_=SHOP_LINE, purpose="marketing").allowed


@pytest.mark.parametrize(
    ("key", "old", "body", "status", "code"),
    [
        ("acme_read", X, {}, 403, "forbidden"),
        ("shop_write", X, {"account": "acme"}, 404, "unknown_account"),
        ("globex_write", X, {"account": "acme"}, 404, "unknown_account"),
        ("admin", X, {}, 422, "invalid_input"),  # an installation key must name the account
        ("acme_write", "not-a-number", {}, 422, "invalid_address"),
        ("acme_write", X, {"new": "12"}, 422, "invalid_address"),
        ("acme_write", X, {"new": X}, 422, "invalid_input"),
        ("acme_write", X, {"channel": "email"}, 422, "invalid_input"),
        ("acme_write", X, {"channel": "pigeon"}, 422, "invalid_channel"),
        ("acme_write", X, {"surprise": 1}, 422, "invalid_input"),
    ],
)
def test_bad_requests_answer_4xx_json_and_write_nothing(
    api: Api, key: str, old: str, body: dict[str, Any], status: int, code: str
) -> None:
    api.consent("acme_write")
    response = _change(api, key, old, **body)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert X not in response.text and NEW not in response.text  # errors mask numbers
    assert api.cl.check(X, from_=ACME_LINE, purpose="marketing").allowed


def test_an_admin_key_names_the_account(api: Api) -> None:
    api.consent("acme_write")
    response = _change(api, "admin", account="acme")
    assert (response.status_code, len(response.json()["lapsed"])) == (200, 1)
