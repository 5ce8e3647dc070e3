"""The outbound policy at connect time: resolve, check every address, connect to it.

Stand-ins listen on 127.0.0.1 (tests never leave the machine); host names are
resolved by a resolver the test controls, so that "a public-looking name whose
DNS answers a private address" (or rebinds to one) can be played out. The TLS
test uses a CA made by ``trustme`` for the name ``hooks.test``.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import trustme

from consentline import Consentline
from consentline.domain.outbound import NOTHING, OutboundAllow
from consentline.jobs.reply_delivery import ReplyDelivery
from consentline.jobs.webhook_delivery import BLOCKED, WebhookDelivery
from consentline.providers.transport import (
    BlockedConnection,
    guarded_async_client,
    guarded_client,
)
from tests.conftest import Clock
from tests.standin import StandIn

LOOPBACK = OutboundAllow.parse("127.0.0.0/8")
X = "+14155550123"


@pytest.fixture
def receiver() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


class Resolver:
    """A DNS stand-in: answers ``addresses`` for every name, and counts the lookups."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.addresses


def port_of(server: StandIn) -> int:
    return int(server.url.rsplit(":", 1)[1])


def test_loopback_is_refused_by_default_before_anything_is_sent(receiver: StandIn) -> None:
    with guarded_client(timeout=2.0) as http:
        for url in (
            receiver.url,
            f"http://2130706433:{port_of(receiver)}/",  # the C resolver's 127.0.0.1
            f"http://0x7f.1:{port_of(receiver)}/",
            f"http://[::ffff:127.0.0.1]:{port_of(receiver)}/",
            f"http://localhost:{port_of(receiver)}/",
        ):
            with pytest.raises(BlockedConnection, match="loopback"):
                http.get(url)
    assert receiver.requests == []


def test_the_allow_list_lets_loopback_through(receiver: StandIn) -> None:
    with guarded_client(LOOPBACK, timeout=2.0) as http:
        assert http.get(receiver.url + "/x").status_code == 200
    assert [r.path for r in receiver.requests] == ["/x"]


@pytest.mark.parametrize(
    "answer",
    [
        ("127.0.0.1",),
        ("10.0.0.7",),
        ("169.254.169.254",),
        ("::1",),
        ("::ffff:192.168.0.1",),
        ("93.184.215.14", "127.0.0.1"),  # every address is checked, not just the first
    ],
)
def test_a_name_resolving_to_an_inward_address_is_refused_at_connect_time(
    receiver: StandIn, answer: tuple[str, ...]
) -> None:
    resolve = Resolver(*answer)
    with (
        guarded_client(timeout=2.0, resolve=resolve) as http,
        pytest.raises(BlockedConnection, match="destination not allowed"),
    ):
        http.post(f"http://crm.example:{port_of(receiver)}/hooks", content=b"{}")
    assert resolve.asked == ["crm.example"] and receiver.requests == []


def test_the_connection_goes_to_the_checked_address_not_to_a_second_lookup(
    receiver: StandIn,
) -> None:
    # ``hooks.test`` has no address in real DNS: the request can only arrive if the
    # transport connected to the address it checked, without resolving again.
    resolve = Resolver("127.0.0.1")
    with guarded_client(LOOPBACK, timeout=2.0, resolve=resolve) as http:
        assert http.get(f"http://hooks.test:{port_of(receiver)}/a").status_code == 200
        assert http.get(f"http://hooks.test:{port_of(receiver)}/b").status_code == 200
    assert [r.header("host") for r in receiver.requests] == [f"hooks.test:{port_of(receiver)}"] * 2
    # One lookup per connection (the stand-in speaks HTTP/1.0: one request each).
    assert resolve.asked == ["hooks.test"] * 2


def test_a_rebinding_name_is_checked_again_for_every_new_connection(receiver: StandIn) -> None:
    resolve = Resolver("127.0.0.1")
    allow = OutboundAllow.parse("127.0.0.1/32")
    url = f"http://rebind.test:{port_of(receiver)}/"
    with guarded_client(allow, timeout=2.0, resolve=resolve) as http:
        assert http.get(url, headers={"Connection": "close"}).status_code == 200
        resolve.addresses = ["127.0.0.2"]  # the name now answers another, unlisted address
        with pytest.raises(BlockedConnection):
            http.get(url)
    assert len(receiver.requests) == 1 and resolve.asked == ["rebind.test"] * 2


def test_a_name_listed_in_the_allow_list_is_trusted_whatever_it_resolves_to(
    receiver: StandIn,
) -> None:
    with guarded_client(OutboundAllow.parse("localhost"), timeout=2.0) as http:
        assert http.get(f"http://localhost:{port_of(receiver)}/").status_code == 200


