"""The inbound service's stored rows: a plan as the rows it writes, stored rows as results.

One inbound message is stored as an ``inbound_messages`` row (the raw body kept as
evidence, with its classification), perhaps an outbox row (the reply) and a review
item. A provider retry reads them back as the first handling's result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

from consentline.domain.classifier import Classification
from consentline.domain.evidence import display_form, escape, is_storable
from consentline.domain.ledger import Event, from_us
from consentline.domain.replies import confirmation_deadline_us, render
from consentline.services.context import Context
from consentline.services.inbound_messages import InboundResult, Plan, Reply
from consentline.services.ports import InboundRecord, UnitOfWork


def classification_json(cls: Classification, text: str) -> str:
    stored = cls.as_dict()
    if not is_storable(text):  # the exact text, beside the display form in ``body``
        stored["text_escaped"] = escape(text)
    return json.dumps(stored, ensure_ascii=False)


def classification_from_json(text: str) -> Classification:
    return Classification.from_dict(json.loads(text))


def inbound_row(plan: Plan, events: Sequence[Event]) -> dict[str, Any]:
    assert plan.classification is not None
    return {
        "tenant_id": plan.line.tenant_id,
        "account_id": plan.account.id,
        "line_id": plan.line.id,
        "provider": plan.provider,
        "message_id": plan.message_id,
        "address": plan.address,
        "channel": plan.channel,
        "body": display_form(plan.message.text),
        "received_us": plan.received_us,
        "classification": classification_json(plan.classification, plan.message.text),
        "provider_hint": (
            (plan.message.provider_hint or None) and display_form(plan.message.provider_hint)[:32]
        ),
        "event_ids": ";".join(str(e.id) for e in events),
    }


def outbox_row(
    ctx: Context, plan: Plan, inbound_id: int, events: Sequence[Event], now_us: int
) -> dict[str, Any]:
    assert plan.reply_kind is not None
    settings = ctx.effective(plan.account.id)
    body = render(plan.reply_kind, plan.language, settings.program, settings.templates)
    if plan.question is not None:  # C17: still one message
        body = f"{body} {plan.question.text}"
    not_after = None
    status = "pending"
    if plan.reply_kind == "opt_out_confirmation":
        not_after = confirmation_deadline_us(plan.received_us)
        if now_us > not_after:
            status = "dropped"  # C17: late confirmations are never sent
    detail = "later than 5 minutes after receipt" if status == "dropped" else None
    if status == "pending" and plan.message.inline_reply:
        status, detail = "sent", "inline"
    return {
        "tenant_id": plan.line.tenant_id,
        "kind": plan.reply_kind,
        "channel": plan.channel,
        "to_address": plan.address,
        "from_line": plan.line.number,
        "body": body,
        "language": plan.language,
        "created_us": now_us,
        "not_after_us": not_after,
        "status": status,
        "attempts": 0,
        "next_attempt_us": now_us,
        "inbound_id": inbound_id,
        "event_id": events[0].id if events else None,
        "detail": detail,
    }


def reply_from_row(row: Mapping[str, Any], reply_id: int) -> Reply:
    not_after = row["not_after_us"]
    return Reply(
        id=reply_id,
        kind=row["kind"],
        body=row["body"],
        language=row["language"],
        to=row["to_address"],
        from_line=row["from_line"],
        status=row["status"],
        not_after=from_us(not_after) if not_after is not None else None,
    )


def stored_results(uow: UnitOfWork, rows: Mapping[int, InboundRecord]) -> dict[int, InboundResult]:
    """Results of messages handled before (provider retries), with three batched reads."""
    if not rows:
        return {}
    event_ids = {
        index: [int(i) for i in row.event_ids.split(";") if i] for index, row in rows.items()
    }
    events = uow.store.events_by_id(i for ids in event_ids.values() for i in ids)
    inbound_ids = [int(row.id) for row in rows.values()]
    replies = uow.inbox.outbox_for_inbound(inbound_ids)
    reviews = uow.inbox.review_for_inbound(inbound_ids)
    results: dict[int, InboundResult] = {}
    for index, row in rows.items():
        written = tuple(events[i] for i in event_ids[index])
        reply_row = replies.get(int(row.id))
        proof = written[0].proof if written else {}
        results[index] = InboundResult(
            id=int(row.id),
            classification=classification_from_json(row.classification),
            event=written[0] if written else None,
            reply=(reply_from_row(asdict(reply_row), reply_row.id) if reply_row else None),
            review_id=reviews.get(int(row.id)),
            duplicate=True,
            decided_by=str(proof.get("decided_by", "classifier")),
            events=written,
        )
    return results


def as_duplicate(original: InboundResult) -> InboundResult:
    """The stored result of a message delivered again, marked as a duplicate."""
    return replace(original, duplicate=True)
