"""The Twilio-compatible send gateway, driven by the REAL ``twilio`` SDK.

The SDK makes real HTTP requests, so this module starts two servers on 127.0.0.1
(once per module, each on a free port, in background threads):

* consentline itself, under uvicorn (``uvicorn.Server``; stopped with ``should_exit``);
* a STAND-IN for Twilio's API (``http.server``), started by this test: it records
  every request it receives and answers like Twilio's ``201`` message JSON.

The SDK is pointed at consentline with ``client.api.base_url`` and authenticates with
the AccountSid as username and a consentline API key as password; acme's stored
Twilio credentials point ``upstream_base_url`` at the stand-in, which the outbound
policy allows only because the app's settings list ``127.0.0.0/8``
(``CONSENTLINE_OUTBOUND_ALLOW``). The stand-in is not Twilio's own host, so the
gateway relays only a Twilio Message resource from it, and never its error bodies.

acme (root, US) ── shop (sub-account)       globex (another tenant)
  line ACME_LINE, pool POOL_SID line SHOP_LINE          line GLOBEX_LINE
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

import consentline
from consentline import Consentline
from consentline.domain.outbound import NOTHING, OutboundAllow
from consentline.http import create_app
from consentline.providers import gateway as gateway_module
from consentline.providers.transport import AsyncGuardedTransport
from consentline.services.credentials import CredentialSet
from consentline.settings import Settings
from tests.conftest import Clock

ACME_SID = "AC" + "a" * 32
GLOBEX_SID = "AC" + "b" * 32
UNKNOWN_SID = "AC" + "c" * 32
AUTH_TOKEN = "upstream-secret-token"
GLOBEX_TOKEN = "globex-secret-token"
POOL_SID = "MG" + "d" * 32
ACME_LINE = "+18005550100"
SHOP_LINE = "+18005550101"
GLOBEX_LINE = "+18005550199"
OPTED_OUT = "+14155550101"
OPTED_IN = "+14155550102"
UNKNOWN = "+14155550103"
LOOPBACK = OutboundAllow.parse("127.0.0.0/8")  # the stand-in's address, allowed
MESSAGE_SID = "SM" + "e" * 32


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the stand-in Twilio upstream -------------------------------------------------------


@dataclass
class Received:
    path: str
    authorization: str
    form: dict[str, str]
    pairs: list[tuple[str, str]]
    host: str


@dataclass
class StandIn:
    url: str
    received: list[Received] = field(default_factory=list)
    # (status, body, content type) to answer instead of the 201 message, when set.
    reply: tuple[int, bytes, str] | None = None

    def clear(self) -> None:
        self.received.clear()
        self.reply = None


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode()
            pairs = parse_qsl(raw, keep_blank_values=True)
            form = dict(reversed(pairs))  # the first value of each field
            standin.received.append(
                Received(
                    self.path,
                    self.headers.get("Authorization", ""),
                    form,
                    pairs,
                    self.headers.get("Host", ""),
                )
            )
            if standin.reply is not None:
                status, content, content_type = standin.reply
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                return
            sid = self.path.split("/")[3]
            body = json.dumps(
                {
                    "sid": MESSAGE_SID,
                    "account_sid": sid,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "messaging_service_sid": form.get("MessagingServiceSid"),
                    "body": form.get("Body"),
                    "status": "queued",
                    "num_segments": "1",
                    "direction": "outbound-api",
                    "api_version": "2010-04-01",
                    "uri": f"/2010-04-01/Accounts/{sid}/Messages/{MESSAGE_SID}.json",
                }
            ).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep numbers out of the test output

    return Handler


@pytest.fixture(scope="module")
def upstream() -> Iterator[StandIn]:
    port = _free_port()
    standin = StandIn(f"http://127.0.0.1:{port}")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(standin))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- consentline under uvicorn ------------------------------------------------------------


@dataclass
class Gateway:
    url: str
    cl: Consentline
    keys: dict[str, str]

    def client(self, key: str, sid: str = ACME_SID, purpose: str | None = None) -> Client:
        http = PurposeClient(purpose) if purpose else None
        client = Client(sid, self.keys[key], http_client=http)
        client.api.base_url = self.url
        return client


class PurposeClient(TwilioHttpClient):
    """The SDK's own HTTP client, adding ``X-Consent-Purpose`` to every request."""

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def request(
        self, method: str, url: str, *args: Any, headers: dict[str, str] | None = None, **kw: Any
    ) -> TwilioResponse:
        merged = {**(headers or {}), "X-Consent-Purpose": self.purpose}
        return super().request(method, url, *args, headers=merged, **kw)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, upstream: StandIn) -> Iterator[Gateway]:
    path: Path = tmp_path_factory.mktemp("gateway") / "gateway.db"
    cl = consentline.connect(f"sqlite:///{path}", clock=Clock(), cache_seconds=0.0)
    keys = cl.api_keys()
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    cl.create_account("globex", default_region="US")
    cl.add_line(ACME_LINE, account="acme")
    cl.add_line(POOL_SID, account="acme")
    cl.add_line(SHOP_LINE, account="shop")
    cl.add_line(GLOBEX_LINE, account="globex")
    directory = cl.directory()
    store = cl.provider_credentials(allow=LOOPBACK)
    store.put(
        account_id=directory.account("acme").id,
        provider="twilio",
        fields={
            "account_sid": ACME_SID,
            "auth_token": AUTH_TOKEN,
            "upstream_base_url": upstream.url,
        },
    )
    store.put(
        account_id=directory.account("globex").id,
        provider="twilio",
        fields={
            "account_sid": GLOBEX_SID,
            "auth_token": GLOBEX_TOKEN,
            "upstream_base_url": upstream.url,
        },
    )
    cl.record(OPTED_OUT, "opt_out", account="acme", source="keyword")
    cl.record(OPTED_IN, "opt_in", account="acme", purpose="marketing", source="web_form")
    named = {
        f"{account}_{role}": keys.create(account_id=directory.account(account).id, role=role)[0]
        for account in ("acme", "globex")
        for role in ("read", "write")
    }
    port = _free_port()
    config = uvicorn.Config(
        create_app(cl, Settings(outbound_allow=LOOPBACK), keys=keys),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield Gateway(f"http://127.0.0.1:{port}", cl, named)
    finally:
        server.should_exit = True
        thread.join(10)
        cl.close()


@pytest.fixture
def sent(upstream: StandIn) -> list[Received]:
    upstream.clear()
    return upstream.received


def _refused(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as raised:
        call()
    return raised.value


# -- consent ------------------------------------------------------------------------------


def test_opted_out_recipient_is_refused_as_twilio_does(
    gateway: Gateway, sent: list[Received]
) -> None:
    client = gateway.client("acme_write")
    error = _refused(lambda: client.messages.create(to=OPTED_OUT, from_=ACME_LINE, body="Sale!"))
    assert error.status == 400 and error.code == 21610
    assert error.msg.endswith(": Attempt to send to unsubscribed recipient")
    assert error.uri.endswith(f"/Accounts/{ACME_SID}/Messages.json")
    assert sent == []


def test_opted_in_recipient_is_forwarded_with_the_stored_credentials(
    gateway: Gateway, sent: list[Received]
) -> None:
    client = gateway.client("acme_write")
    message = client.messages.create(
        to=OPTED_IN, from_=ACME_LINE, body="Sale!", status_callback="https://example.com/cb"
    )
    assert message.sid == "SM" + "e" * 32 and message.status == "queued"
    assert message.to == OPTED_IN and message.body == "Sale!"
    [received] = sent
    assert received.path == f"/2010-04-01/Accounts/{ACME_SID}/Messages.json"
    expected = base64.b64encode(f"{ACME_SID}:{AUTH_TOKEN}".encode()).decode()
    assert received.authorization == f"Basic {expected}"
    assert received.form == {
        "To": OPTED_IN,
        "From": ACME_LINE,
        "Body": "Sale!",
        "StatusCallback": "https://example.com/cb",
    }


def test_no_consent_for_marketing_is_denied_with_the_reason(
    gateway: Gateway, sent: list[Received]
) -> None:
    client = gateway.client("acme_write")
    error = _refused(lambda: client.messages.create(to=UNKNOWN, from_=ACME_LINE, body="Sale!"))
    assert error.status == 400 and error.code == 21610
    assert "no_consent" in error.msg
    assert sent == []


def test_transactional_purpose_header_is_allowed(gateway: Gateway, sent: list[Received]) -> None:
    client = gateway.client("acme_write", purpose="transactional")
    message = client.messages.create(to=UNKNOWN, from_=ACME_LINE, body="Your code is 1234")
    assert message.status == "queued"
    assert [r.form["To"] for r in sent] == [UNKNOWN]


def test_a_sub_account_line_and_a_messaging_service_pool_are_lines(
    gateway: Gateway, sent: list[Received]
) -> None:
    client = gateway.client("acme_write")
    client.messages.create(to=OPTED_IN, from_=SHOP_LINE, body="Hi")
    message = client.messages.create(to=OPTED_IN, messaging_service_sid=POOL_SID, body="Hi")
    assert message.messaging_service_sid == POOL_SID
    assert [r.form.get("MessagingServiceSid") for r in sent] == [None, POOL_SID]
    error = _refused(
        lambda: client.messages.create(to=OPTED_OUT, messaging_service_sid=POOL_SID, body="x")
    )
    assert error.code == 21610 and len(sent) == 2


# -- authentication and isolation -----------------------------------------------------------


def test_a_wrong_api_key_is_401(gateway: Gateway, sent: list[Received]) -> None:
    client = Client(ACME_SID, "cl_not_a_real_key")
    client.api.base_url = gateway.url
    error = _refused(lambda: client.messages.create(to=OPTED_IN, from_=ACME_LINE, body="x"))
    assert error.status == 401 and error.code == 20003 and error.msg.endswith("Authenticate")
    assert sent == []


def test_the_twilio_auth_token_is_not_a_consentline_key(
    gateway: Gateway, sent: list[Received]
) -> None:
    client = Client(ACME_SID, AUTH_TOKEN)
    client.api.base_url = gateway.url
    error = _refused(lambda: client.messages.create(to=OPTED_IN, from_=ACME_LINE, body="x"))
    assert error.status == 401 and sent == []


def test_a_key_of_another_tenant_reaches_nothing(gateway: Gateway, sent: list[Received]) -> None:
    client = gateway.client("globex_write")  # username ACME_SID, globex's key
    error = _refused(lambda: client.messages.create(to=OPTED_IN, from_=ACME_LINE, body="x"))
    assert error.status == 404 and error.code == 20404
    assert sent == []


def test_a_read_key_may_not_send(gateway: Gateway, sent: list[Received]) -> None:
    client = gateway.client("acme_read")
    error = _refused(lambda: client.messages.create(to=OPTED_IN, from_=ACME_LINE, body="x"))
    assert error.status == 403 and error.code == 20403
    assert sent == []


def test_an_unknown_account_sid_is_404(gateway: Gateway, sent: list[Received]) -> None:
    client = gateway.client("acme_write", sid=UNKNOWN_SID)
    error = _refused(lambda: client.messages.create(to=OPTED_IN, from_=ACME_LINE, body="x"))
    assert error.status == 404 and error.code == 20404
    assert sent == []


def test_from_must_be_a_line_of_the_account(gateway: Gateway, sent: list[Received]) -> None:
    client = gateway.client("acme_write")
    for sender in (GLOBEX_LINE, "+18005550142"):
        error = _refused(
            lambda sender=sender: client.messages.create(to=OPTED_IN, from_=sender, body="x")
        )
        assert error.status == 400 and error.code == 21606
        assert "not a valid, SMS-capable inbound phone number" in error.msg
    assert sent == []


def test_an_unreachable_upstream_is_502(gateway: Gateway, sent: list[Received]) -> None:
    directory = gateway.cl.directory()
    store = gateway.cl.provider_credentials(allow=LOOPBACK)
    closed = f"http://127.0.0.1:{_free_port()}"
    store.put(
        account_id=directory.account("globex").id,
        provider="twilio",
        fields={"account_sid": GLOBEX_SID, "auth_token": GLOBEX_TOKEN, "upstream_base_url": closed},
    )
    gateway.cl.record(OPTED_IN, "opt_in", account="globex", purpose="marketing", source="web_form")
    client = gateway.client("globex_write", sid=GLOBEX_SID)
    error = _refused(lambda: client.messages.create(to=OPTED_IN, from_=GLOBEX_LINE, body="x"))
    assert error.status == 502 and error.code == 20502
    assert sent == []


def test_nothing_logs_numbers_or_bodies(
    gateway: Gateway, sent: list[Received], caplog: pytest.LogCaptureFixture
) -> None:
    client = gateway.client("acme_write")
    with caplog.at_level("INFO", logger="consentline.gateway"):
        client.messages.create(to=OPTED_IN, from_=ACME_LINE, body="secret words")
        _refused(lambda: client.messages.create(to=OPTED_OUT, from_=ACME_LINE, body="hush"))
    lines = [r.getMessage() for r in caplog.records if r.name == "consentline.gateway"]
    assert len(lines) == 2
    assert "allowed" in lines[0] and "account=acme" in lines[0]
    assert "denied" in lines[1] and "reason=opted_out" in lines[1]
    for line in lines:
        for secret in (OPTED_IN, OPTED_OUT, ACME_LINE, "secret words", "hush"):
            assert secret not in line


# -- one value per field, and Twilio's answer for a bad To (issue 8, #9) --------------------


class SmugglingClient(TwilioHttpClient):
    """The SDK's own HTTP client, sending ``extra`` fields after the SDK's."""

    def __init__(self, extra: list[tuple[str, str]]) -> None:
        super().__init__()
        self.extra = extra

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        *args: Any,
        **kw: Any,
    ) -> TwilioResponse:
        pairs = [
            (name, item)
            for name, value in (data or {}).items()
            for item in (value if isinstance(value, list) else [value])
        ]
        smuggled: Any = [*pairs, *self.extra]  # a list of pairs: requests repeats names
        return super().request(method, url, params, smuggled, *args, **kw)


def _smuggling(gateway: Gateway, extra: list[tuple[str, str]]) -> Client:
    client = Client(ACME_SID, gateway.keys["acme_write"], http_client=SmugglingClient(extra))
    client.api.base_url = gateway.url
    return client


@pytest.mark.parametrize(
    ("to", "extra", "code"),
    [
        (OPTED_IN, ("To", OPTED_OUT), 21211),  # checked: the first; sent: both
        (OPTED_OUT, ("To", OPTED_IN), 21211),
        (OPTED_IN, ("From", GLOBEX_LINE), 21212),
        (OPTED_IN, ("Body", "a second text"), 70002),
        (OPTED_IN, ("MessagingServiceSid", POOL_SID), None),  # once only: not a repeat
    ],
)
def test_a_repeated_field_is_refused_before_anything_is_forwarded(
    gateway: Gateway, sent: list[Received], to: str, extra: tuple[str, str], code: int | None
) -> None:
    client = _smuggling(gateway, [extra])
    if code is None:
        client.messages.create(to=to, from_=ACME_LINE, body="Sale!")
        assert len(sent) == 1
        return
    error = _refused(lambda: client.messages.create(to=to, from_=ACME_LINE, body="Sale!"))
    assert error.status == 400 and error.code == code
    assert f"'{extra[0]}' is given more than once" in error.msg
    assert sent == []


def test_a_repeated_field_is_found_however_its_name_is_encoded(
    gateway: Gateway, sent: list[Received]
) -> None:
    body = f"To={OPTED_IN}&From={ACME_LINE}&Body=x&T%6F={OPTED_OUT}".replace("+", "%2B")
    answer = httpx.post(
        f"{gateway.url}/2010-04-01/Accounts/{ACME_SID}/Messages.json",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(ACME_SID, gateway.keys["acme_write"]),
    )
    assert answer.status_code == 400 and answer.json()["code"] == 21211
    assert sent == []


def test_twilios_list_parameters_may_repeat_and_are_forwarded_whole(
    gateway: Gateway, sent: list[Received]
) -> None:
    client = gateway.client("acme_write")
    media = ["https://cdn.example/1.png", "https://cdn.example/2.png"]
    client.messages.create(to=OPTED_IN, from_=ACME_LINE, body="Pics", media_url=media)
    [received] = sent
    assert [v for k, v in received.pairs if k == "MediaUrl"] == media
    assert [k for k, _ in received.pairs].count("To") == 1


@pytest.mark.parametrize("to", ["not-a-number", "+1", "12"])
def test_an_invalid_to_is_400_21211_as_twilio_answers_it(
    gateway: Gateway, sent: list[Received], to: str
) -> None:
    client = gateway.client("acme_write")
    error = _refused(lambda: client.messages.create(to=to, from_=ACME_LINE, body="x"))
    assert error.status == 400 and error.code == 21211
    assert error.msg.endswith("Invalid 'To' Phone Number")
    assert sent == []


# -- what comes back from an upstream that is not Twilio's own API (issue 8, #7) -----------


@pytest.mark.parametrize(
    "reply",
    [
        (404, b'{"code": 20404, "message": "internal: db password hunter2"}', "application/json"),
        (400, b'{"code": 21610, "message": "hunter2"}', "application/json"),
        (200, b"<html>hunter2 admin console</html>", "text/html"),
        (201, b'{"sid": "hunter2", "status": "queued"}', "application/json"),
        (500, b"hunter2", "text/plain"),
    ],
)
def test_a_non_twilio_upstreams_answer_is_never_echoed_on_failure(
    gateway: Gateway, upstream: StandIn, sent: list[Received], reply: tuple[int, bytes, str]
) -> None:
    upstream.reply = reply
    client = gateway.client("acme_write")
    error = _refused(lambda: client.messages.create(to=OPTED_IN, from_=ACME_LINE, body="x"))
    assert error.status == 502 and error.code == 20502
    assert error.msg.endswith(gateway_module.RELAY_FAILED_MESSAGE)
    assert "hunter2" not in error.msg and len(sent) == 1


def test_only_a_message_resources_fields_come_back_from_a_non_twilio_upstream(
    gateway: Gateway, upstream: StandIn, sent: list[Received]
) -> None:
    resource = {"sid": MESSAGE_SID, "status": "queued", "to": OPTED_IN, "internal": "hunter2"}
    upstream.reply = (201, json.dumps(resource).encode(), "text/html")
    answer = httpx.post(
        f"{gateway.url}/2010-04-01/Accounts/{ACME_SID}/Messages.json",
        data={"To": OPTED_IN, "From": ACME_LINE, "Body": "x"},
        auth=(ACME_SID, gateway.keys["acme_write"]),
    )
    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"sid": MESSAGE_SID, "status": "queued", "to": OPTED_IN}


