"""``GET /v1/addresses/{a}/export``: subject access over HTTP, within the key's subtree (C28)."""

from __future__ import annotations

import httpx
import pytest

from tests.http.conftest import ACME_LINE, SHOP_LINE, Api, X


def _seed(api: Api) -> None:
    api.cl.record(X, "opt_in", account="acme", purpose="marketing", source="web_form")
    api.cl.record(X, "opt_in", line=SHOP_LINE, source="web_form")
    api.cl.handle_inbound(from_=X, to=SHOP_LINE, text="STOP")
    api.cl.handle_inbound(from_=X, to=ACME_LINE, text="cancel my appointment")


def get(api: Api, key: str, address: str = X, **params: str) -> httpx.Response:
    return api.http.get(
        f"/v1/addresses/{address.replace('+', '%2B')}/export", params=params, headers=api.key(key)
    )


def test_a_read_key_exports_its_own_subtree(api: Api) -> None:
    _seed(api)
    answer = get(api, "shop_read")
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["account"] == "shop" and doc["address"] == X
    assert [m["body"] for m in doc["inbound_messages"]] == ["STOP"]  # not acme's message
    assert doc["review_items"] == []
    assert {e["where"] for e in doc["events"]} >= {"account acme", f"line {SHOP_LINE}"}
    whole = get(api, "acme_read").json()
    assert len(whole["inbound_messages"]) == 2 and len(whole["review_items"]) == 1


@pytest.mark.parametrize(
    ("key", "account"), [("shop_read", "acme"), ("acme_read", "globex"), ("globex_admin", "shop")]
)
def test_an_account_outside_the_subtree_is_404(api: Api, key: str, account: str) -> None:
    _seed(api)
    answer = get(api, key, account=account)
    assert answer.status_code == 404
    assert answer.json()["code"] == "unknown_account"
    assert get(api, key, account="nobody").status_code == 404


def test_an_installation_key_names_the_account(api: Api) -> None:
    _seed(api)
    assert get(api, "admin").status_code == 422
    answer = get(api, "admin", account="shop")
    assert answer.status_code == 200 and answer.json()["account"] == "shop"


@pytest.mark.parametrize("number", ["not a number", "+1", "12"])
def test_a_bad_number_is_a_json_422_that_masks_it(api: Api, number: str) -> None:
    answer = get(api, "acme_read", number)
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid_address"
    assert number not in body["message"] or len(number) < 4


def test_a_number_nothing_is_held_about_answers_empty_lists(api: Api) -> None:
    doc = get(api, "acme_read", "+14155550177").json()
    assert doc["events"] == doc["inbound_messages"] == doc["replies"] == []


def test_no_key_is_401(api: Api) -> None:
    answer = api.http.get("/v1/addresses/%2B14155550123/export")
    assert answer.status_code == 401