def test_the_async_client_applies_the_same_policy(receiver: StandIn) -> None:
    async def go() -> None:
        async with guarded_async_client(timeout=2.0) as http:
            with pytest.raises(BlockedConnection):
                await http.get(receiver.url)
        resolve = Resolver("10.0.0.1")
        async with guarded_async_client(LOOPBACK, timeout=2.0, resolve=resolve) as http:
            with pytest.raises(BlockedConnection):
                await http.get(f"http://crm.example:{port_of(receiver)}/")
        async with guarded_async_client(LOOPBACK, timeout=2.0) as http:
            assert (await http.get(receiver.url)).status_code == 200

    asyncio.run(go())
    assert len(receiver.requests) == 1


# -- TLS: SNI and certificate checks stay the URL's host's ---------------------------------


@pytest.fixture
def tls_server() -> Iterator[tuple[int, trustme.CA, list[str | None]]]:
    ca = trustme.CA()
    names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.test").configure_cert(context)

    def seen(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    context.sni_callback = seen  # type: ignore[assignment]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), ca, names
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_https_to_a_checked_address_still_verifies_the_names_certificate(
    tls_server: tuple[int, trustme.CA, list[str | None]],
) -> None:
    port, ca, names = tls_server
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    with guarded_client(
        LOOPBACK, timeout=5.0, resolve=Resolver("127.0.0.1"), verify=trusted
    ) as http:
        assert http.get(f"https://hooks.test:{port}/").status_code == 204
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            http.get(f"https://127.0.0.1:{port}/")  # the certificate is for hooks.test only
    assert names[0] == "hooks.test"  # SNI is the URL's host, not the address


# -- the senders record a coarse error and contact nothing -------------------------------


def _closed_port() -> int:
    with StandIn() as gone:
        return port_of(gone)


def test_a_blocked_subscriber_gets_the_same_error_listening_or_not(
    cl: Consentline, clock: Clock, receiver: StandIn
) -> None:
    cl.create_account("t", default_region="US")
    # Saved when the installation allowed loopback (or before URLs were checked).
    listening, _ = cl.subscribe("t", receiver.url + "/hooks", allow=LOOPBACK)
    closed, _ = cl.subscribe("t", f"http://127.0.0.1:{_closed_port()}/hooks", allow=LOOPBACK)
    cl.record(X, "opt_out", account="t", source="keyword")
    job = WebhookDelivery(cl.units, clock=clock, directory=cl.directory, rng=lambda: 0.0)
    try:
        assert job.run_once(wait=True) == 0
    finally:
        job.close()
    assert receiver.requests == []
    errors = {cl.subscription(s.id).last_error for s in (listening, closed)}
    assert errors == {BLOCKED} == {"destination not allowed"}  # nothing to tell them apart


def test_a_subscriber_name_resolving_inward_is_not_contacted(
    cl: Consentline, clock: Clock, receiver: StandIn
) -> None:
    cl.create_account("t", default_region="US")
    sub, _ = cl.subscribe("t", f"http://crm.example:{port_of(receiver)}/hooks")  # saved: a name
    cl.record(X, "opt_out", account="t", source="keyword")
    http = guarded_client(NOTHING, timeout=2.0, resolve=Resolver("127.0.0.1"))
    job = WebhookDelivery(cl.units, clock=clock, directory=cl.directory, http=http)
    try:
        job.run_once(wait=True)
    finally:
        job.close()
        http.close()
    assert receiver.requests == [] and cl.subscription(sub.id).last_error == BLOCKED


def test_a_reply_to_a_blocked_upstream_is_not_sent(
    cl: Consentline, clock: Clock, receiver: StandIn
) -> None:
    cl.create_account("acme", default_region="US")
    cl.add_line("+18005550100", account="acme")
    cl.provider_credentials(allow=LOOPBACK).put(
        account_id=cl.directory().account("acme").id,
        provider="telnyx",
        fields={
            "public_key": base64.b64encode(b"k" * 32).decode(),
            "api_key": "KEY",
            "upstream_base_url": receiver.url,
        },
    )
    cl.record(X, "pending", line="+18005550100", purpose="marketing", source="web_form")
    job = ReplyDelivery(cl.units, clock=clock, directory=cl.directory)  # no allow-list
    try:
        assert job.run_once() == 1
    finally:
        job.close()
    assert receiver.requests == []
    [reply] = [m for m in cl.outbox() if m.kind == "double_opt_in_request"]
    assert reply.status == "pending" and reply.detail == "telnyx destination not allowed"