def _credentials(base_url: str | None) -> CredentialSet:
    fields = {"account_sid": ACME_SID, "auth_token": AUTH_TOKEN}
    if base_url is not None:
        fields["upstream_base_url"] = base_url
    return CredentialSet(1, "twilio", fields, Clock().now)


PAIRS = [("To", OPTED_IN), ("From", ACME_LINE), ("Body", "x")]


async def _forward(
    stored: CredentialSet,
    *,
    allow: OutboundAllow = NOTHING,
    transport: httpx.AsyncBaseTransport | None = None,
) -> gateway_module.Upstream:
    """The checked PAIRS forwarded on a gateway client as the app opens it."""
    async with gateway_module.http_client(allow, transport=transport) as http:
        return await gateway_module.forward(http, stored.fields, PAIRS)


def test_the_gateway_does_not_connect_to_a_loopback_upstream_unless_allowed(
    upstream: StandIn, sent: list[Received]
) -> None:
    # Stored while the installation allowed it; the gateway now runs without the list.
    stored = _credentials(upstream.url)
    with pytest.raises(gateway_module.GatewayError) as raised:
        asyncio.run(_forward(stored, allow=NOTHING))
    assert (raised.value.status, raised.value.twilio_code) == (502, 20502)
    assert raised.value.message == gateway_module.RELAY_FAILED_MESSAGE
    assert sent == []  # refused before connecting: the stand-in heard nothing


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(
    upstream: StandIn, sent: list[Received]
) -> None:
    port = upstream.url.rsplit(":", 1)[1]
    stored = _credentials(f"http://twilio-relay.example:{port}")  # a public-looking name

    def resolve(host: str, _port: int) -> list[str]:
        assert host == "twilio-relay.example"
        return ["127.0.0.1"]  # ... whose DNS answers loopback (or rebinds to it)

    blocked = AsyncGuardedTransport(NOTHING, resolve=resolve)
    with pytest.raises(gateway_module.GatewayError) as raised:
        asyncio.run(_forward(stored, transport=blocked))
    assert raised.value.status == 502 and sent == []
    allowed = AsyncGuardedTransport(LOOPBACK, resolve=resolve)
    answer = asyncio.run(_forward(stored, transport=allowed))
    assert answer.status == 201
    [received] = sent  # connected to the checked address, Host still the URL's
    assert received.host == f"twilio-relay.example:{port}"


def test_twilios_own_answers_pass_through_unchanged() -> None:
    twilio_error = b'{"code": 21610, "message": "Attempt to send to unsubscribed recipient"}'

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "api.twilio.com"
        return httpx.Response(400, content=twilio_error, headers={"content-type": "x/y"})

    answer = asyncio.run(_forward(_credentials(None), transport=httpx.MockTransport(handler)))
    assert (answer.status, answer.content, answer.content_type) == (400, twilio_error, "x/y")


@pytest.mark.parametrize(
    ("url", "twilio"),
    [
        ("https://api.twilio.com/2010-04-01/x", True),
        ("https://api.dublin.ie1.twilio.com/x", True),
        ("https://api.twilio.com:443/x", True),
        ("http://api.twilio.com/x", False),
        ("https://api.twilio.com:8443/x", False),
        ("https://twilio.com.evil.example/x", False),
        ("https://eviltwilio.com/x", False),
        ("http://127.0.0.1:9/x", False),
    ],
)
def test_only_https_hosts_under_twilio_com_are_twilios_own(url: str, twilio: bool) -> None:
    assert gateway_module.is_twilio(url) is twilio
