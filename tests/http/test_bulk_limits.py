"""Bulk checks cannot monopolise the server (issue 8, defect 10).

A recipient limit and a byte limit, a time budget per request (its clock is a
deterministic counter here, never the wall clock), a cap on bulk checks at once,
and invalid recipients still answered ``invalid_address`` one by one.
"""

from __future__ import annotations

import itertools
import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest

from consentline.domain.errors import TooManyBulkChecks
from consentline.http import create_app, routes_check
from consentline.services import gate
from consentline.settings import (
    DEFAULT_BULK_CHECK_SECONDS,
    DEFAULT_MAX_BULK_BODY,
    DEFAULT_MAX_BULK_CHECKS,
    DEFAULT_MAX_BULK_RECIPIENTS,
    Settings,
    SettingsError,
)
from tests.http.conftest import ACME_LINE, Api, X, Y

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@contextmanager
def served(api: Api, **limits: Any) -> Iterator[TestClient]:
    """The same ledger and keys, served by an app with these settings."""
    settings = Settings(**{"max_body": 64 * 1024, "max_bulk_body": 8 * 1024 * 1024, **limits})
    with TestClient(create_app(api.cl, settings, keys=api.keys)) as http:
        yield http


def bulk(http: TestClient, api: Api, recipients: list[str]) -> Any:
    body = {"from": ACME_LINE, "purpose": "marketing", "recipients": recipients}
    return http.post("/v1/check", json=body, headers=api.key("acme_read"))


def numbers(n: int) -> list[str]:
    return [f"+1415555{i:04d}" for i in range(n)]


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """The budget's clock advances by exactly 1 "second" per reading."""
    counter = itertools.count()
    monkeypatch.setattr(routes_check, "work_clock", lambda: float(next(counter)))


# -- settings -------------------------------------------------------------------------
def test_the_bulk_limits_have_defaults_and_are_read_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert defaults.max_bulk_recipients == DEFAULT_MAX_BULK_RECIPIENTS == 1_000_000
    assert defaults.max_bulk_body == DEFAULT_MAX_BULK_BODY == 32 * 1024 * 1024
    assert defaults.bulk_check_seconds == DEFAULT_BULK_CHECK_SECONDS == 60.0
    assert defaults.max_bulk_checks == DEFAULT_MAX_BULK_CHECKS == 2
    read = Settings.from_env(
        {
            "CONSENTLINE_MAX_BULK_RECIPIENTS": "5000",
            "CONSENTLINE_BULK_CHECK_SECONDS": "2.5",
            "CONSENTLINE_MAX_BULK_CHECKS": "4",
        }
    )
    assert (read.max_bulk_recipients, read.bulk_check_seconds, read.max_bulk_checks) == (
        5000,
        2.5,
        4,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CONSENTLINE_MAX_BULK_RECIPIENTS", "lots"),
        ("CONSENTLINE_MAX_BULK_RECIPIENTS", "0"),
        ("CONSENTLINE_MAX_BULK_RECIPIENTS", "10000001"),
        ("CONSENTLINE_BULK_CHECK_SECONDS", "soon"),
        ("CONSENTLINE_BULK_CHECK_SECONDS", "0"),
        ("CONSENTLINE_BULK_CHECK_SECONDS", "nan"),
        ("CONSENTLINE_BULK_CHECK_SECONDS", "inf"),
        ("CONSENTLINE_MAX_BULK_CHECKS", "-1"),
        ("CONSENTLINE_MAX_BULK_CHECKS", "1.5"),
    ],
)
def test_a_bad_bulk_limit_fails_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.data["variable"] == variable


# -- recipient and byte limits ----------------------------------------------------------
def test_a_list_over_the_recipient_limit_is_413_with_the_limit(api: Api) -> None:
    with served(api, max_bulk_recipients=3) as http:
        assert bulk(http, api, numbers(3)).status_code == 200
        over = bulk(http, api, numbers(4))
    assert over.status_code == 413
    assert over.json() == {
        "code": "too_many_recipients",
        "message": "at most 3 recipients a request; this one has 4",
        "limit": 3,
        "recipients": 4,
    }


def test_a_body_over_the_byte_limit_is_413_with_the_limit(api: Api) -> None:
    recipients = numbers(2000)  # ~30 kB
    with served(api, max_bulk_body=16 * 1024) as http:
        over = bulk(http, api, recipients)
    assert over.status_code == 413
    assert (over.json()["code"], over.json()["limit"]) == ("body_too_large", 16 * 1024)


# -- the time budget --------------------------------------------------------------------
@pytest.mark.usefixtures("steps")
def test_a_check_over_its_budget_before_the_answer_begins_is_a_413(api: Api) -> None:
    with served(api, bulk_check_seconds=0.5) as http:
        over = bulk(http, api, numbers(10))
        assert over.status_code == 413
        assert over.json()["code"] == "check_budget_exceeded"
        assert (over.json()["limit_seconds"], over.json()["answered"]) == (0.5, 0)
        assert routes_check.bulk_slots(http.app, 2).busy == 0  # the slot was given back


