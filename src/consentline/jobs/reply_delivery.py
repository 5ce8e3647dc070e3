"""Send the outbox's replies through the providers' send APIs.

Replies (opt-out confirmations, HELP answers, welcomes, double opt-in requests)
are written to the outbox in the transaction that caused them. Twilio and Plivo
carry the reply inline in the webhook answer; for every other reply this job
picks a provider and sends it:

- a reply to an inbound message goes back through the provider it came from;
- any other (a double opt-in request) through the first provider, in registry
  order, whose credentials on the line's account or an ancestor can send.

A reply with no provider able to send it stays ``pending`` (detail says why) for
an application that sends replies itself (``take_due_replies``), and is looked at
again every few minutes in case credentials are added. A provider that refuses
for a passing reason (429, 5xx, network) is retried with backoff; an opt-out
confirmation only until its 5-minute deadline (C17), after which ``take_due``
drops it. A permanent refusal is ``failed`` with the provider's code in
``detail`` (never the number or the text: C23).

A crash between the provider accepting a message and the outcome being saved
sends that reply again when its lease runs out: at least once, as for webhooks.

Sends go through the outbound policy (:mod:`consentline.domain.outbound`): a provider
host (or ``upstream_base_url``) that resolves to a loopback, private or
link-local address the installation does not allow is never contacted; the reply
is retried as for a network error, with detail "destination not allowed".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import httpx

from consentline.domain.ledger import to_us
from consentline.domain.outbound import NOTHING, OutboundAllow
from consentline.domain.retry import REPLY_RETRY
from consentline.domain.scopes import Directory
from consentline.providers.credential_fields import RULES
from consentline.providers.send import CannotSend, OutgoingSms, build_send, interpret
from consentline.providers.transport import BlockedConnection, guarded_client
from consentline.services import outbox
from consentline.services.credentials import CredentialSet, ProviderCredentials
from consentline.services.outbox import OutboxMessage
from consentline.services.ports import UnitOfWorkFactory

log = logging.getLogger("consentline.replies")

LEASE_S: Final = 60
WAIT_FOR_CREDENTIALS_S: Final = 300
MAX_ATTEMPTS: Final = 8
CREDENTIALS_S: Final = 5.0
NO_PROVIDER: Final = "no provider credentials on this line's account can send; waiting"


class ReplyDelivery:
    """A worker job: :meth:`run_once` sends the replies that are due.

    ``units`` opens the units of work; ``credentials`` finds what a line's account
    sends with (by default on ``units``, each resolution kept :data:`CREDENTIALS_S`).
    """

    def __init__(
        self,
        units: UnitOfWorkFactory,
        *,
        clock: Callable[[], datetime],
        directory: Callable[[], Directory],
        credentials: ProviderCredentials | None = None,
        http: httpx.Client | None = None,
        allow: OutboundAllow = NOTHING,
        timeout_s: float = 10.0,
        batch: int = 50,
    ) -> None:
        self._units = units
        self._clock = clock
        self._directory = directory
        # Without ``http``: a client under the outbound policy, with the installation's
        # ``allow`` list (CONSENTLINE_OUTBOUND_ALLOW).
        self._http = http or guarded_client(allow, timeout=timeout_s)
        self._owns_http = http is None
        self._batch = batch
        # A batch asks for the same few lines' credentials again and again (and, for a
        # reply with no inbound provider, for every provider in turn): keep them briefly.
        self._credentials = credentials or ProviderCredentials(
            units, RULES, clock, cache_seconds=CREDENTIALS_S
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def run_once(self) -> int:
        """Send one batch of due replies; returns how many were handled."""
        now = self._clock()
        with self._units(write=False) as uow:
            if not uow.inbox.any_due_outbox(to_us(now)):
                return 0  # idle: no write transaction (and no disk flush) every turn
        with self._units() as uow:
            due = outbox.take_due(uow, now=now, limit=self._batch, lease_s=LEASE_S)
            came_by = uow.inbox.inbound_providers(
                m.inbound_id for m in due if m.inbound_id is not None
            )
            uow.commit()
        for message in due:
            via = came_by.get(message.inbound_id) if message.inbound_id is not None else None
            try:
                self._send(message, via)
            except Exception:  # one bad reply must not stop the others; its lease expires
                log.exception("sending reply %s failed unexpectedly", message.id)
        return len(due)

    def _provider(self, message: OutboxMessage, via: str | None) -> tuple[str, CredentialSet]:
        directory = self._directory()
        line = directory.find_line(message.from_line)
        if line is None:
            raise CannotSend("the reply's line no longer exists")
        providers = self._credentials.rules.providers
        names = [via] if via in providers else list(providers)
        for name in names:
            assert name is not None
            found = self._credentials.resolve(directory, account_id=line.account_id, provider=name)
            if found is not None and self._credentials.rules.can_send(name, found.fields):
                return name, found
        if via in providers:
            raise CannotSend(f"the {via} credentials on this line's account cannot send")
        raise CannotSend(NO_PROVIDER)

    def _send(self, message: OutboxMessage, via: str | None) -> None:
        try:
            name, credentials = self._provider(message, via)
            request = build_send(
                name,
                credentials.fields,
                OutgoingSms(
                    to=message.to,
                    from_=message.from_line,
                    text=message.body,
                    reference=str(message.id),
                ),
            )
        except CannotSend as error:
            self._mark(message, "pending", error.message, wait_s=WAIT_FOR_CREDENTIALS_S)
            return
        try:
            response = self._http.request(
                request.method, request.url, headers=request.headers, content=request.body
            )
        except BlockedConnection:
            self._retry(message, f"{name} destination not allowed")
            return
        except httpx.InvalidURL:  # an upstream_base_url stored before URLs were checked
            detail = f"the {name} upstream_base_url is not a valid URL"
            self._mark(message, "pending", detail, wait_s=WAIT_FOR_CREDENTIALS_S)
            return
        except httpx.HTTPError as error:
            self._retry(message, f"{name} {type(error).__name__}")
            return
        outcome = interpret(name, response.status_code, response.content)
        if outcome.status == "sent":
            detail = f"{name} {outcome.provider_message_id or ''}".strip()
            self._mark(message, "sent", detail)
        elif outcome.status == "retry":
            self._retry(message, outcome.detail)
        else:  # failed, or the provider says the recipient opted out with it
            self._mark(message, "failed", outcome.detail)

    def _retry(self, message: OutboxMessage, detail: str) -> None:
        attempts = message.attempts + 1
        wait_s = int(REPLY_RETRY.delay_s(attempts))
        next_at = self._clock() + timedelta(seconds=wait_s)
        if message.not_after is not None and next_at > message.not_after:
            # C17: a confirmation is never sent after its 5 minutes; say so now.
            self._mark(message, "dropped", f"{detail}; no retry within 5 minutes of receipt")
        elif attempts >= MAX_ATTEMPTS:
            self._mark(message, "failed", f"{detail}; gave up after {attempts} attempts")
        else:
            self._mark(message, "pending", detail, wait_s=wait_s, tried=True)

    def _mark(
        self,
        message: OutboxMessage,
        status: str,
        detail: str,
        *,
        wait_s: int = 0,
        tried: bool = False,
    ) -> None:
        now_us = to_us(self._clock())
        values: dict[str, object] = {"status": status, "detail": detail[:255]}
        if status == "pending":
            values["next_attempt_us"] = now_us + wait_s * 1_000_000
        if tried or status != "pending":
            values["attempts"] = message.attempts + 1
        with self._units() as uow:
            uow.inbox.set_outbox([message.id], **values)
            uow.commit()
