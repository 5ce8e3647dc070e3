"""Plivo V2 over HTTP (issue 8, #3): refused by default; opted in, one request per nonce.

V2 signs the URL and a nonce, not the message: whoever saw one signed request could
post any text under it (a forged START re-subscribes someone). Both databases.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consentline.providers import WebhookRequest
from tests.http.test_webhooks import HANDSET, Hooks, make_hooks
from tests.providers import signers

NOTHING = {"events": 0, "inbound_messages": 0, "outbox": 0}
V2_NONCE = "05429567804466091622"


@pytest.fixture
def hooks(db_url: str) -> Iterator[Hooks]:
    yield from make_hooks(db_url, "https://consentline.example.com")


def forged(
    request: WebhookRequest, text: bytes = b"START", uuid: bytes = b"7ab1fe3c"
) -> WebhookRequest:
    """The same signed headers over another message: a new id and another text."""
    body = (
        request.body.replace(b"Text=STOP", b"Text=" + text)
        .replace(b"6ab1fe3c", uuid)
        .replace(b"&MessageIntent=optout", b"")
    )
    assert body != request.body
    return WebhookRequest(request.method, request.url, request.headers, body)


def nonces(hooks: Hooks) -> int:
    return hooks.count("webhook_nonces")


def test_a_v2_only_request_is_refused_by_default(hooks: Hooks) -> None:
    request, credentials = signers.plivo_v2("plivo_stop.txt", accept_v2=False)
    hooks.configure("plivo", credentials)
    response = hooks.send(request)
    assert response.status_code == 403
    assert response.json()["code"] == "signature_invalid"
    assert hooks.stored() == NOTHING and nonces(hooks) == 0


def test_v3_is_accepted_without_any_nonce_kept(hooks: Hooks) -> None:
    request, credentials = signers.plivo_v3("plivo_stop.txt")
    hooks.configure("plivo", {**credentials, "accept_v2": True})
    assert hooks.send(request).status_code == 200
    assert [e.action for e in hooks.cl.history(HANDSET, account="acme")] == ["opt_out"]
    assert nonces(hooks) == 0


def test_an_opted_in_v2_request_is_accepted_once_and_a_replay_refused(hooks: Hooks) -> None:
    request, credentials = signers.plivo_v2("plivo_stop.txt")
    hooks.configure("plivo", {**credentials, "accept_v2": True})
    first = hooks.send(request)
    assert first.status_code == 200, first.text
    assert [e.action for e in hooks.cl.history(HANDSET, account="acme")] == ["opt_out"]
    recorded = hooks.stored()

    replay = hooks.send(forged(request))  # the seen signature over a forged START
    assert replay.status_code == 403
    assert replay.json()["code"] == "signature_invalid"
    assert hooks.stored() == recorded
    assert [e.action for e in hooks.cl.history(HANDSET, account="acme")] == ["opt_out"]

    # the provider retrying the very same request can only repeat what was recorded
    again = hooks.send(request)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert hooks.stored() == recorded


def test_a_v2_nonce_is_remembered_for_the_window_then_pruned(hooks: Hooks) -> None:
    request, credentials = signers.plivo_v2("plivo_stop.txt")
    hooks.configure("plivo", {**credentials, "accept_v2": True})
    assert hooks.send(request).status_code == 200
    hooks.clock.advance(hours=23, minutes=59)
    assert hooks.send(forged(request)).status_code == 403  # still inside the window
    hooks.clock.advance(minutes=2)
    other, _ = signers.plivo_v2("plivo_stop.txt", nonce="99999999999999999999")
    assert hooks.send(forged(other, b"HELP", b"8ab1fe3c")).status_code == 200
    assert nonces(hooks) == 1  # the day-old nonce was pruned
    # which is V2's limit: a nonce forgotten can sign a forged message again
    assert hooks.send(forged(request)).status_code == 200
    assert [e.action for e in hooks.cl.history(HANDSET, account="acme")] == ["opt_out", "resume"]


def test_credentials_opt_in_to_v2_with_a_json_flag(hooks: Hooks) -> None:
    request, credentials = signers.plivo_v2("plivo_stop.txt", accept_v2=False)
    hooks.configure("plivo", {**credentials, "accept_v2": False})
    assert hooks.send(request).status_code == 403
    hooks.configure("plivo", {**credentials, "accept_v2": True})
    assert hooks.send(request).status_code == 200
