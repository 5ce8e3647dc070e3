"""``PUT/GET /v1/accounts/{slug}/providers/{provider}``: admin only, subtree only, no secrets."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from consentline.storage.uow import UnitOfWork
from tests.http.conftest import Api

TOKEN = "tok-0123456789abcdef0123456789abcdef"
SID = "AC" + "ab" * 16
TWILIO = {"account_sid": SID, "auth_token": TOKEN, "upstream_base_url": "https://relay.example"}


def put(
    api: Api, key: str, body: object, slug: str = "acme", name: str = "twilio"
) -> httpx.Response:
    return api.http.put(f"/v1/accounts/{slug}/providers/{name}", json=body, headers=api.key(key))


def test_admin_sets_credentials_and_never_sees_the_secrets(api: Api) -> None:
    response = put(api, "acme_admin", TWILIO)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["account"] == "acme" and body["provider"] == "twilio"
    assert body["fields_set"] == ["account_sid", "auth_token", "upstream_base_url"]
    assert TOKEN not in response.text
    got = api.http.get("/v1/accounts/acme/providers/twilio", headers=api.key("acme_admin"))
    assert got.status_code == 200 and got.json()["configured"] is True
    assert TOKEN not in got.text and SID not in got.text
    stored = api.cl.provider_credentials()
    found = stored.by_external_id("twilio", SID)
    assert found is not None and found.fields["auth_token"] == TOKEN


def test_put_replaces_and_sub_accounts_inherit(api: Api) -> None:
    assert put(api, "acme_admin", TWILIO).status_code == 200
    again = put(api, "acme_admin", {"account_sid": SID, "auth_token": "new"})
    assert again.json()["fields_set"] == ["account_sid", "auth_token"]
    got = api.http.get("/v1/accounts/shop/providers/twilio", headers=api.key("shop_admin"))
    body = got.json()
    assert body["configured"] is False and body["inherited"] is True
    assert body["inherited_from"] is None  # acme is outside a shop key's reach
    got = api.http.get("/v1/accounts/shop/providers/twilio", headers=api.key("acme_admin"))
    assert got.json()["inherited_from"] == "acme"
    cl = api.cl
    stored = cl.provider_credentials()
    shop = cl.directory().account("shop").id
    resolved = stored.resolve(cl.directory(), account_id=shop, provider="twilio")
    assert resolved is not None and resolved.fields["auth_token"] == "new"


@pytest.mark.parametrize(
    ("key", "slug", "status", "code"),
    [
        ("acme_write", "acme", 403, "forbidden"),
        ("acme_read", "acme", 403, "forbidden"),
        ("shop_admin", "acme", 404, "unknown_account"),
        ("globex_admin", "acme", 404, "unknown_account"),
        ("globex_admin", "shop", 404, "unknown_account"),
        ("acme_admin", "shop", 200, None),
        ("admin", "globex", 200, None),
    ],
)
def test_admin_keys_in_the_subtree_only(
    api: Api, key: str, slug: str, status: int, code: str | None
) -> None:
    body = {"account_sid": SID if slug != "globex" else "AC2", "auth_token": TOKEN}
    response = put(api, key, body, slug=slug)
    assert response.status_code == status, response.text
    if code is not None:
        assert response.json()["code"] == code
    got = api.http.get(f"/v1/accounts/{slug}/providers/twilio", headers=api.key(key))
    assert got.status_code == status


def test_no_key_is_401(api: Api) -> None:
    response = api.http.put("/v1/accounts/acme/providers/twilio", json=TWILIO)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("twilio", {"account_sid": SID, "auth_token": TOKEN, "password": "x"}, "password"),
        ("twilio", {"auth_token": TOKEN}, "account_sid"),
        ("twilio", {"account_sid": SID, "auth_token": 5}, "auth_token"),
        ("twilio", {"account_sid": SID, "auth_token": " "}, "auth_token"),
        ("twilio", {**TWILIO, "upstream_base_url": "ftp://x"}, "upstream_base_url"),
        ("telnyx", {}, "public_key"),
        ("sinch", {"username": "u"}, "password"),
        ("bandwidth", {"username": "u", "password": "p", "auth_token": "t"}, "auth_token"),
        # values whose shape can never verify a webhook (issue 8, #11)
        ("telnyx", {"public_key": f"{TOKEN}!"}, "public_key"),
        ("telnyx", {"public_key": base64.b64encode(TOKEN.encode()[:31]).decode()}, "public_key"),
        ("messagemedia", {"public_key": f"-----BEGIN PUBLIC KEY-----\n{TOKEN}"}, "public_key"),
        ("vonage", {"signature_secret": TOKEN, "signature_method": "rot13"}, "signature_method"),
        ("plivo", {"auth_token": TOKEN, "accept_v2": "maybe"}, "accept_v2"),
        ("plivo", {"auth_token": TOKEN, "accept_v2": 1}, "accept_v2"),
    ],
)
def test_bad_fields_are_422_without_values(api: Api, name: str, body: object, field: str) -> None:
    response = put(api, "acme_admin", body, name=name)
    assert response.status_code == 422, response.text
    answer = response.json()
    assert answer["code"] == "invalid_input" and answer["field"] == field
    assert TOKEN not in response.text
    got = api.http.get(f"/v1/accounts/acme/providers/{name}", headers=api.key("acme_admin"))
    assert got.json()["configured"] is False  # nothing was saved


def test_body_must_be_an_object(api: Api) -> None:
    assert put(api, "acme_admin", ["x"]).status_code == 422


def test_unknown_provider_is_404(api: Api) -> None:
    response = put(api, "acme_admin", {"a": "b"}, name="nope")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_provider"
    got = api.http.get("/v1/accounts/acme/providers/nope", headers=api.key("acme_admin"))
    assert got.status_code == 404


def test_an_account_sid_belongs_to_one_account(api: Api) -> None:
    assert put(api, "acme_admin", TWILIO).status_code == 200
    response = put(api, "admin", TWILIO, slug="globex")
    assert response.status_code == 409
    assert response.json()["code"] == "external_id_in_use"


def _store_unchecked(api: Api, slug: str, name: str, fields: dict[str, str]) -> None:
    """Credentials saved before their shape was checked (straight into the table)."""
    with UnitOfWork(api.cl.engine) as uow:
        uow.api.put_credentials(
            account_id=api.cl.directory().account(slug).id,
            provider=name,
            fields=json.dumps(fields),
            external_id=None,
            now_us=0,
        )
        uow.commit()


def get(api: Api, key: str, slug: str, name: str) -> Any:
    response = api.http.get(f"/v1/accounts/{slug}/providers/{name}", headers=api.key(key))
    assert response.status_code == 200, response.text
    assert TOKEN not in response.text
    return response.json()


def test_get_says_whether_the_credentials_can_verify(api: Api) -> None:
    assert put(api, "acme_admin", TWILIO).status_code == 200
    own = get(api, "acme_admin", "acme", "twilio")
    assert (own["verifiable"], own["problems"]) == (True, [])
    inherited = get(api, "shop_admin", "shop", "twilio")
    assert (inherited["verifiable"], inherited["problems"]) == (True, [])
    nothing = get(api, "acme_admin", "acme", "telnyx")
    assert nothing["verifiable"] is False and len(nothing["problems"]) == 1


def test_get_reports_stored_credentials_that_can_never_verify(api: Api) -> None:
    _store_unchecked(api, "acme", "telnyx", {"public_key": TOKEN})
    own = get(api, "acme_admin", "acme", "telnyx")
    assert own["configured"] is True and own["verifiable"] is False
    assert [p["field"] for p in own["problems"]] == ["public_key"]
    # a sub-account's admin learns that its lines' webhooks cannot verify...
    below = get(api, "shop_admin", "shop", "telnyx")
    assert below["verifiable"] is False and below["inherited_from"] is None
    # ...but not what is wrong with credentials held outside its reach
    assert [p["field"] for p in below["problems"]] == [None]
    seen_from_above = get(api, "acme_admin", "shop", "telnyx")
    assert [p["field"] for p in seen_from_above["problems"]] == ["public_key"]


def test_plivo_v2_is_an_explicit_flag_shown_only_when_set(api: Api) -> None:
    on = put(api, "acme_admin", {"auth_token": TOKEN, "accept_v2": True}, name="plivo")
    assert on.status_code == 200, on.text
    assert on.json()["fields_set"] == ["accept_v2", "auth_token"]
    off = put(api, "acme_admin", {"auth_token": TOKEN, "accept_v2": False}, name="plivo")
    assert off.json()["fields_set"] == ["auth_token"]
