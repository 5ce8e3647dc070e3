"""Alerts where the team is: Slack-compatible bodies and e-mail, with no number in them.

The chat hook is the stand-in HTTP server on 127.0.0.1; the mail server is aiosmtpd's
on 127.0.0.1. Both are started per test.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from consentline import Consentline
from consentline.domain.errors import InvalidInput
from consentline.domain.outbound import OutboundAllow
from consentline.jobs.alert_delivery import AlertDelivery
from consentline.jobs.mail import Mailer
from consentline.jobs.webhook_delivery import WebhookDelivery
from consentline.services import campaigns
from tests.conftest import Clock
from tests.standin import Answer, StandIn

LOOPBACK = OutboundAllow.parse("127.0.0.0/8")
LINE = "+18005550100"
NUMBERS = [f"+1415555{n:04d}" for n in range(300, 340)]


def digits_of_numbers(text: str) -> list[str]:
    return [n for n in NUMBERS if n[2:] in re.sub(r"\D", "", text) or n[5:] in text]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content.decode())
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def chat() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture
def acme(cl: Consentline) -> Consentline:
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    for number in NUMBERS:
        cl.record(number, "opt_in", account="acme", purpose="marketing", source="web_form")
    return cl


def alerts_job(cl: Consentline, clock: Clock, port: int | None = None) -> AlertDelivery:
    mailer = (
        None
        if port is None
        else Mailer("127.0.0.1", port, "alerts@consentline.test", starttls=False)
    )
    return AlertDelivery(
        cl.units, clock=clock, directory=cl.directory, allow=LOOPBACK, mailer=mailer, timeout_s=2.0
    )


def spike(cl: Consentline, clock: Clock) -> None:
    for i in range(6):
        list(cl.check_many(NUMBERS, from_=LINE, purpose="marketing", campaign=f"weekly-{i}"))
        clock.advance(days=4)
    list(cl.check_many(NUMBERS, from_=LINE, purpose="marketing", campaign="flash"))
    clock.advance(minutes=5)
    for number in NUMBERS[:9]:
        cl.record(number, "opt_out", line=LINE, source="keyword")
    campaigns.attribute(cl.units, cl.directory(), now=clock())


def test_a_spike_reaches_a_slack_hook_once_as_text_without_numbers(
    acme: Consentline, clock: Clock, chat: StandIn
) -> None:
    acme.subscribe(
        "acme", chat.url + "/slack", ["alert.opt_out_spike"], allow=LOOPBACK, format="slack"
    )
    spike(acme, clock)
    job = alerts_job(acme, clock)
    try:
        assert job.run_once() == 1
        assert job.run_once() == 0  # delivered once: the cursor moved
        campaigns.attribute(acme.units, acme.directory(), now=clock())
        assert job.run_once() == 0
    finally:
        job.close()
    [request] = chat.requests
    body = request.json()
    assert list(body) == ["text"]
    assert "opt-out spike on campaign flash" in body["text"]
    assert "9 opt-outs of 40 recipients" in body["text"] and LINE in body["text"]
    assert digits_of_numbers(request.body.decode()) == []


def test_a_spike_is_mailed_through_the_smtp_server_without_numbers(
    acme: Consentline, clock: Clock, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    acme.subscribe("acme", "mailto:ops@example.com", ["*"], format="email")
    spike(acme, clock)
    job = alerts_job(acme, clock, port)
    try:
        assert job.run_once() == 1
    finally:
        job.close()
    [mail] = inbox.messages
    assert "To: ops@example.com" in mail and "opt-out spike on campaign flash" in mail
    assert digits_of_numbers(mail) == []


def test_an_opt_out_reaches_a_chat_hook_with_its_contact_reference_and_no_number(
    acme: Consentline, clock: Clock, chat: StandIn
) -> None:
    acme.subscribe("acme", chat.url + "/slack", ["opt_out"], allow=LOOPBACK, format="slack")
    acme.record(NUMBERS[0], "opt_out", account="acme", source="keyword", contact_ref="crm:0031")
    job = WebhookDelivery(
        acme.units, clock=clock, directory=acme.directory, allow=LOOPBACK, timeout_s=2.0
    )
    try:
        assert job.run_once(wait=True) == 1
    finally:
        job.close()
    text = chat.requests[0].json()["text"]
    assert "opt-out" in text and "crm:0031" in text and "account acme" in text
    assert digits_of_numbers(text) == []


def test_a_failing_subscription_raises_one_delivery_failure_alert(
    acme: Consentline, clock: Clock, chat: StandIn
) -> None:
    with StandIn() as broken:
        broken.answer(*([Answer(500)] * 10))
        acme.subscribe("acme", broken.url + "/hooks", ["opt_out"], allow=LOOPBACK)
        acme.subscribe(
            "acme", chat.url + "/slack", ["alert.delivery_failure"], allow=LOOPBACK, format="slack"
        )
        acme.record(NUMBERS[1], "opt_out", account="acme", source="keyword")
        hooks = WebhookDelivery(
            acme.units,
            clock=clock,
            directory=acme.directory,
            allow=LOOPBACK,
            timeout_s=2.0,
            rng=lambda: 0.0,
        )
        try:
            for _ in range(3):
                hooks.run_once(wait=True)
                clock.advance(hours=2)
        finally:
            hooks.close()
    job = alerts_job(acme, clock)
    try:
        assert job.run_once() == 1
        assert job.run_once() == 0
    finally:
        job.close()
    [request] = [r for r in chat.requests if r.path == "/slack"]
    assert "has failed 3 deliveries in a row" in request.json()["text"]


def test_an_email_subscription_needs_a_mailto_url_and_a_known_format(acme: Consentline) -> None:
    with pytest.raises(InvalidInput):
        acme.subscribe("acme", "https://example.com/hook", ["*"], format="email")
    with pytest.raises(InvalidInput):
        acme.subscribe("acme", "mailto:not-an-address", ["*"], format="email")
    with pytest.raises(InvalidInput):
        acme.subscribe("acme", "https://example.com/hook", ["*"], format="teams")
    with pytest.raises(InvalidInput):
        acme.subscribe("acme", "https://example.com/hook", ["alert.nonsense"])


def test_a_review_queue_item_is_alerted_once_with_its_queue_size_and_no_body(
    acme: Consentline, clock: Clock, chat: StandIn
) -> None:
    acme.subscribe(
        "acme", chat.url + "/slack", ["alert.review_item"], allow=LOOPBACK, format="slack"
    )
    result = acme.handle_inbound(
        from_=NUMBERS[2], to=LINE, text="cancel my appointment", message_id="amb1"
    )
    assert result.review_id is not None
    job = alerts_job(acme, clock)
    try:
        assert job.run_once() == 1
        assert job.run_once() == 0
    finally:
        job.close()
    text = chat.requests[0].json()["text"]
    assert f"item #{result.review_id}, 1 open in the queue" in text and LINE in text
    assert "appointment" not in text and digits_of_numbers(text) == []
