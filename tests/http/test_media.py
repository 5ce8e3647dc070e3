"""A JSON route sent a body that is not JSON answers 415, not a confusing 422
(issue 8, #12); form-body routes and the check fast lane are untouched."""

from __future__ import annotations

import json
from typing import Any

import pytest

import consentline
from consentline.http import create_app
from consentline.http.media import MESSAGE, is_json
from consentline.settings import Settings
from tests.http.conftest import ACME_LINE, Api, X


def _json_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation whose documented body is JSON."""
    client = consentline.connect("sqlite://")
    try:
        paths = create_app(client, Settings()).openapi()["paths"]
    finally:
        client.close()
    return sorted(
        (method.upper(), path.replace("{slug}", "acme").replace("{name}", "twilio"))
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    )


JSON_OPERATIONS = _json_operations()
CONSENT = {
    "address": X,
    "action": "opt_in",
    "account": "acme",
    "purpose": "marketing",
    "source": "web_form",
}


def test_every_json_route_is_covered() -> None:
    assert {path for _, path in JSON_OPERATIONS} >= {
        "/v1/accounts",
        "/v1/lines",
        "/v1/keys",
        "/v1/consents",
        "/v1/check",
        "/v1/inbound",
        "/v1/webhooks",
        "/v1/accounts/acme/providers/twilio",
    }


@pytest.mark.parametrize(("method", "path"), JSON_OPERATIONS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
        {"Content-Type": "application/jsonx"},
        {},  # none at all
    ],
    ids=["text", "form", "multipart", "jsonx", "none"],
)
def test_a_body_that_is_not_declared_json_is_415(
    api: Api, method: str, path: str, headers: dict[str, str]
) -> None:
    response = api.http.request(
        method,
        path,
        content=json.dumps(CONSENT).encode(),
        headers={**api.key("admin"), **headers},
    )
    assert response.status_code == 415, response.text
    assert response.json() == {"code": "unsupported_media_type", "message": MESSAGE}
    assert api.cl.verify().events == 0


def test_no_content_type_and_no_body_is_415_too(api: Api) -> None:
    response = api.http.post("/v1/consents", headers=api.key("acme_write"))
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/x+json",
    ],
)
def test_json_content_types_are_accepted(api: Api, content_type: str) -> None:
    response = api.http.post(
        "/v1/consents",
        content=json.dumps(CONSENT).encode(),
        headers={**api.key("acme_write"), "Content-Type": content_type},
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("path", "statuses"),
    [
        ("/webhooks/twilio", {403}),  # unsigned: refused on its signature, not its type
        ("/2010-04-01/Accounts/AC123/Messages.json", {401, 403, 404}),
    ],
)
def test_form_body_routes_are_not_refused_for_their_media_type(
    api: Api, path: str, statuses: set[int]
) -> None:
    response = api.http.post(
        path,
        data={"From": X, "To": ACME_LINE, "Body": "STOP"},
    )
    assert response.status_code in statuses, response.text


def test_the_check_fast_lane_needs_no_content_type(api: Api) -> None:
    params: dict[str, Any] = {"to": X, "from": ACME_LINE, "purpose": "marketing"}
    response = api.http.get("/v1/check", params=params, headers=api.key("acme_read"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/json", True),
        ("application/problem+json; charset=utf-8", True),
        (" APPLICATION/JSON ", True),
        ("text/json", False),
        ("application/json-seq", False),
        ("", False),
    ],
)
def test_is_json(value: str, expected: bool) -> None:
    assert is_json(value) is expected
