"""The review queue: ambiguous replies wait for a person (C8).

A reviewer's ``opt_out`` becomes an opt-out event with the reviewer as actor,
effective from when the message was received; ``none`` closes the item with no
consent change. Either way the decision is recorded and cannot be taken twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from consentline.domain.errors import InvalidInput, ReviewDecided, UnknownReviewItem
from consentline.domain.evidence import stored_text, with_text
from consentline.domain.ledger import Event, from_us, to_us
from consentline.domain.replies import LANGUAGES, confirmation_deadline_us, render
from consentline.services import recording
from consentline.services.context import Context
from consentline.services.ports import UnitOfWork
from consentline.services.recording import RecordRequest

Verdict = Literal["opt_out", "none"]


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    account: str
    address: str
    text: str
    received_at: datetime
    line: str
    intent: str
    rule: str
    status: str
    decision: str | None
    reviewer: str | None
    event_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account": self.account,
            "address": self.address,
            "text": self.text,
            "received_at": self.received_at.isoformat(),
            "line": self.line,
            "intent": self.intent,
            "rule": self.rule,
            "status": self.status,
            "decision": self.decision,
            "reviewer": self.reviewer,
            "event_id": self.event_id,
        }


def _item(ctx: Context, row: Any) -> ReviewItem:
    cls = json.loads(row.classification)
    return ReviewItem(
        id=int(row.id),
        account=ctx.directory.account_by_id(int(row.account_id)).slug,
        address=row.address,
        text=row.body,
        received_at=from_us(int(row.received_us)),
        line=ctx.directory.line_by_id(int(row.line_id)).number,
        intent=cls["intent"],
        rule=cls["rule"],
        status=row.status,
        decision=row.decision,
        reviewer=row.reviewer,
        event_id=row.event_id,
    )


def list_items(
    uow: UnitOfWork, ctx: Context, *, account: str | None, status: str | None, limit: int
) -> list[ReviewItem]:
    """Review items of ``account``'s tenant (all tenants when None), oldest first."""
    if status not in (None, "open", "decided"):
        raise InvalidInput("status is open, decided or omitted", status=str(status))
    if not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise InvalidInput("limit must be between 1 and 10000", limit=str(limit))
    if account is None:
        tenants = sorted({a.tenant_id for a in ctx.directory.accounts()})
    else:
        tenants = [ctx.directory.account(account).tenant_id]
    if not tenants:
        return []
    return [_item(ctx, r) for r in uow.inbox.review_items(tenants, status, limit)]


def decide(
    uow: UnitOfWork,
    ctx: Context,
    *,
    item_id: int,
    decision: str,
    reviewer: str,
    note: str | None,
    now: datetime,
) -> tuple[ReviewItem, Event | None]:
    if decision not in ("opt_out", "none"):
        raise InvalidInput("a review decision is opt_out or none", decision=str(decision))
    if not isinstance(reviewer, str) or not 1 <= len(reviewer.strip()) <= 255:
        raise InvalidInput("name the reviewer (1 to 255 characters)", field="reviewer")
    row = uow.inbox.review_item(item_id, lock=True)
    if row is None:
        raise UnknownReviewItem(f"no review item #{item_id}", item=item_id)
    if row.status != "open":
        raise ReviewDecided(
            f"review item #{item_id} was already decided ({row.decision} by {row.reviewer})",
            item=item_id,
        )
    event: Event | None = None
    now_us = to_us(now)
    if cast(Verdict, decision) == "opt_out":
        line = ctx.directory.line_by_id(int(row.line_id))
        proof = {
            "provider": row.provider,
            "message_id": row.message_id,
            "review_item": item_id,
            "actor": reviewer.strip(),
            "note": note,
        }
        # The message's exact text, within the proof limit (a long text keeps its start
        # and digest), so a reviewer's opt-out is never refused for the message's size.
        with_text(proof, stored_text(row.body, row.classification))
        event = recording.append(
            uow,
            ctx.directory,
            ctx.policies,
            [
                RecordRequest(
                    address=row.address,
                    action="opt_out",
                    via=line.number,
                    channel=row.channel,
                    source="agent",
                    proof=proof,
                    occurred_at=from_us(int(row.received_us)),
                )
            ],
            now=now,
        )[0]
        deadline = confirmation_deadline_us(int(row.received_us))
        if now_us <= deadline:  # C17: only within 5 minutes of receipt, else never
            settings = ctx.effective(int(row.account_id))
            asked_in = json.loads(row.classification).get("language")
            language = asked_in if asked_in in LANGUAGES else settings.language or "en"
            uow.inbox.insert_outbox(
                [
                    {
                        "tenant_id": int(row.tenant_id),
                        "kind": "opt_out_confirmation",
                        "channel": row.channel,
                        "to_address": row.address,
                        "from_line": line.number,
                        "body": render(
                            "opt_out_confirmation", language, settings.program, settings.templates
                        ),
                        "language": language,
                        "created_us": now_us,
                        "not_after_us": deadline,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_us": now_us,
                        "inbound_id": int(row.inbound_id),
                        "event_id": event.id,
                        "detail": None,
                    }
                ]
            )
    uow.inbox.decide_review(
        item_id,
        status="decided",
        decision=decision,
        reviewer=reviewer.strip(),
        note=note,
        decided_us=now_us,
        event_id=event.id if event else None,
    )
    decided = uow.inbox.review_item(item_id)
    assert decided is not None
    return _item(ctx, decided), event
