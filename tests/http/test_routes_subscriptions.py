"""``/v1/webhooks``: subscribing over HTTP, and a consent posted to the API reaching
the subscriber (a stand-in server on 127.0.0.1), signed as the README documents."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

import pytest

from consentline.domain.outbound import OutboundAllow
from consentline.domain.signing import verify
from consentline.jobs.webhook_delivery import WebhookDelivery
from consentline.settings import Settings
from tests.conftest import Clock
from tests.http.conftest import Api
from tests.standin import StandIn


@pytest.fixture
def receiver() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


def test_a_subscription_is_created_with_its_secret_shown_once(api: Api) -> None:
    created = api.http.post(
        "/v1/webhooks",
        json={"account": "acme", "url": "https://crm.example/hooks", "events": ["opt_out"]},
        headers=api.key("acme_admin"),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["opt_out"]
    assert body["status"] == "active" and body["delivered"] == 0
    shown = api.http.get(f"/v1/webhooks/{body['id']}", headers=api.key("acme_read")).json()
    assert "secret" not in shown and shown["url"] == "https://crm.example/hooks"
    listed = api.http.get("/v1/webhooks", headers=api.key("acme_read")).json()
    assert [s["id"] for s in listed["webhooks"]] == [body["id"]]
    assert all("secret" not in s for s in listed["webhooks"])


def test_events_default_to_everything(api: Api) -> None:
    created = api.http.post(
        "/v1/webhooks",
        json={"account": "shop", "url": "https://crm.example/hooks"},
        headers=api.key("shop_admin"),
    )
    assert created.status_code == 201 and created.json()["events"] == ["*"]


def test_a_deleted_subscription_is_gone(api: Api) -> None:
    sub_id = api.cl.subscribe("acme", "https://crm.example/hooks")[0].id
    deleted = api.http.delete(f"/v1/webhooks/{sub_id}", headers=api.key("acme_admin"))
    assert deleted.status_code == 204 and deleted.content == b""
    again = api.http.get(f"/v1/webhooks/{sub_id}", headers=api.key("acme_admin"))
    assert again.status_code == 404 and again.json()["code"] == "unknown_subscription"
    twice = api.http.delete(f"/v1/webhooks/{sub_id}", headers=api.key("acme_admin"))
    assert twice.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"account": "acme", "url": "ftp://crm.example/h"}, 422, "invalid_input"),
        ({"account": "acme", "url": "https://a:b@crm.example/h"}, 422, "invalid_input"),
        ({"account": "acme", "url": "http://[::1"}, 422, "invalid_input"),
        ({"account": "acme", "url": "http://127.0.0.1:9/h"}, 422, "blocked_destination"),
        ({"account": "acme", "url": "http://169.254.169.254/"}, 422, "blocked_destination"),
        ({"account": "acme", "url": "https://crm.example/h", "events": ["nope"]}, 422, None),
        ({"account": "acme", "url": "https://crm.example/h", "events": []}, 422, None),
        ({"account": "acme", "url": "https://crm.example/h", "extra": 1}, 422, None),
        ({"account": "acme"}, 422, None),
        ({"account": "nobody", "url": "https://crm.example/h"}, 404, "unknown_account"),
    ],
)
def test_bad_subscriptions_get_a_typed_4xx_and_nothing_is_stored(
    api: Api, body: dict[str, object], status: int, code: str | None
) -> None:
    response = api.http.post("/v1/webhooks", json=body, headers=api.key("acme_admin"))
    assert response.status_code == status, response.text
    assert "code" in response.json()
    if code is not None:
        assert response.json()["code"] == code
    assert api.cl.subscriptions() == []


@pytest.mark.parametrize("path", ["/v1/webhooks/0", "/v1/webhooks/abc", "/v1/webhooks/99"])
def test_bad_or_unknown_ids_are_4xx(api: Api, path: str) -> None:
    response = api.http.get(path, headers=api.key("acme_admin"))
    assert response.status_code in (404, 422)
    assert "code" in response.json()


# The receiver listens on 127.0.0.1: the installation allows it, as tests must.
LOOPBACK = OutboundAllow.parse("127.0.0.0/8")


@pytest.mark.parametrize(
    "settings", [Settings(max_body=64 * 1024, outbound_allow=LOOPBACK)], ids=["loopback"]
)
def test_a_consent_posted_to_the_api_reaches_the_subscriber_signed(
    api: Api, receiver: StandIn, clock: Clock, settings: Settings
) -> None:
    created = api.http.post(
        "/v1/webhooks",
        json={"account": "acme", "url": receiver.url + "/consent", "events": ["opt_out"]},
        headers=api.key("acme_admin"),
    ).json()
    recorded = api.consent("acme_write", action="opt_out").json()
    job = WebhookDelivery(
        api.cl.units, clock=clock, directory=api.cl.directory, allow=settings.outbound_allow
    )
    try:
        assert job.run_once(wait=True) == 1
    finally:
        job.close()

    [request] = receiver.requests
    timestamp = request.header("consentline-timestamp")
    signature = request.header("consentline-signature")
    assert timestamp is not None and signature is not None
    # What a receiver does, by hand (README, "Outbound webhooks") ...
    mac = hmac.new(created["secret"].encode(), f"{timestamp}.".encode() + request.body, "sha256")
    assert hmac.compare_digest(signature, "v1=" + mac.hexdigest())
    # ... and with the helper consentline ships for Python receivers.
    verify(created["secret"], timestamp, request.body, signature, now=clock.now.timestamp())
    assert request.json()["event"]["hash"] == recorded["hash"]
    assert request.header("consentline-event-id") == str(recorded["id"])
    state = api.http.get(f"/v1/webhooks/{created['id']}", headers=api.key("acme_read")).json()
    assert state["delivered"] == 1 and state["last_success_at"] is not None
