"""Single-use nonces (Plivo V2, opted in): one request per nonce, atomically, both DBs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from consentline import Consentline
from consentline.domain.errors import SignatureInvalid
from consentline.providers import WebhookRequest
from consentline.services.credentials import NONCE_WINDOW, ProviderCredentials
from tests.conftest import Clock

URL = "https://consentline.example.com/webhooks/plivo"
NONCE = "05429567804466091622"


def request(text: str) -> WebhookRequest:
    body = f"From=14155550101&To=18005550100&Text={text}&MessageUUID=u-{text}".encode()
    return WebhookRequest.create("POST", URL, {}, body)


def race(store: ProviderCredentials, requests: list[WebhookRequest]) -> list[bool]:
    """Claim NONCE for every request at once; which claims passed."""
    barrier = threading.Barrier(len(requests))

    def claim(hook: WebhookRequest) -> bool:
        barrier.wait()
        try:
            store.claim_nonce("plivo", NONCE, hook)
        except SignatureInvalid:
            return False
        return True

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(claim, requests))


def test_two_requests_racing_on_one_nonce_cannot_both_pass(cl: Consentline, clock: Clock) -> None:
    store = cl.provider_credentials(clock)
    passed = race(store, [request(f"START{i}") for i in range(8)])
    assert passed.count(True) == 1
    # and the loser stays refused afterwards, whichever it was
    for i, ok in enumerate(passed):
        if not ok:
            with pytest.raises(SignatureInvalid):
                store.claim_nonce("plivo", NONCE, request(f"START{i}"))


def test_the_same_request_retried_at_once_passes_every_time(cl: Consentline, clock: Clock) -> None:
    store = cl.provider_credentials(clock)
    assert race(store, [request("STOP")] * 4) == [True] * 4


def test_a_nonce_is_per_provider_and_forgotten_after_the_window(
    cl: Consentline, clock: Clock
) -> None:
    store = cl.provider_credentials(clock)
    store.claim_nonce("plivo", NONCE, request("STOP"))
    store.claim_nonce("other", NONCE, request("START"))  # another provider's namespace
    with pytest.raises(SignatureInvalid):
        store.claim_nonce("plivo", NONCE, request("START"))
    clock.advance(seconds=NONCE_WINDOW.total_seconds() + 1)
    store.claim_nonce("plivo", NONCE, request("START"))  # expired: taken over
    with pytest.raises(SignatureInvalid):
        store.claim_nonce("plivo", NONCE, request("STOP"))
