"""Outbound webhooks: subscriptions, signed deliveries, retries, order, reach.

Subscribers are a stand-in HTTP server on 127.0.0.1 started by each test (tests
never leave the machine). Signatures are checked here with ``hmac`` directly, not
with consentline's own verifier, so a mistake in both would not cancel out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from consentline import Consentline
from consentline.domain.errors import InvalidInput, UnknownAccount
from consentline.domain.outbound import OutboundAllow
from consentline.domain.retry import WEBHOOK_RETRY
from consentline.jobs import webhook_delivery
from consentline.jobs.webhook_delivery import WebhookDelivery
from consentline.jobs.worker import Worker
from consentline.services.subscriptions import TooManySubscriptions, UnknownSubscription
from consentline.storage.uow import UnitOfWork
from tests.conftest import Clock, WorkedSetup, worked_setup
from tests.standin import Answer, Recorded, StandIn

X = "+14155550123"
Y = "+14155550124"
# The stand-in subscribers listen on 127.0.0.1, which the outbound policy refuses
# unless the installation allows it (CONSENTLINE_OUTBOUND_ALLOW=127.0.0.0/8).
LOOPBACK = OutboundAllow.parse("127.0.0.0/8")


@pytest.fixture
def setup(cl: Consentline) -> WorkedSetup:
    return worked_setup(cl)


@pytest.fixture
def receiver() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture
def delivery(cl: Consentline, clock: Clock) -> Iterator[WebhookDelivery]:
    job = WebhookDelivery(
        cl.units,
        clock=clock,
        directory=cl.directory,
        allow=LOOPBACK,
        timeout_s=2.0,
        rng=lambda: 0.0,
    )
    try:
        yield job
    finally:
        job.close()


def expected_signature(secret: str, request: Recorded) -> str:
    timestamp = request.header("consentline-timestamp")
    assert timestamp is not None
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def test_an_opt_out_is_delivered_signed_with_its_event_id(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery, clock: Clock
) -> None:
    cl = setup.cl
    sub, secret = cl.subscribe("t", receiver.url + "/hooks", ["opt_out"], allow=LOOPBACK)
    event = cl.record(X, "opt_out", account="a", source="web_form")

    assert delivery.run_once(wait=True) == 1

    [request] = receiver.requests
    assert request.method == "POST" and request.path == "/hooks"
    assert request.header("consentline-signature") == expected_signature(secret, request)
    assert request.header("consentline-event-id") == str(event.id)
    assert request.header("consentline-subscription") == str(sub.id)
    assert request.header("consentline-timestamp") == str(int(clock.now.timestamp()))
    body = request.json()
    assert body["id"] == event.id and body["type"] == "consent.opt_out"
    assert body["event"]["address"] == X and body["event"]["hash"] == event.hash
    assert body["event"]["where"] == "account a"
    assert cl.subscription(sub.id).delivered == 1
    assert delivery.run_once(wait=True) == 0  # nothing new: nothing sent again
    assert len(receiver.requests) == 1


def test_a_new_subscription_hears_only_of_later_changes(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery
) -> None:
    cl = setup.cl
    cl.record(X, "opt_out", account="a", source="web_form")
    cl.subscribe("t", receiver.url, allow=LOOPBACK)
    later = cl.record(Y, "opt_out", account="a", source="web_form")
    delivery.run_once(wait=True)
    assert [r.json()["id"] for r in receiver.requests] == [later.id]


def test_events_it_did_not_ask_for_are_skipped_but_passed(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery
) -> None:
    cl = setup.cl
    cl.subscribe("t", receiver.url, ["opt_out"], allow=LOOPBACK)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    out = cl.record(X, "opt_out", account="a", source="keyword")
    cl.record(Y, "opt_in", account="a", purpose="marketing", source="web_form")
    assert delivery.run_once(wait=True) == 1
    assert [r.json()["type"] for r in receiver.requests] == ["consent.opt_out"]
    assert receiver.requests[0].json()["id"] == out.id
    assert delivery.run_once(wait=True) == 0  # the skipped ones are behind the cursor


def test_a_sub_account_hears_its_subtree_and_the_ancestors_that_govern_it(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery
) -> None:
    cl = setup.cl
    cl.create_account("other", default_region="US")
    cl.add_line("+18005550199", account="other")
    cl.subscribe("b", receiver.url, allow=LOOPBACK)
    on_b_line = cl.record(X, "opt_out", line=setup.L3, source="keyword")
    on_tenant = cl.record(Y, "opt_out", account="t", source="keyword")
    cl.record(X, "opt_out", line=setup.L1, source="keyword")  # sibling line under a
    cl.record(X, "opt_out", account="other", source="keyword")  # another tenant
    delivery.run_once(wait=True)
    assert [r.json()["id"] for r in receiver.requests] == [on_b_line.id, on_tenant.id]


def test_an_isolated_account_does_not_hear_of_changes_above_its_boundary(
    cl: Consentline, receiver: StandIn, delivery: WebhookDelivery
) -> None:
    worked_setup(cl, b_isolated=True)
    cl.subscribe("b", receiver.url, allow=LOOPBACK)
    cl.record(X, "opt_out", account="t", source="keyword")
    mine = cl.record(X, "opt_out", account="b", source="keyword")
    delivery.run_once(wait=True)
    assert [r.json()["id"] for r in receiver.requests] == [mine.id]


def test_a_failing_subscriber_is_retried_with_backoff_and_in_order(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery, clock: Clock
) -> None:
    cl = setup.cl
    sub, _ = cl.subscribe("t", receiver.url, allow=LOOPBACK)
    first = cl.record(X, "opt_out", account="a", source="keyword")
    second = cl.record(Y, "opt_out", account="a", source="keyword")
    receiver.answer(503, 500, 200)

    assert delivery.run_once(wait=True) == 0
    state = cl.subscription(sub.id)
    assert state.status == "retrying" and state.failures == 1
    assert state.last_error == "HTTP 503"
    assert state.next_attempt_at == clock.now + timedelta(seconds=5)
    assert delivery.run_once(wait=True) == 0  # not due yet: nothing is sent
    assert len(receiver.requests) == 1

    clock.advance(seconds=5)
    assert delivery.run_once(wait=True) == 0
    state = cl.subscription(sub.id)
    assert state.failures == 2 and state.next_attempt_at == clock.now + timedelta(seconds=10)

    clock.advance(seconds=10)
    assert delivery.run_once(wait=True) == 2
    ids = [r.json()["id"] for r in receiver.requests]
    assert ids == [first.id, first.id, first.id, second.id]  # the second never jumps ahead
    state = cl.subscription(sub.id)
    assert state.status == "active" and state.last_error is None and state.delivered == 2


def test_backoff_doubles_from_five_seconds_to_an_hour_with_bounded_jitter() -> None:
    assert [WEBHOOK_RETRY.delay_s(n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert WEBHOOK_RETRY.delay_s(40) == 3600.0
    assert WEBHOOK_RETRY.delay_s(1, jitter=0.999) < 6.0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_subscriber_that_is_down_keeps_its_events_waiting(
    setup: WorkedSetup, delivery: WebhookDelivery, clock: Clock
) -> None:
    cl = setup.cl
    down, _ = cl.subscribe("t", f"http://127.0.0.1:{_closed_port()}/hooks", allow=LOOPBACK)
    cl.record(X, "opt_out", account="a", source="keyword")
    cl.record(Y, "opt_out", account="a", source="keyword")
    for _ in range(3):
        assert delivery.run_once(wait=True) == 0
        clock.advance(hours=1)
    state = cl.subscription(down.id)
    assert state.last_error == "ConnectError" and state.failures == 3
    assert state.delivered == 0  # the cursor has not moved: both events still wait


def test_a_slow_subscriber_times_out_and_is_retried(
    setup: WorkedSetup, receiver: StandIn, cl: Consentline, clock: Clock
) -> None:
    job = WebhookDelivery(
        cl.units,
        clock=clock,
        directory=cl.directory,
        allow=LOOPBACK,
        timeout_s=0.2,
        rng=lambda: 0.0,
    )
    try:
        sub, _ = cl.subscribe("t", receiver.url, allow=LOOPBACK)
        cl.record(X, "opt_out", account="a", source="keyword")
        receiver.answer(Answer(200, delay_s=1.0), 200)
        assert job.run_once(wait=True) == 0
        assert cl.subscription(sub.id).last_error == "timeout"
        clock.advance(seconds=5)
        assert job.run_once(wait=True) == 1
    finally:
        job.close()


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery
) -> None:
    cl = setup.cl
    sub, _ = cl.subscribe("t", receiver.url, allow=LOOPBACK)
    cl.record(X, "opt_out", account="a", source="keyword")
    receiver.answer(302)
    delivery.run_once(wait=True)
    assert cl.subscription(sub.id).last_error == "HTTP 302"
    assert len(receiver.requests) == 1


def test_every_subscriber_gets_its_own_signature(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery
) -> None:
    cl = setup.cl
    one, secret_one = cl.subscribe("t", receiver.url + "/one", allow=LOOPBACK)
    two, secret_two = cl.subscribe("a", receiver.url + "/two", allow=LOOPBACK)
    assert secret_one != secret_two
    cl.record(X, "opt_out", line=setup.L1, source="keyword")
    assert delivery.run_once(wait=True) == 2
    by_path = {r.path: r for r in receiver.requests}
    assert by_path["/one"].header("consentline-signature") == expected_signature(
        secret_one, by_path["/one"]
    )
    assert by_path["/two"].header("consentline-signature") == expected_signature(
        secret_two, by_path["/two"]
    )
    assert {one.id, two.id} == {
        int(r.header("consentline-subscription") or 0) for r in by_path.values()
    }


def test_a_leased_subscription_is_not_delivered_by_a_second_worker(
    setup: WorkedSetup, receiver: StandIn, cl: Consentline, clock: Clock
) -> None:
    sub, _ = cl.subscribe("t", receiver.url, allow=LOOPBACK)
    cl.record(X, "opt_out", account="a", source="keyword")
    now_us = int(clock.now.timestamp() * 1_000_000)
    with UnitOfWork(cl.engine) as uow:  # another worker holds the lease
        assert uow.hooks.lease(sub.id, now_us, now_us + 60_000_000)
        uow.commit()
    job = WebhookDelivery(cl.units, clock=clock, directory=cl.directory, allow=LOOPBACK)
    try:
        assert job.run_once(wait=True) == 0
        assert receiver.requests == []
        clock.advance(seconds=61)  # the other worker died: its lease runs out
        assert job.run_once(wait=True) == 1
    finally:
        job.close()


def test_a_deleted_subscription_receives_nothing(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery
) -> None:
    cl = setup.cl
    sub, _ = cl.subscribe("t", receiver.url, allow=LOOPBACK)
    cl.unsubscribe(sub.id)
    cl.record(X, "opt_out", account="a", source="keyword")
    assert delivery.run_once(wait=True) == 0
    assert receiver.requests == []
    assert cl.subscriptions() == []
    with pytest.raises(UnknownSubscription):
        cl.subscription(sub.id)
    with pytest.raises(UnknownSubscription):
        cl.unsubscribe(sub.id)


def test_an_inbound_stop_reaches_subscribers_like_any_other_change(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery
) -> None:
    cl = setup.cl
    cl.subscribe("t", receiver.url, ["opt_out"], allow=LOOPBACK)
    result = cl.handle_inbound(from_=X, to=setup.L1, text="STOP", message_id="m1")
    assert result.event is not None
    delivery.run_once(wait=True)
    [request] = receiver.requests
    body = request.json()
    assert body["id"] == result.event.id
    assert body["event"]["source"] == result.event.source
    assert json.loads(request.body)["event"]["action"] == "opt_out"


@pytest.mark.parametrize(
    ("url", "events"),
    [
        ("ftp://example.com/x", ["*"]),
        ("https://", ["*"]),
        ("not a url", ["*"]),
        ("https://user:pw@example.com/x", ["*"]),
        ("https://example.com/x#frag", ["*"]),
        ("https://example.com:99999/x", ["*"]),
        ("https://example.com/" + "a" * 2100, ["*"]),
        ("https://example.com/x", []),
        ("https://example.com/x", ["*", "opt_out"]),
        ("https://example.com/x", ["opt_out", "deleted"]),
        ("https://example.com/x", "opt_out"),
    ],
)
def test_bad_subscriptions_are_refused_and_nothing_is_stored(
    setup: WorkedSetup, url: str, events: list[str]
) -> None:
    with pytest.raises(InvalidInput):
        setup.cl.subscribe("t", url, events)
    assert setup.cl.subscriptions() == []


def test_a_subscription_on_an_unknown_account_is_refused(setup: WorkedSetup) -> None:
    with pytest.raises(UnknownAccount):
        setup.cl.subscribe("nobody", "https://example.com/x")


def test_an_account_has_at_most_25_subscriptions(setup: WorkedSetup) -> None:
    for n in range(25):
        setup.cl.subscribe("a", f"https://example.com/{n}")
    with pytest.raises(TooManySubscriptions):
        setup.cl.subscribe("a", "https://example.com/26")
    setup.cl.subscribe("b", "https://example.com/b")  # per account, not per tenant


def test_events_are_deduplicated_and_sorted(setup: WorkedSetup) -> None:
    sub, _ = setup.cl.subscribe("t", "https://example.com/x", ["opt_out", "opt_in", "opt_out"])
    assert sub.events == ("opt_in", "opt_out")
    assert sub.as_dict()["events"] == ["opt_in", "opt_out"]
    assert "secret" not in sub.as_dict()


def test_the_worker_thread_delivers_without_being_asked(
    setup: WorkedSetup, receiver: StandIn, cl: Consentline
) -> None:
    worker = Worker(
        [WebhookDelivery(cl.units, clock=cl.now, directory=cl.directory, allow=LOOPBACK)],
        interval_s=0.05,
    )
    cl.subscribe("t", receiver.url, allow=LOOPBACK)
    worker.start()
    try:
        cl.record(X, "opt_out", account="a", source="keyword")
        deadline = time.monotonic() + 10
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert len(receiver.requests) == 1


def test_a_slow_round_stops_inside_its_lease_and_the_next_one_carries_on(
    setup: WorkedSetup,
    receiver: StandIn,
    delivery: WebhookDelivery,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cl = setup.cl
    monkeypatch.setattr(webhook_delivery, "LEASE_S", 0.5)  # the round may use 0.25 s
    cl.subscribe("t", receiver.url, allow=LOOPBACK)
    for address in (X, Y, "+14155550125"):
        cl.record(address, "opt_out", account="a", source="keyword")
    receiver.answer(Answer(200, delay_s=0.2))
    first = delivery.run_once(wait=True)
    assert 1 <= first < 3  # not all three: the round stopped before its lease ran out
    while len(receiver.requests) < 3:
        assert delivery.run_once(wait=True) > 0
    ids = [r.json()["id"] for r in receiver.requests]
    assert ids == sorted(ids) and len(set(ids)) == 3  # in order, none twice


def test_a_delivery_carries_the_addresses_contact_refs(
    setup: WorkedSetup, receiver: StandIn, delivery: WebhookDelivery
) -> None:
    cl = setup.cl
    cl.subscribe("t", receiver.url + "/hooks", ["opt_out"], allow=LOOPBACK)
    cl.record(X, "opt_out", account="a", source="crm", contact_ref=["salesforce:003A"])
    cl.record(Y, "opt_out", account="a", source="crm")

    assert delivery.run_once(wait=True) == 2

    first, second = (r.json()["event"] for r in receiver.requests)
    assert first["contact_refs"] == [{"system": "salesforce", "ref": "003A"}]
    assert second["contact_refs"] == []