@pytest.mark.usefixtures("steps")
def test_a_check_that_runs_out_of_budget_mid_answer_ends_with_an_error_member(
    api: Api,
) -> None:
    api.consent("acme_write", address="+14155550005")
    recipients = numbers(2000)
    expected = [
        {"to": d.to, "allowed": d.allowed, "reason": d.reason}
        for d in api.cl.check_many(recipients, from_=ACME_LINE, purpose="marketing")
    ]
    with served(api, bulk_check_seconds=5.0) as http:
        response = bulk(http, api, recipients)
        assert routes_check.bulk_slots(http.app, 2).busy == 0
    assert response.status_code == 200  # the answer had begun
    answer = json.loads(response.content)  # still one valid JSON document
    results, error = answer["results"], answer["error"]
    assert 0 < len(results) < len(recipients)
    assert results == expected[: len(results)]  # what was answered is right, in order
    assert error["code"] == "check_budget_exceeded"
    assert (error["limit_seconds"], error["answered"]) == (5.0, len(results))


@pytest.mark.usefixtures("steps")
def test_a_client_that_stops_reading_is_cut_off_when_the_budget_runs_out(api: Api) -> None:
    """Its slot is not held for good: the answer waits on the client only as long as
    the budget lasts (here it has run out by the time the answer starts)."""
    settings = Settings(bulk_check_seconds=2.0, max_bulk_checks=1)
    app = create_app(api.cl, settings, keys=api.keys)
    body = json.dumps({"from": ACME_LINE, "purpose": "marketing", "recipients": numbers(500)})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/check",
        "raw_path": b"/v1/check",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", api.key("acme_read")["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body.encode(), "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        await anyio.Event().wait()  # a client that never reads

    async def call() -> None:
        with anyio.fail_after(30):  # only if the cut-off is broken
            await app(scope, receive, send)

    anyio.run(call)
    assert sent == ["http.response.start"]
    assert routes_check.bulk_slots(app, 1).busy == 0


def test_a_check_within_its_budget_answers_everything(api: Api) -> None:
    with served(api) as http:
        answer = bulk(http, api, numbers(5000)).json()
    assert "error" not in answer
    assert len(answer["results"]) == 5000


# -- bulk checks at once --------------------------------------------------------------
def test_bulk_checks_beyond_the_cap_are_429_and_a_freed_slot_serves_again(api: Api) -> None:
    interval = sys.getswitchinterval()
    with served(api, max_bulk_checks=1) as http:
        slots = routes_check.bulk_slots(http.app, 1)
        give_back = slots.take()  # a bulk check in progress
        assert sys.getswitchinterval() <= routes_check.SWITCH_SECONDS
        with pytest.raises(TooManyBulkChecks):
            slots.take()
        busy = bulk(http, api, numbers(3))
        assert busy.status_code == 429
        assert busy.headers["retry-after"] == "1"
        assert (busy.json()["code"], busy.json()["limit"]) == ("too_many_bulk_checks", 1)
        give_back()
        give_back()  # a second call changes nothing
        assert slots.busy == 0
        assert sys.getswitchinterval() == interval  # restored with the last slot
        for _ in range(3):  # each request gives its slot back
            assert bulk(http, api, numbers(3)).status_code == 200
        assert bulk(http, api, ["x"] * 2).status_code == 200
        unknown = http.post(
            "/v1/check",
            json={"from": ACME_LINE, "purpose": "raffle", "recipients": [X]},
            headers=api.key("acme_read"),
        )
        assert unknown.status_code == 404  # an error before the answer frees it too
        assert slots.busy == 0


# -- invalid recipients -----------------------------------------------------------------
INVALID = [
    "+10123456789",  # NANP area code starting with 0
    "+12121234567",  # an exchange starting with 1
    "+999123456789",  # no such calling code
    "n/a",
    "",
    "+",
    "9" * 300,
    "(012) 555-0101",
    "+1 (415) 555-01",
    "junk-0000001",
]


@pytest.mark.parametrize("path", ["lookups", "scan"])
def test_invalid_recipients_are_answered_invalid_address_one_by_one(
    api: Api, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path == "scan":  # the campaign-sized path: one scan of the tenant's projection
        monkeypatch.setattr(gate, "SCAN_MIN", 1)
    api.consent("acme_write", address=Y)
    recipients = [X, *INVALID, "(415) 555-0124", Y, "+1 415 555 0124"]
    body = {"from": ACME_LINE, "purpose": "marketing", "recipients": recipients}
    results = api.http.post("/v1/check", json=body, headers=api.key("acme_read")).json()["results"]
    assert results == [
        {"to": X, "allowed": False, "reason": "no_consent"},
        *({"to": raw, "allowed": False, "reason": "invalid_address"} for raw in INVALID),
        {"to": Y, "allowed": True, "reason": "opted_in"},
        {"to": Y, "allowed": True, "reason": "opted_in"},
        {"to": Y, "allowed": True, "reason": "opted_in"},
    ]
