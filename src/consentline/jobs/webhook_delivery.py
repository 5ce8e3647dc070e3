"""Deliver consent changes to webhook subscribers, at least once, in ledger order.

The ledger is the outbox. Each subscription keeps a cursor on its tenant's chain
sequence; a delivery round reads the events after the cursor, POSTs the ones the
subscription wants, one request per event, and moves the cursor past each event
the subscriber acknowledged with a 2xx (and past the events it does not want).
Nothing is copied when an event is written, so recording stays as fast with a
hundred subscribers as with none, and an acknowledged change can never be lost
between the ledger and the webhook: if it is in the ledger it will be delivered.

At least once: a crash after the subscriber answered but before the cursor was
saved delivers that event again, with the same ``Consentline-Event-Id`` (the
event's id) for the subscriber to drop. Order is kept per subscription: a
failing event is retried, with exponential backoff up to an hour, before any
later one is sent. A lease on the subscription row keeps two workers (two
server processes) from delivering the same subscription at once.

Deliveries run on the worker's threads, never on a request's: a subscriber that
is down or slow costs the API nothing. No URL, number or body is logged.

Every connection goes through the outbound policy (:mod:`consentline.domain.outbound`):
the subscriber's host is resolved and each address checked before connecting, so
a name that resolves (or rebinds) to a loopback, private or link-local address is
never contacted; the round fails with ``last_error`` "destination not allowed",
whatever is or is not listening there.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import smtplib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import httpx

from consentline.domain.ledger import Event, to_us
from consentline.domain.outbound import NOTHING, OutboundAllow
from consentline.domain.retry import WEBHOOK_RETRY
from consentline.domain.scopes import Directory
from consentline.domain.signing import sign
from consentline.jobs.mail import Mailer
from consentline.providers.transport import BlockedConnection, guarded_client
from consentline.services.alerts import event_text, slack_body
from consentline.services.contact_refs import events_refs
from consentline.services.ports import SubscriptionRecord, UnitOfWorkFactory
from consentline.services.subscriptions import covers, wanted

log = logging.getLogger("consentline.webhooks")

USER_AGENT: Final = "consentline-webhooks/1"
BATCH: Final = 100
LEASE_S: Final = 120
BLOCKED: Final = "destination not allowed"


def payload(
    event: Event,
    *,
    subscription_id: int,
    where: str,
    contact_refs: Sequence[Mapping[str, str]] = (),
) -> bytes:
    """The JSON body of one delivery; the event carries its address's contact
    references, so a CRM can update the record they name."""
    body: dict[str, Any] = {
        "id": event.id,
        "type": f"consent.{event.action}",
        "subscription": subscription_id,
        "event": {**event.as_dict(where=where), "contact_refs": [dict(r) for r in contact_refs]},
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class Attempt:
    ok: bool
    error: str | None = None


class WebhookDelivery:
    """One delivery job: :meth:`run_once` starts a round for every due subscription.

    ``units`` opens the units of work. ``http`` is the client the deliveries use (its
    transport is the one seam to the network); without it, a client under the outbound
    policy with the installation's ``allow`` list (``CONSENTLINE_OUTBOUND_ALLOW``).
    ``threads`` bounds how many subscriptions are delivered at once.
    """

    def __init__(
        self,
        units: UnitOfWorkFactory,
        *,
        clock: Callable[[], datetime],
        directory: Callable[[], Directory],
        http: httpx.Client | None = None,
        allow: OutboundAllow = NOTHING,
        threads: int = 4,
        timeout_s: float = 10.0,
        rng: Callable[[], float] = random.random,
        mailer: Mailer | None = None,
    ) -> None:
        self._units = units
        self._clock = clock
        self._directory = directory
        self._http = http or guarded_client(allow, timeout=timeout_s)
        self._owns_http = http is None
        self._rng = rng
        self._mailer = mailer
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhooks")
        self._in_flight: dict[int, Future[int]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._owns_http:
            self._http.close()

    def run_once(self, *, wait: bool = False) -> int:
        """Start a round for each due subscription not already being delivered.

        Returns how many rounds were started; with ``wait`` it waits for them and
        returns how many events were delivered.
        """
        now_us = to_us(self._clock())
        with self._units(write=False) as uow:
            due = uow.hooks.due(now_us, limit=64)
        started: list[Future[int]] = []
        with self._lock:
            for row in due:
                if int(row.id) in self._in_flight:
                    continue
                sub_id = int(row.id)
                future = self._pool.submit(self._round, sub_id)
                self._in_flight[sub_id] = future
                future.add_done_callback(functools.partial(self._done, sub_id))
                started.append(future)
        if wait:
            return sum(f.result() for f in started)
        return len(started)

    def _done(self, subscription_id: int, _future: Future[int]) -> None:
        with self._lock:
            self._in_flight.pop(subscription_id, None)

    def _round(self, subscription_id: int) -> int:
        """Deliver one batch for one subscription; returns events delivered."""
        now_us = to_us(self._clock())
        with self._units() as uow:
            if not uow.hooks.lease(subscription_id, now_us, now_us + LEASE_S * 1_000_000):
                return 0  # another worker holds it
            row = uow.hooks.get(subscription_id)
            uow.commit()
        if row is None:
            return 0
        try:
            return self._deliver(row)
        except Exception:  # a bug must not kill the worker; the lease expires and we retry
            log.exception("webhook round failed for subscription %s", subscription_id)
            return 0

    def _deliver(self, row: SubscriptionRecord) -> int:
        sub_id, account_id = int(row.id), int(row.account_id)
        events_wanted = tuple(str(row.events).split(","))
        with self._units(write=False) as uow:
            events = uow.hooks.events_after(int(row.tenant_id), int(row.cursor_seq), BATCH)
            refs = events_refs(uow, events)  # one query for the batch
        directory = self._directory()
        cursor, delivered = int(row.cursor_seq), 0
        failure: Attempt | None = None
        # Stop well inside the lease, so no other worker can take the subscription
        # while this round is still sending (slow answers could otherwise outlast it).
        deadline = time.monotonic() + LEASE_S / 2
        for event in events:
            if time.monotonic() > deadline:
                break
            if wanted(events_wanted, event) and covers(directory, account_id, event):
                where = directory.describe_scope(event.scope)
                if row.format == "json":
                    body = payload(
                        event,
                        subscription_id=sub_id,
                        where=where,
                        contact_refs=refs.get(event.id, ()),
                    )
                else:  # a chat body or a mail: words, no number (services.alerts, C23)
                    body = slack_body(event_text(event, where, refs.get(event.id, ())))
                if row.format == "email":
                    attempt = self._mail(row.url, body)
                else:
                    attempt = self._post(row.url, row.secret, event.id, sub_id, body)
                if not attempt.ok:
                    failure = attempt
                    break
                delivered += 1
            cursor = event.seq
        now_us = to_us(self._clock())
        with self._units() as uow:
            if cursor > int(row.cursor_seq):
                uow.hooks.advance(sub_id, cursor, delivered, now_us)
            if failure is None:
                uow.hooks.release(sub_id, next_attempt_us=now_us)
            else:
                failures = int(row.attempts) + 1 if delivered == 0 else 1
                delay = WEBHOOK_RETRY.delay_s(failures, jitter=self._rng())
                uow.hooks.release(
                    sub_id,
                    next_attempt_us=now_us + int(delay * 1_000_000),
                    attempts=failures,
                    error=failure.error,
                )
                log.warning(
                    "webhook delivery failed (subscription %s, %s); retry %s in %.0f s",
                    sub_id,
                    failure.error,
                    failures,
                    delay,
                )
            uow.commit()
        return delivered

    def _mail(self, url: str, body: bytes) -> Attempt:
        if self._mailer is None:
            return Attempt(False, "no SMTP server configured")
        text = str(json.loads(body)["text"])
        try:
            self._mailer.send(url.removeprefix("mailto:"), text[:120], text)
        except (OSError, smtplib.SMTPException) as error:
            return Attempt(False, type(error).__name__)
        return Attempt(True)

    def _post(self, url: str, secret: str, event_id: int, sub_id: int, body: bytes) -> Attempt:
        timestamp = int(self._clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Consentline-Event-Id": str(event_id),
            "Consentline-Subscription": str(sub_id),
            "Consentline-Timestamp": str(timestamp),
            "Consentline-Signature": sign(secret, timestamp, body),
        }
        try:
            response = self._http.post(url, content=body, headers=headers)
        except BlockedConnection:
            return Attempt(False, BLOCKED)  # nothing was sent: no hint of what listens there
        except httpx.InvalidURL:
            return Attempt(False, "invalid URL")  # stored before URLs were checked as now
        except httpx.TimeoutException:
            return Attempt(False, "timeout")
        except httpx.HTTPError as error:
            return Attempt(False, type(error).__name__)
        if 200 <= response.status_code < 300:
            return Attempt(True)
        return Attempt(False, f"HTTP {response.status_code}")
