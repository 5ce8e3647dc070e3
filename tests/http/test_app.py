"""The edge itself: error shapes, body limits, probes, OpenAPI."""

from __future__ import annotations

import pytest
import sqlalchemy

from consentline.domain.errors import (
    AccountExists,
    ConsentlineError,
    Forbidden,
    InvalidAddress,
    SignatureInvalid,
    StorageError,
    Unauthorized,
    UnknownLine,
)
from consentline.http.errors import STATUS, status_of
from tests.http.conftest import ACME_LINE, Api


def test_every_library_error_has_a_status_from_the_one_table() -> None:
    def walk(cls: type[ConsentlineError]) -> list[type[ConsentlineError]]:
        return [cls, *(c for sub in cls.__subclasses__() for c in walk(sub))]

    for cls in walk(ConsentlineError):
        assert status_of(cls("x")) in set(STATUS.values())
    expected = {
        InvalidAddress: 422,
        Unauthorized: 401,
        Forbidden: 403,
        SignatureInvalid: 403,
        UnknownLine: 404,
        AccountExists: 409,
        StorageError: 503,
    }
    assert {cls: status_of(cls("x")) for cls in expected} == expected


def test_malformed_json_is_400_json(api: Api) -> None:
    response = api.http.post(
        "/v1/consents",
        content=b'{"address": ',
        headers={**api.key("acme_write"), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_a_body_over_the_limit_is_413_json(api: Api) -> None:
    big = {"address": "x" * 100_000}
    response = api.http.post("/v1/consents", json=big, headers=api.key("acme_write"))
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_a_chunked_body_over_the_limit_is_413_json(api: Api) -> None:
    def chunks() -> object:
        for _ in range(100):
            yield b"x" * 1024

    response = api.http.post(
        "/v1/consents",
        content=chunks(),  # type: ignore[arg-type]
        headers={**api.key("acme_write"), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_bulk_checks_have_their_own_larger_limit(api: Api) -> None:
    recipients = ["+14155550123"] * 10_000  # ~150 kB: over the default, under the bulk limit
    body = {"from": ACME_LINE, "purpose": "marketing", "recipients": recipients}
    response = api.http.post("/v1/check", json=body, headers=api.key("acme_read"))
    assert response.status_code == 200


def test_unknown_routes_and_methods_are_json(api: Api) -> None:
    missing = api.http.get("/v1/nothing", headers=api.key("acme_read"))
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    method = api.http.put("/v1/consents", headers=api.key("acme_read"))
    assert (method.status_code, method.json()["code"]) == (405, "method_not_allowed")


def test_probes_need_no_key(api: Api) -> None:
    assert api.http.get("/healthz").json() == {"status": "ok"}
    assert api.http.get("/readyz").json() == {"status": "ready"}


def test_readyz_is_503_when_the_database_is_gone(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def gone() -> object:
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("unable to open"))

    monkeypatch.setattr(api.cl.engine, "connect", gone)
    response = api.http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["code"] == "storage_error"
    assert "detail" not in response.json()


def test_openapi_and_docs_are_served(api: Api) -> None:
    schema = api.http.get("/openapi.json").json()
    for path in (
        "/v1/accounts",
        "/v1/lines",
        "/v1/keys",
        "/v1/consents",
        "/v1/check",
        "/v1/addresses/{address}/consent",
        "/v1/addresses/{address}/history",
        "/v1/events",
        "/v1/inbound",
    ):
        assert path in schema["paths"], path
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert api.http.get("/docs").status_code == 200
