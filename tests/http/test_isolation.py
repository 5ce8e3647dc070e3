"""Tenant and subtree isolation on EVERY route, and the 401/403 rules.

The rule (consentline.http.auth): outside the key's subtree is answered as if
it did not exist (404), read or write; a role too low is 403; no/bad key 401.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.http.conftest import ACME_LINE, GLOBEX_LINE, SHOP_LINE, Api, X

Call = Callable[[Api, dict[str, str]], Any]


def _subscription(api: Api) -> int:
    return api.cl.subscribe("acme", "https://crm.example/hooks")[0].id


CONSENT = {"address": X, "action": "opt_in", "purpose": "marketing", "source": "web_form"}

# Each route, pointed at acme's resources: (name, least role, call).
ROUTES: list[tuple[str, str, Call]] = [
    (
        "POST /v1/accounts",
        "admin",
        lambda a, h: a.http.post("/v1/accounts", json={"slug": "new", "parent": "acme"}, headers=h),
    ),
    (
        "POST /v1/lines",
        "admin",
        lambda a, h: a.http.post(
            "/v1/lines", json={"number": "+18005550150", "account": "acme"}, headers=h
        ),
    ),
    (
        "POST /v1/keys",
        "admin",
        lambda a, h: a.http.post("/v1/keys", json={"account": "acme", "role": "read"}, headers=h),
    ),
    (
        "DELETE /v1/keys/{id}",
        "admin",
        lambda a, h: a.http.delete(
            f"/v1/keys/{a.keys.authenticate(a.named['acme_read']).id}", headers=h
        ),
    ),
    (
        "POST /v1/consents (account)",
        "write",
        lambda a, h: a.http.post("/v1/consents", json={**CONSENT, "account": "acme"}, headers=h),
    ),
    (
        "POST /v1/consents (line)",
        "write",
        lambda a, h: a.http.post("/v1/consents", json={**CONSENT, "line": ACME_LINE}, headers=h),
    ),
    (
        "POST /v1/consents (via)",
        "write",
        lambda a, h: a.http.post(
            "/v1/consents", json={**CONSENT, "action": "opt_out", "via": ACME_LINE}, headers=h
        ),
    ),
    (
        "GET /v1/check",
        "read",
        lambda a, h: a.http.get(
            "/v1/check", params={"to": X, "from": ACME_LINE, "purpose": "marketing"}, headers=h
        ),
    ),
    (
        "POST /v1/check",
        "read",
        lambda a, h: a.http.post(
            "/v1/check",
            json={"from": ACME_LINE, "purpose": "marketing", "recipients": [X]},
            headers=h,
        ),
    ),
    (
        "POST /v1/webhooks",
        "admin",
        lambda a, h: a.http.post(
            "/v1/webhooks", json={"account": "acme", "url": "https://crm.example/h"}, headers=h
        ),
    ),
    (
        "GET /v1/webhooks/{id}",
        "read",
        lambda a, h: a.http.get(f"/v1/webhooks/{_subscription(a)}", headers=h),
    ),
    (
        "DELETE /v1/webhooks/{id}",
        "admin",
        lambda a, h: a.http.delete(f"/v1/webhooks/{_subscription(a)}", headers=h),
    ),
    (
        "POST /v1/inbound",
        "write",
        lambda a, h: a.http.post(
            "/v1/inbound", json={"from": X, "to": ACME_LINE, "text": "STOP"}, headers=h
        ),
    ),
]
# Routes that list what the key reaches (nothing to refuse, only to filter).
LISTS: list[tuple[str, Call]] = [
    ("consent", lambda a, h: a.http.get(f"/v1/addresses/{X}/consent", headers=h)),
    ("history", lambda a, h: a.http.get(f"/v1/addresses/{X}/history", headers=h)),
    ("events", lambda a, h: a.http.get("/v1/events", headers=h)),
    ("webhooks", lambda a, h: a.http.get("/v1/webhooks", headers=h)),
]
ALL = [(name, call) for name, _, call in ROUTES] + LISTS
RANK = {"read": 0, "write": 1, "admin": 2}


@pytest.fixture
def url(db_url: str) -> str:  # isolation runs on SQLite and PostgreSQL
    return db_url


@pytest.mark.parametrize(("name", "call"), ALL, ids=[n for n, _ in ALL])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer cl_unknown"}, {"Authorization": "Basic abc"}],
    ids=["no key", "bad key", "not bearer"],
)
def test_no_key_or_a_bad_key_is_401(
    api: Api, name: str, call: Call, headers: dict[str, str]
) -> None:
    response = call(api, headers)
    assert response.status_code == 401, name
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_key_is_401(api: Api) -> None:
    key_id = api.keys.authenticate(api.named["acme_write"]).id
    api.keys.revoke(key_id)
    response = api.http.get("/v1/events", headers=api.key("acme_write"))
    assert response.status_code == 401


@pytest.mark.parametrize(("name", "role", "call"), ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.parametrize("outsider", ["globex_admin", "shop_admin"])
def test_a_key_outside_the_subtree_sees_404_as_if_nothing_existed(
    api: Api, name: str, role: str, call: Call, outsider: str
) -> None:
    response = call(api, api.key(outsider))
    assert response.status_code == 404, (name, response.json())
    assert response.json()["code"] in (
        "unknown_account",
        "unknown_line",
        "unknown_subscription",
        "not_found",
    )
    assert api.cl.history(X, account="acme") == []  # nothing was written


@pytest.mark.parametrize(("name", "role", "call"), ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.parametrize("key_role", ["read", "write", "admin"])
def test_roles_are_enforced(api: Api, name: str, role: str, call: Call, key_role: str) -> None:
    response = call(api, api.key(f"acme_{key_role}"))
    if RANK[key_role] >= RANK[role]:
        assert response.status_code in (200, 201, 204), (name, response.text)
    else:
        assert response.status_code == 403, name
        assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize("key", ["globex_read", "shop_read"])
def test_listing_routes_show_nothing_of_the_parent_or_another_tenant(api: Api, key: str) -> None:
    api.consent("acme_write", line=ACME_LINE, account=None)
    consent = api.http.get(f"/v1/addresses/{X}/consent", headers=api.key(key)).json()
    assert ACME_LINE not in [line["line"] for line in consent["lines"]]
    history = api.http.get(f"/v1/addresses/{X}/history", headers=api.key(key)).json()
    assert history["events"] == []
    feed = api.http.get("/v1/events", headers=api.key(key)).json()
    assert feed["events"] == []
    own = api.http.get("/v1/events", headers=api.key("acme_read")).json()
    assert len(own["events"]) == 1
    _subscription(api)
    hooks = api.http.get("/v1/webhooks", headers=api.key(key)).json()
    assert hooks["webhooks"] == []
    own_hooks = api.http.get("/v1/webhooks", headers=api.key("acme_read")).json()
    assert len(own_hooks["webhooks"]) == 1


def test_the_installation_admin_reaches_every_tenant(api: Api) -> None:
    for name, _, call in ROUTES:
        assert call(api, api.key("admin")).status_code in (200, 201, 204), name


# -- create routes: a taken number or slug is answered the same whoever holds it ----------
@pytest.mark.parametrize(
    ("number", "key", "account"),
    [
        (ACME_LINE, "acme_admin", "acme"),  # the caller's own account
        (SHOP_LINE, "acme_admin", "acme"),  # a sub-account, in reach
        (ACME_LINE, "shop_admin", "shop"),  # the parent, out of reach
        (GLOBEX_LINE, "acme_admin", "acme"),  # another tenant
        (GLOBEX_LINE, "shop_admin", "shop"),
    ],
    ids=["own", "sub-account", "parent", "other tenant", "other tenant from a sub"],
)
def test_a_taken_number_is_answered_alike_whoever_holds_it(
    api: Api, number: str, key: str, account: str
) -> None:
    response = api.http.post(
        "/v1/lines", json={"number": number, "account": account}, headers=api.key(key)
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "line_exists",
        "message": f"line {number!r} is already registered",
        "line": number,  # only what the caller sent, normalised: nothing of the holder
    }


@pytest.mark.parametrize(
    ("slug", "key", "parent"),
    [
        ("shop", "acme_admin", "acme"),
        ("acme", "shop_admin", "shop"),
        ("globex", "acme_admin", "acme"),
        ("globex", "shop_admin", "shop"),
    ],
    ids=["own sub-account", "parent", "other tenant", "other tenant from a sub"],
)
def test_a_taken_slug_is_answered_alike_whoever_holds_it(
    api: Api, slug: str, key: str, parent: str
) -> None:
    response = api.http.post(
        "/v1/accounts", json={"slug": slug, "parent": parent}, headers=api.key(key)
    )
    assert response.status_code == 409
    assert response.json() == {
        "code": "account_exists",
        "message": f"account {slug!r} already exists",
        "account": slug,
    }
