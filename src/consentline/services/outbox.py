"""The durable reply outbox: double opt-in requests, and the 5-minute rule (C17, C24).

Replies are written in the same transaction as the event that caused them. A
sender (the HTTP issue's worker) takes due messages with :func:`take_due`; an
opt-out confirmation whose deadline has passed is marked ``dropped`` there and
never handed out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consentline.domain.errors import InvalidInput
from consentline.domain.ledger import Event, from_us, to_us
from consentline.domain.replies import render
from consentline.domain.scopes import parse_scope
from consentline.services.context import Context
from consentline.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    kind: str
    channel: str
    to: str
    from_line: str
    body: str
    language: str
    status: str
    created_at: datetime
    not_after: datetime | None
    attempts: int
    detail: str | None
    inbound_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "channel": self.channel,
            "to": self.to,
            "from": self.from_line,
            "body": self.body,
            "language": self.language,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "attempts": self.attempts,
            "detail": self.detail,
        }


def message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        id=int(row.id),
        kind=row.kind,
        channel=row.channel,
        to=row.to_address,
        from_line=row.from_line,
        body=row.body,
        language=row.language,
        status=row.status,
        created_at=from_us(int(row.created_us)),
        not_after=from_us(int(row.not_after_us)) if row.not_after_us is not None else None,
        attempts=int(row.attempts),
        detail=row.detail,
        inbound_id=int(row.inbound_id) if row.inbound_id is not None else None,
    )


def queue_confirmation_requests(
    uow: UnitOfWork, ctx: Context, events: Sequence[Event], *, now: datetime
) -> None:
    """For every new ``pending`` event, queue the double opt-in request (C24).

    The request goes from the event's line, or for an account-scoped request from
    the account's first line; an account with no line cannot ask, so the whole
    write is refused rather than leave a pending consent nobody was asked about.
    """
    now_us = to_us(now)
    rows: list[dict[str, Any]] = []
    for event in events:
        if event.action != "pending" or to_us(event.recorded_at) != now_us:
            continue  # replayed idempotent writes queue nothing new
        kind, ident = parse_scope(event.scope)
        if kind == "line":
            line = ctx.directory.line_by_id(ident)
            account_id = line.account_id
        else:
            account_id = ident
            lines = sorted(ctx.directory.lines_of(ident), key=lambda item: item.id)
            if not lines:
                raise InvalidInput(
                    "a double opt-in request needs a line to be sent from: record the pending"
                    " consent with line= or add a line to the account",
                    account=ctx.directory.account_by_id(ident).slug,
                )
            line = lines[0]
        settings = ctx.effective(account_id)
        language = str(event.proof.get("language") or settings.language or "en")
        rows.append(
            {
                "tenant_id": event.tenant_id,
                "kind": "double_opt_in_request",
                "channel": event.channel,
                "to_address": event.address,
                "from_line": line.number,
                "body": render(
                    "double_opt_in_request", language, settings.program, settings.templates
                ),
                "language": language if language in ("en", "fr", "es", "pt") else "en",
                "created_us": now_us,
                "not_after_us": None,
                "status": "pending",
                "attempts": 0,
                "next_attempt_us": now_us,
                "inbound_id": None,
                "event_id": event.id,
                "detail": None,
            }
        )
    uow.inbox.insert_outbox(rows)


STATUSES = ("pending", "sent", "dropped", "failed")


def listed(uow: UnitOfWork, *, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
    """Replies in the outbox, oldest first: of one ``status`` or all, at most ``limit``."""
    if status is not None and status not in STATUSES:
        raise InvalidInput("status is pending, sent, dropped, failed or omitted")
    if not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInput("limit must be between 1 and 10000", limit=str(limit))
    return [message(r) for r in uow.inbox.outbox(status=status, limit=limit)]


def take_due(
    uow: UnitOfWork, *, now: datetime, limit: int = 100, lease_s: int = 0
) -> list[OutboxMessage]:
    """Due messages for the sender; late opt-out confirmations are dropped here.

    With ``lease_s`` the messages handed out are not due again for that long, so a
    second sender does not take them too, and a sender that crashes mid-send only
    delays them (they come round again when the lease runs out).
    """
    now_us = to_us(now)
    due, late = [], []
    for row in uow.inbox.due_outbox(now_us, limit):
        if row.not_after_us is not None and now_us > int(row.not_after_us):
            late.append(int(row.id))
        else:
            due.append(row)
    uow.inbox.set_outbox(late, status="dropped", detail="later than 5 minutes after receipt")
    if lease_s:
        leased = now_us + lease_s * 1_000_000
        uow.inbox.set_outbox([int(r.id) for r in due], next_attempt_us=leased)
    return [message(r) for r in due]


def mark(uow: UnitOfWork, ids: Sequence[int], status: str, detail: str | None = None) -> None:
    if status not in ("sent", "failed", "pending"):
        raise InvalidInput("outbox status is sent, failed or pending", status=status)
    uow.inbox.set_outbox(list(ids), status=status, detail=detail)
