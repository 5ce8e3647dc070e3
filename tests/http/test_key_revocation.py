"""A key revoked through one process stops working in every other (issue 8, defect 12).

Two independent ``ApiKeys`` (and two apps) on one database stand for two server
processes: the one that revokes refuses the key at once, the other within
``REVALIDATE_SECONDS`` by its clock (the test's Clock, moved by hand).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

import consentline
from consentline import Consentline
from consentline.domain.errors import Unauthorized
from consentline.http import create_app
from consentline.services.api_keys import REVALIDATE_SECONDS
from consentline.settings import Settings
from tests.conftest import Clock
from tests.http.conftest import ACME_LINE, Api, X

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def second(db_url: str, clock: Clock) -> Iterator[Consentline]:
    """Another client on the same database: "another process"."""
    client = consentline.connect(db_url, clock=clock, cache_seconds=0.0)
    try:
        yield client
    finally:
        client.close()


def test_the_bound_is_at_most_one_second() -> None:
    assert REVALIDATE_SECONDS <= 1.0


def test_a_key_revoked_elsewhere_is_refused_within_the_bound(
    cl: Consentline, second: Consentline, clock: Clock
) -> None:
    here, there = cl.api_keys(clock), second.api_keys(clock)
    try:
        raw, key = here.create(account_id=None, role="read")
        assert there.authenticate(raw).id == key.id  # "there" has checked it: trusted now
        here.revoke(key.id)
        with pytest.raises(Unauthorized):
            here.authenticate(raw)  # at once where it was revoked
        clock.advance(seconds=REVALIDATE_SECONDS)
        with pytest.raises(Unauthorized):
            there.authenticate(raw)  # and within the bound everywhere else
        clock.advance(seconds=REVALIDATE_SECONDS)
        with pytest.raises(Unauthorized):
            there.authenticate(raw)  # for good
    finally:
        here.close()
        there.close()


def test_a_clock_that_goes_back_does_not_extend_the_trust(
    cl: Consentline, second: Consentline, clock: Clock
) -> None:
    here, there = cl.api_keys(clock), second.api_keys(clock)
    try:
        raw, key = here.create(account_id=None, role="read")
        there.authenticate(raw)
        here.revoke(key.id)
        clock.advance(seconds=-60)  # e.g. the system clock was stepped back
        with pytest.raises(Unauthorized):
            there.authenticate(raw)
    finally:
        here.close()
        there.close()


def test_unknown_and_missing_keys_are_refused(cl: Consentline, clock: Clock) -> None:
    keys = cl.api_keys(clock)
    try:
        raw, _ = keys.create(account_id=None, role="read")
        for bad in (None, "", "cl_" + "x" * 43, raw + "x", raw[:-1]):
            with pytest.raises(Unauthorized):
                keys.authenticate(bad)
        assert keys.authenticate(raw).role == "read"
    finally:
        keys.close()


def test_a_key_revoked_over_http_in_one_app_is_refused_by_another(
    api: Api, url: str, clock: Clock
) -> None:
    other_cl = consentline.connect(url, clock=clock, cache_seconds=0.0)
    other_keys = other_cl.api_keys(clock)
    victim = api.named["acme_read"]
    headers = {"Authorization": f"Bearer {victim}"}
    params = {"to": X, "from": ACME_LINE, "purpose": "marketing"}
    try:
        with TestClient(create_app(other_cl, Settings(), keys=other_keys)) as other:
            assert other.get("/v1/check", params=params, headers=headers).status_code == 200
            key_id = api.keys.authenticate(victim).id
            revoked = api.http.delete(f"/v1/keys/{key_id}", headers=api.key("acme_admin"))
            assert revoked.status_code == 200
            assert api.http.get("/v1/check", params=params, headers=headers).status_code == 401
            clock.advance(seconds=REVALIDATE_SECONDS)
            refused = other.get("/v1/check", params=params, headers=headers)
            assert (refused.status_code, refused.json()["code"]) == (401, "unauthorized")
            bulk = other.post(
                "/v1/check",
                json={"from": ACME_LINE, "purpose": "marketing", "recipients": [X]},
                headers=headers,
            )
            assert bulk.status_code == 401
    finally:
        other_keys.close()
        other_cl.close()
