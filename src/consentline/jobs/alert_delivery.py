"""Queue and deliver alerts: review-queue items, delivery failures, opt-out spikes.

Each round first *produces* alerts from what the worker can see (review items newer
than the tenant's mark; replies that failed for good in the last week and were not
alerted; webhook subscriptions failing ``FAILING`` times in a row, once per streak;
spikes are queued by the attribution job), each with a dedupe key so it happens
once, then *delivers* them to the live subscriptions that ask for their kind and
cover their account, in the subscription's format (signed JSON, a Slack-compatible
``{"text"}`` body, or e-mail), moving the subscription's ``alert_cursor``. At least
once, in order; a failure stops that subscription's round (retried next round).
No number or body is in an alert (C23), and none is logged.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

import httpx

from consentline.domain.ledger import to_us
from consentline.domain.outbound import NOTHING, OutboundAllow
from consentline.domain.scopes import Directory
from consentline.domain.signing import sign
from consentline.jobs.mail import Mailer
from consentline.providers.transport import BlockedConnection, guarded_client
from consentline.services.alerts import ALERT_KINDS, alert_text, slack_body
from consentline.services.ports import AlertRecord, SubscriptionRecord, UnitOfWorkFactory

log = logging.getLogger("consentline.alerts")

FAILING: Final = 3
REPLY_LOOKBACK: Final = timedelta(days=7)
BATCH: Final = 100


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


class AlertDelivery:
    """The background job: :meth:`run_once` produces, then delivers, alerts."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        *,
        clock: Callable[[], datetime],
        directory: Callable[[], Directory],
        http: httpx.Client | None = None,
        allow: OutboundAllow = NOTHING,
        mailer: Mailer | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._units = units
        self._clock = clock
        self._directory = directory
        self._http = http or guarded_client(allow, timeout=timeout_s)
        self._owns_http = http is None
        self._mailer = mailer

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def run_once(self) -> int:
        self.produce()
        return self.deliver()

    # -- producing -------------------------------------------------------------------------
    def produce(self) -> int:
        directory = self._directory()
        now_us = to_us(self._clock())
        made = 0
        with self._units() as uow:
            store = uow.campaigns
            tenants = {a.tenant_id for a in directory.accounts()}
            for tenant_id in sorted(tenants):
                mark = store.mark(tenant_id, "review") or 0
                items = store.review_items_after(tenant_id, mark, BATCH)
                for item_id, account_id, line_id in items:
                    line = directory.line_by_id(line_id) if directory.has_line_id(line_id) else None
                    body = {
                        "account": directory.account_by_id(account_id).slug,
                        "line": line.number if line else None,
                        "review_item": item_id,
                        "open_items": store.open_reviews(account_id),
                    }
                    made += self._queue(
                        uow,
                        tenant_id,
                        account_id,
                        "alert.review_item",
                        f"review:{item_id}",
                        now_us,
                        body,
                    )
                if items:
                    store.set_mark(tenant_id, "review", items[-1][0])
            since = now_us - int(REPLY_LOOKBACK.total_seconds() * 1_000_000)
            for outbox_id, tenant_id, from_line, attempts in store.failed_replies(since, BATCH):
                line = directory.find_line(from_line)
                account_id = line.account_id if line else tenant_id
                body = {
                    "what": "reply",
                    "account": directory.account_by_id(account_id).slug,
                    "line": from_line,
                    "outbox": outbox_id,
                    "attempts": attempts,
                }
                made += self._queue(
                    uow,
                    tenant_id,
                    account_id,
                    "alert.delivery_failure",
                    f"reply_failed:{outbox_id}",
                    now_us,
                    body,
                )
            for sub_id, tenant_id, account_id, attempts, streak in store.failing_hooks(FAILING):
                body = {
                    "what": "webhook",
                    "account": directory.account_by_id(account_id).slug,
                    "subscription": sub_id,
                    "attempts": attempts,
                }
                made += self._queue(
                    uow,
                    tenant_id,
                    account_id,
                    "alert.delivery_failure",
                    f"hook:{sub_id}:{streak}",
                    now_us,
                    body,
                )
            uow.commit()
        return made

    @staticmethod
    def _queue(
        uow: Any,
        tenant_id: int,
        account_id: int,
        kind: str,
        dedupe: str,
        now_us: int,
        body: dict[str, Any],
    ) -> int:
        made = uow.campaigns.insert_alert(
            tenant_id=tenant_id,
            account_id=account_id,
            kind=kind,
            dedupe=dedupe,
            created_us=now_us,
            body=_dumps(body),
        )
        return int(made is not None)

    # -- delivering ------------------------------------------------------------------------
    def deliver(self) -> int:
        directory = self._directory()
        with self._units(write=False) as uow:
            subscriptions = [
                s
                for s in uow.hooks.of_accounts(None)
                if s.events == "*" or any(k in s.events.split(",") for k in ALERT_KINDS)
            ]
            pending = {
                s.id: uow.campaigns.alerts_after(s.tenant_id, s.alert_cursor, BATCH)
                for s in subscriptions
            }
        delivered = 0
        for sub in subscriptions:
            wanted = sub.events.split(",")
            cursor = sub.alert_cursor
            for alert in pending[sub.id]:
                covered = directory.has_account_id(alert.account_id) and directory.is_within(
                    alert.account_id, sub.account_id
                )
                if covered and (sub.events == "*" or alert.kind in wanted):
                    if not self._send(sub, alert):
                        break
                    delivered += 1
                cursor = alert.id
            if cursor != sub.alert_cursor:
                with self._units() as uow:
                    uow.campaigns.set_alert_cursor(sub.id, cursor)
                    uow.commit()
        return delivered

    def _send(self, sub: SubscriptionRecord, alert: AlertRecord) -> bool:
        body = json.loads(alert.body)
        text = alert_text(alert.kind, body)
        if sub.format == "email":
            if self._mailer is None:
                log.warning("alert for subscription %s not sent: no SMTP server set", sub.id)
                return False
            try:
                self._mailer.send(sub.url.removeprefix("mailto:"), text[:120], text)
            except (OSError, smtplib.SMTPException) as error:
                log.warning("alert mail failed (subscription %s): %s", sub.id, type(error).__name__)
                return False
            return True
        if sub.format == "slack":
            content = slack_body(text)
        else:
            content = json.dumps(
                {
                    "id": alert.id,
                    "type": alert.kind,
                    "subscription": sub.id,
                    "alert": body,
                    "text": text,
                },
                separators=(",", ":"),
            ).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Consentline-Alert-Id": str(alert.id),
            "Consentline-Subscription": str(sub.id),
            "Consentline-Timestamp": str(timestamp),
            "Consentline-Signature": sign(sub.secret, timestamp, content),
        }
        try:
            response = self._http.post(sub.url, content=content, headers=headers)
        except (BlockedConnection, httpx.HTTPError) as error:
            log.warning("alert delivery failed (subscription %s): %s", sub.id, type(error).__name__)
            return False
        return 200 <= response.status_code < 300
