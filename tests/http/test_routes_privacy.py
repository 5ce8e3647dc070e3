"""DELETE /v1/addresses/{a}: erasure over HTTP (admin keys only, in their subtree)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

import consentline
from consentline.http import create_app
from consentline.settings import Settings
from tests.conftest import Clock
from tests.http.conftest import ACME_LINE, GLOBEX_LINE, SHOP_LINE, Api, X, Y

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

KEY = "h" * 40


@pytest.fixture
def url(db_url: str) -> str:
    return db_url


@pytest.fixture
def eapi(url: str, clock: Clock) -> Iterator[Api]:
    cl = consentline.connect(url, clock=clock, cache_seconds=0.0, erasure_key=KEY)
    keys = cl.api_keys(clock)
    admin = keys.bootstrap(None)
    assert admin is not None
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    cl.create_account("globex", default_region="US")
    cl.add_line(ACME_LINE, account="acme")
    cl.add_line(SHOP_LINE, account="shop")
    cl.add_line(GLOBEX_LINE, account="globex")
    cl.set_purpose("acme", "marketing", model="restrictive")
    found = Api(TestClient(create_app(cl, Settings(), keys=keys)), cl, keys, admin)
    for account in ("acme", "shop", "globex"):
        for role in ("read", "write", "admin"):
            found.named[f"{account}_{role}"] = found.make_key(account, role)
    try:
        with found.http:
            yield found
    finally:
        cl.close()


def _delete(api: Api, key: str, address: str = X, **params: str) -> object:
    return api.http.delete(f"/v1/addresses/{address}", params=params, headers=api.key(key))


def test_an_admin_erases_a_number_and_the_opt_out_still_denies(eapi: Api) -> None:
    eapi.cl.record(X, "opt_out", account="acme", source="api", proof={"ip": "198.51.100.9"})
    response = _delete(eapi, "acme_admin")
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["events"] == 1 and not body["already_erased"]
    assert "4155550123" not in response.text  # type: ignore[attr-defined]
    check = eapi.http.get(
        "/v1/check",
        params={"to": X, "from": ACME_LINE, "purpose": "marketing"},
        headers=eapi.key("acme_read"),
    )
    assert check.json()["allowed"] is False
    again = _delete(eapi, "acme_admin")
    assert again.json()["already_erased"] is True  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["acme_read", "acme_write"])
def test_only_admin_keys_may_erase(eapi: Api, key: str) -> None:
    eapi.cl.record(X, "opt_out", account="acme")
    assert _delete(eapi, key).status_code == 403  # type: ignore[attr-defined]


def test_only_a_root_admin_erases_and_only_in_its_own_tenant(eapi: Api) -> None:
    eapi.cl.record(X, "opt_out", account="acme")  # at acme: above shop
    eapi.cl.record(Y, "opt_out", account="shop")
    # An erasure covers the whole tenant, so a sub-account's admin key cannot make
    # one, even for a number that only its own subtree holds: it would reach the
    # parent's and the siblings' rows of that number.
    for address in (X, Y):
        refused = _delete(eapi, "shop_admin", address)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")  # type: ignore[attr-defined]
    other_tenant = _delete(eapi, "globex_admin", account="acme")
    assert other_tenant.status_code == 404  # type: ignore[attr-defined]
    outside = _delete(eapi, "globex_admin")
    assert (outside.status_code, outside.json()["code"]) == (404, "unknown_address")  # type: ignore[attr-defined]
    assert eapi.cl.check(Y, from_=SHOP_LINE, purpose="marketing").reason == "opted_out"
    assert _delete(eapi, "acme_admin", Y).status_code == 200  # type: ignore[attr-defined]
    assert eapi.cl.check(Y, from_=SHOP_LINE, purpose="marketing").reason == "opted_out"


@pytest.mark.parametrize(
    ("address", "params", "status", "code"),
    [
        ("not-a-number", {}, 422, "invalid_address"),
        (X, {"reason": "Because"}, 422, "invalid_config"),
        ("+14155550000", {}, 404, "unknown_address"),
    ],
)
def test_bad_erasures_are_4xx_json(
    eapi: Api, address: str, params: dict[str, str], status: int, code: str
) -> None:
    eapi.cl.record(X, "opt_out", account="acme")
    response = _delete(eapi, "acme_admin", address, **params)
    assert (response.status_code, response.json()["code"]) == (status, code)  # type: ignore[attr-defined]


def test_the_installation_admin_names_the_account(eapi: Api) -> None:
    eapi.cl.record(X, "opt_out", account="acme")
    missing = _delete(eapi, "admin")
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert _delete(eapi, "admin", account="shop").status_code == 200  # type: ignore[attr-defined]
