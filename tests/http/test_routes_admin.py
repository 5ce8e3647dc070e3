"""Accounts, lines and keys over HTTP."""

from __future__ import annotations

from tests.http.conftest import Api


def test_the_installation_admin_creates_a_tenant(api: Api) -> None:
    response = api.http.post(
        "/v1/accounts",
        json={"slug": "initech", "reach": "account", "default_region": "GB"},
        headers=api.key("admin"),
    )
    assert response.status_code == 201
    assert response.json() == {
        "id": response.json()["id"],
        "slug": "initech",
        "parent": None,
        "tenant": "initech",
        "reach": "account",
        "effective_reach": "account",
        "isolated": False,
        "default_region": "GB",
    }


def test_an_account_admin_creates_sub_accounts_but_not_tenants(api: Api) -> None:
    sub = api.http.post(
        "/v1/accounts", json={"slug": "web", "parent": "shop"}, headers=api.key("acme_admin")
    )
    assert sub.status_code == 201
    assert sub.json()["tenant"] == "acme"
    root = api.http.post("/v1/accounts", json={"slug": "mine"}, headers=api.key("acme_admin"))
    assert root.status_code == 403
    assert root.json()["code"] == "forbidden"


def test_account_errors_are_4xx_json(api: Api) -> None:
    admin = api.key("admin")
    cases = [
        ({"slug": "Bad Slug"}, 422, "invalid_slug"),
        ({"slug": "acme"}, 409, "account_exists"),
        ({"slug": "x", "reach": "galaxy"}, 422, "invalid_reach"),
        ({"slug": "x", "parent": "nope"}, 404, "unknown_account"),
        ({"slug": 5}, 422, "invalid_input"),
        ({"slug": "x", "colour": "red"}, 422, "invalid_input"),
    ]
    for body, status, code in cases:
        response = api.http.post("/v1/accounts", json=body, headers=admin)
        assert (response.status_code, response.json()["code"]) == (status, code), body
        assert response.json()["message"]


def test_lines_are_added_normalised_and_refused_twice(api: Api) -> None:
    admin = api.key("acme_admin")
    created = api.http.post(
        "/v1/lines", json={"number": "(800) 555-0170", "account": "shop"}, headers=admin
    )
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "number": "+18005550170",
        "account": "shop",
    }
    again = api.http.post(
        "/v1/lines", json={"number": "+18005550170", "account": "shop"}, headers=admin
    )
    assert (again.status_code, again.json()["code"]) == (409, "line_exists")
    bad = api.http.post("/v1/lines", json={"number": "+1800", "account": "shop"}, headers=admin)
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_address")


def test_a_key_is_shown_once_and_works(api: Api) -> None:
    created = api.http.post(
        "/v1/keys", json={"account": "shop", "role": "write"}, headers=api.key("acme_admin")
    )
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("cl_") and len(body["key"]) >= 40
    assert (body["account"], body["role"], body["revoked_at"]) == ("shop", "write", None)
    assert body["key"].startswith(body["prefix"])
    with api.cl.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT hash FROM api_keys WHERE id = ?", (body["id"],))
        assert stored.scalar_one() != body["key"]  # only the hash is kept
    use = api.http.get("/v1/events", headers={"Authorization": f"Bearer {body['key']}"})
    assert use.status_code == 200


def test_key_errors(api: Api) -> None:
    admin = api.key("acme_admin")
    bad_role = api.http.post("/v1/keys", json={"account": "acme", "role": "god"}, headers=admin)
    assert (bad_role.status_code, bad_role.json()["code"]) == (422, "invalid_input")
    installation = api.http.post("/v1/keys", json={"role": "admin"}, headers=admin)
    assert installation.status_code == 403
    assert (
        api.http.post("/v1/keys", json={"role": "read"}, headers=api.key("admin")).status_code
        == 201
    )


def test_a_revoked_key_stops_working(api: Api) -> None:
    victim = api.named["shop_read"]
    key_id = api.keys.authenticate(victim).id
    revoked = api.http.delete(f"/v1/keys/{key_id}", headers=api.key("acme_admin"))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert (
        api.http.get("/v1/events", headers={"Authorization": f"Bearer {victim}"}).status_code == 401
    )
    missing = api.http.delete("/v1/keys/99999", headers=api.key("acme_admin"))
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
