"""The reply worker: queued replies sent through the providers' send APIs.

The providers' APIs are unreachable from tests, so each test starts a stand-in
server on 127.0.0.1 and points the account's ``upstream_base_url`` at it; what the
stand-in receives is what the provider would have received.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from consentline import Consentline
from consentline.domain.outbound import OutboundAllow
from consentline.jobs.reply_delivery import MAX_ATTEMPTS, NO_PROVIDER, ReplyDelivery
from tests.conftest import Clock
from tests.standin import Answer, StandIn

LINE = "+18005550100"
X = "+14155550123"
TELNYX_OK = json.dumps({"data": {"id": "40317f5a-telnyx-msg"}}).encode()
# The stand-ins listen on 127.0.0.1, which the outbound policy refuses unless the
# installation allows it (CONSENTLINE_OUTBOUND_ALLOW=127.0.0.0/8).
LOOPBACK = OutboundAllow.parse("127.0.0.0/8")


@pytest.fixture
def provider_api() -> Iterator[StandIn]:
    with StandIn() as server:
        server.answer(Answer(200, TELNYX_OK))
        yield server


@pytest.fixture
def acme(cl: Consentline) -> Consentline:
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    cl.add_line(LINE, account="acme")
    cl.add_line("+18005550101", account="shop")
    return cl


@pytest.fixture
def job(acme: Consentline, clock: Clock) -> Iterator[ReplyDelivery]:
    sender = ReplyDelivery(
        acme.units, clock=clock, directory=acme.directory, allow=LOOPBACK, timeout_s=2.0
    )
    try:
        yield sender
    finally:
        sender.close()


def configure(cl: Consentline, account: str, provider: str, fields: dict[str, str]) -> None:
    store = cl.provider_credentials(allow=LOOPBACK)
    store.put(account_id=cl.directory().account(account).id, provider=provider, fields=fields)


def telnyx(cl: Consentline, url: str, account: str = "acme") -> None:
    configure(
        cl,
        account,
        "telnyx",
        {
            "public_key": base64.b64encode(b"k" * 32).decode(),
            "api_key": "KEY_T",
            "upstream_base_url": url,
        },
    )


def stop(cl: Consentline, provider: str = "telnyx", line: str = LINE, n: int = 1) -> int:
    result = cl.handle_inbound(from_=X, to=line, text="STOP", provider=provider, message_id=f"m{n}")
    assert result.reply is not None and result.reply.status == "pending"
    return result.reply.id


def test_an_opt_out_confirmation_goes_back_through_the_provider_it_came_from(
    acme: Consentline, job: ReplyDelivery, provider_api: StandIn
) -> None:
    telnyx(acme, provider_api.url)
    reply_id = stop(acme)

    assert job.run_once() == 1

    [request] = provider_api.requests
    assert request.method == "POST" and request.path == "/v2/messages"
    assert request.header("authorization") == "Bearer KEY_T"
    body = request.json()
    [sent] = [m for m in acme.outbox() if m.id == reply_id]
    assert body == {"from": LINE, "to": X, "text": sent.body}
    assert sent.status == "sent" and sent.detail == "telnyx 40317f5a-telnyx-msg"
    assert job.run_once() == 0 and len(provider_api.requests) == 1  # sent once


def test_credentials_on_an_ancestor_are_used_for_a_sub_accounts_line(
    acme: Consentline, job: ReplyDelivery, provider_api: StandIn
) -> None:
    telnyx(acme, provider_api.url, account="acme")
    stop(acme, line="+18005550101")
    job.run_once()
    assert provider_api.requests[0].json()["from"] == "+18005550101"


def test_a_passing_refusal_is_retried_with_backoff_within_the_five_minutes(
    acme: Consentline, job: ReplyDelivery, provider_api: StandIn, clock: Clock
) -> None:
    telnyx(acme, provider_api.url)
    reply_id = stop(acme)
    provider_api.answer(Answer(503), Answer(429), Answer(200, TELNYX_OK))

    job.run_once()
    [waiting] = [m for m in acme.outbox() if m.id == reply_id]
    assert waiting.status == "pending" and waiting.attempts == 1
    assert waiting.detail == "telnyx 503"
    assert job.run_once() == 0  # backing off: nothing is due
    clock.advance(seconds=5)
    job.run_once()
    clock.advance(seconds=10)
    job.run_once()
    [sent] = [m for m in acme.outbox() if m.id == reply_id]
    assert sent.status == "sent" and sent.attempts == 3
    assert len(provider_api.requests) == 3


def test_a_confirmation_that_cannot_go_within_five_minutes_is_dropped_never_late(
    acme: Consentline, job: ReplyDelivery, provider_api: StandIn, clock: Clock
) -> None:
    telnyx(acme, provider_api.url)
    reply_id = stop(acme)
    provider_api.answer(Answer(500))
    for _ in range(6):
        job.run_once()
        clock.advance(seconds=60)
    [dropped] = [m for m in acme.outbox() if m.id == reply_id]
    assert dropped.status == "dropped"  # C17
    assert dropped.detail == "telnyx 500; no retry within 5 minutes of receipt"
    sent_after_deadline = len(provider_api.requests)
    job.run_once()
    assert len(provider_api.requests) == sent_after_deadline


def test_a_permanent_refusal_fails_without_retrying(
    acme: Consentline, job: ReplyDelivery, provider_api: StandIn
) -> None:
    telnyx(acme, provider_api.url)
    reply_id = stop(acme)
    provider_api.answer(Answer(422, b'{"errors":[{"code":"10002"}]}'))
    job.run_once()
    [failed] = [m for m in acme.outbox() if m.id == reply_id]
    assert failed.status == "failed" and failed.detail == "telnyx 422 code 10002"
    assert X not in (failed.detail or "")  # C23: no number in the detail


def test_a_provider_that_says_the_recipient_opted_out_there_fails_the_reply(
    acme: Consentline, job: ReplyDelivery, provider_api: StandIn
) -> None:
    telnyx(acme, provider_api.url)
    reply_id = stop(acme)
    provider_api.answer(Answer(409, b'{"errors":[{"code":"40300"}]}'))
    job.run_once()
    [failed] = [m for m in acme.outbox() if m.id == reply_id]
    assert failed.status == "failed" and "40300" in (failed.detail or "")


def test_without_send_credentials_a_reply_waits_for_the_application(
    acme: Consentline, job: ReplyDelivery, provider_api: StandIn, clock: Clock
) -> None:
    reply_id = stop(acme, provider="api")  # the generic inbound API: no provider
    job.run_once()
    [waiting] = [m for m in acme.outbox() if m.id == reply_id]
    assert waiting.status == "pending" and waiting.detail == NO_PROVIDER
    assert provider_api.requests == []
    clock.advance(seconds=10)
    assert [m.id for m in acme.take_due_replies()] == []  # looked at again in 5 minutes
    clock.advance(seconds=300)
    assert [m.id for m in acme.take_due_replies()] == []  # a confirmation: past 5 min


def test_verify_only_credentials_cannot_send_and_the_reply_waits(
    acme: Consentline, job: ReplyDelivery, provider_api: StandIn
) -> None:
    configure(acme, "acme", "telnyx", {"public_key": base64.b64encode(b"k" * 32).decode()})
    reply_id = stop(acme)
    job.run_once()
    [waiting] = [m for m in acme.outbox() if m.id == reply_id]
    assert waiting.status == "pending" and "cannot send" in (waiting.detail or "")
    assert provider_api.requests == []


def test_a_double_opt_in_request_goes_through_the_accounts_send_provider(
    acme: Consentline, job: ReplyDelivery, provider_api: StandIn
) -> None:
    configure(
        acme,
        "acme",
        "vonage",
        {
            "signature_secret": "s" * 32,
            "api_key": "vk",
            "api_secret": "vs",
            "upstream_base_url": provider_api.url,
        },
    )
    provider_api.answer(
        Answer(200, json.dumps({"messages": [{"status": "0", "message-id": "V1"}]}).encode())
    )
    acme.record(X, "pending", line=LINE, purpose="marketing", source="web_form")
    assert job.run_once() == 1
    [request] = provider_api.requests
    assert request.path == "/sms/json"
    form = parse_qs(request.body.decode())
    assert form["api_key"] == ["vk"] and form["to"] == [X.lstrip("+")]
    [sent] = [m for m in acme.outbox() if m.kind == "double_opt_in_request"]
    assert sent.status == "sent" and sent.detail == "vonage V1"


def test_a_provider_that_is_down_is_retried_then_given_up(acme: Consentline, clock: Clock) -> None:
    with StandIn() as gone:
        url = gone.url
    telnyx(acme, url)  # nothing listens there any more
    acme.record(X, "pending", line=LINE, purpose="marketing", source="web_form")
    sender = ReplyDelivery(
        acme.units, clock=clock, directory=acme.directory, allow=LOOPBACK, timeout_s=1.0
    )
    try:
        for _ in range(MAX_ATTEMPTS):
            sender.run_once()
            clock.advance(seconds=600)
    finally:
        sender.close()
    [failed] = [m for m in acme.outbox() if m.kind == "double_opt_in_request"]
    assert failed.status == "failed" and failed.attempts == MAX_ATTEMPTS
    assert failed.detail == f"telnyx ConnectError; gave up after {MAX_ATTEMPTS} attempts"


def test_a_taken_reply_is_leased_so_a_second_sender_does_not_send_it_too(
    acme: Consentline, clock: Clock, provider_api: StandIn
) -> None:
    telnyx(acme, provider_api.url)
    reply_id = stop(acme)
    # An application took it to send itself (and crashed before saying how it went).
    assert [m.id for m in acme.take_due_replies()] == [reply_id]
    sender = ReplyDelivery(acme.units, clock=clock, directory=acme.directory, allow=LOOPBACK)
    try:
        assert sender.run_once() == 0 and provider_api.requests == []
        clock.advance(seconds=61)  # the lease ran out, still within the 5 minutes
        assert sender.run_once() == 1 and len(provider_api.requests) == 1
    finally:
        sender.close()
