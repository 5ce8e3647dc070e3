"""Outbound URLs chosen by tenant admins are refused at save when they point inward.

``PUT /v1/accounts/{slug}/providers/{name}`` (``upstream_base_url``: the gateway
forwards the stored credentials there) and ``POST /v1/webhooks`` (``url``) answer
a typed 422 naming the field for a loopback, private, link-local, metadata ...
address in any notation, and store nothing; ``CONSENTLINE_OUTBOUND_ALLOW``
(``Settings.outbound_allow``) lets an installation's own ranges through.
"""

from __future__ import annotations

import httpx
import pytest

from consentline.domain.outbound import OutboundAllow
from consentline.settings import Settings
from tests.http.conftest import Api

SID = "AC" + "ab" * 16
TOKEN = "tok-0123456789abcdef0123456789abcdef"

# (URL, the reason the answer names): every range the policy refuses, in the
# notations a resolver accepts for it.
BLOCKED = [
    ("http://127.0.0.1:8080", "loopback"),
    ("http://127.1", "loopback"),  # inet_aton's short form
    ("http://2130706433", "loopback"),  # one decimal number
    ("http://0x7f.0.0.1", "loopback"),  # hex
    ("http://localhost:8080", "loopback"),
    ("http://api.localhost", "loopback"),
    ("http://[::1]:8080", "loopback"),
    ("http://[::ffff:127.0.0.1]", "loopback"),  # IPv4-mapped IPv6
    ("http://[::ffff:7f00:1]", "loopback"),  # the same, in hex
    ("http://169.254.169.254/latest/meta-data", "link-local"),  # cloud metadata
    ("http://[::ffff:169.254.169.254]", "link-local"),
    ("http://[fe80::1]", "link-local"),
    ("http://metadata.google.internal", "metadata service"),
    ("http://10.0.0.1", "private"),
    ("http://172.16.5.4", "private"),
    ("http://192.168.1.1", "private"),
    ("http://[fd00:ec2::254]", "private"),  # IPv6 unique local (AWS metadata)
    ("http://[64:ff9b::a00:1]", "private"),  # NAT64 of 10.0.0.1
    ("http://[2002:a00:1::]", "private"),  # 6to4 of 10.0.0.1
    ("http://100.64.0.1", "shared (CGNAT)"),
    ("http://100.100.100.200", "shared (CGNAT)"),  # Alibaba Cloud metadata
    ("http://224.0.0.1", "multicast"),
    ("http://[ff02::1]", "multicast"),
    ("http://0.0.0.0:8080", "unspecified"),
    ("http://[::]", "unspecified"),
    ("http://198.18.0.1", "private"),  # benchmarking
    ("http://192.0.2.1", "private"),  # documentation
]
BLOCKED_IDS = [url for url, _ in BLOCKED]


def put_twilio(api: Api, upstream: str) -> httpx.Response:
    body = {"account_sid": SID, "auth_token": TOKEN, "upstream_base_url": upstream}
    return api.http.put(
        "/v1/accounts/acme/providers/twilio", json=body, headers=api.key("acme_admin")
    )


def subscribe(api: Api, url: str) -> httpx.Response:
    return api.http.post(
        "/v1/webhooks", json={"account": "acme", "url": url}, headers=api.key("acme_admin")
    )


def nothing_stored(api: Api) -> bool:
    store = api.cl.provider_credentials()
    return store.by_external_id("twilio", SID) is None and api.cl.subscriptions() == []


@pytest.mark.parametrize(("target", "reason"), BLOCKED, ids=BLOCKED_IDS)
def test_an_upstream_base_url_pointing_inward_is_a_typed_422(
    api: Api, target: str, reason: str
) -> None:
    response = put_twilio(api, target)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "blocked_destination" and body["field"] == "upstream_base_url"
    assert body["reason"] == reason and "CONSENTLINE_OUTBOUND_ALLOW" in body["message"]
    assert TOKEN not in response.text
    assert nothing_stored(api)


@pytest.mark.parametrize(("target", "reason"), BLOCKED, ids=BLOCKED_IDS)
def test_a_webhook_url_pointing_inward_is_a_typed_422(api: Api, target: str, reason: str) -> None:
    response = subscribe(api, target + "/hooks")
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "blocked_destination" and body["field"] == "url"
    assert body["reason"] == reason
    assert nothing_stored(api)


@pytest.mark.parametrize(
    "target",
    [
        "http://[::1",  # was a 500 (issue 8, #6)
        "http://[::1]x/",
        "http://relay.example:99999",
        "http://relay.example:0",
        "http://exa mple.com",
        "http://%31%32%37.0.0.1",
        "http://[fe80::1%25eth0]",
        "http://",
        "relay.example",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
    ],
)
def test_a_malformed_url_is_a_typed_422_naming_the_field_never_a_500(api: Api, target: str) -> None:
    for response, field in (
        (put_twilio(api, target), "upstream_base_url"),
        (subscribe(api, target), "url"),
    ):
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["code"] == "invalid_input" and body["field"] == field
    assert nothing_stored(api)


def test_public_hosts_are_accepted(api: Api) -> None:
    assert put_twilio(api, "https://relay.example.com/twilio").status_code == 200
    assert subscribe(api, "https://8.8.8.8/hooks").status_code == 201
    assert subscribe(api, "https://[2606:4700:4700::1111]/hooks").status_code == 201
    assert subscribe(api, "https://crm.example/hooks?tenant=1").status_code == 201


LOCAL = Settings(outbound_allow=OutboundAllow.parse("127.0.0.0/8, ::1, relay.corp"))


@pytest.mark.parametrize("settings", [LOCAL])
@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:8080",
        "http://127.0.0.2",
        "http://[::1]:8080",
        "http://[::ffff:127.0.0.1]",
        "http://relay.corp:8443",  # listed by name: whatever it resolves to
        "http://RELAY.corp.",
    ],
)
def test_the_installation_allow_list_lets_its_own_ranges_through(
    api: Api, settings: Settings, target: str
) -> None:
    assert put_twilio(api, target).status_code == 200
    assert subscribe(api, target + "/hooks").status_code == 201


@pytest.mark.parametrize("settings", [LOCAL])
@pytest.mark.parametrize(
    "target", ["http://10.0.0.1", "http://169.254.169.254", "http://localhost"]
)
def test_the_allow_list_lets_nothing_else_through(
    api: Api, settings: Settings, target: str
) -> None:
    assert put_twilio(api, target).status_code == 422
    assert subscribe(api, target).status_code == 422
    assert nothing_stored(api)
