"""Inbound replies: resolve, deduplicate, classify, write the consent change, queue the reply.

Every inbound message becomes, in ONE transaction: a stored message (the raw body
kept as evidence), at most one consent change (two only when START
both resumes and, by the account's choice, re-subscribes; one per category an
answer to a scope question restores, ``services.scope_questions``), at most one reply in
the outbox, or an item in the review queue. A provider retry with the same
message id returns the first result and writes nothing (C27: no second reply).

Batches are decided in order in memory first, so a STOP followed by a START in
the same batch behaves as if they had arrived one by one, then written with one
statement per table.

What a message does is the decision rule of ``domain.inbound_policy``; this module
resolves the message, asks the rule, and writes its answer (the rows are mapped in
``services.inbound_rows``, the values in and out are in ``services.inbound_messages``).

A text holding NUL or a lone surrogate (which no database here can store as text)
is still handled like any other, and kept exactly (``domain.evidence``): the
``body`` column and the proof's ``text`` hold its display form (U+FFFD for each
such code point), and ``text_escaped`` (in the stored classification and in the
proof) its exact form. A text too long to fit the proof limit keeps its start in
the proof with its length and SHA-256; the inbound record keeps all of it. Message
ids holding such code points are refused (``InvalidInput``): they are keys, and a
key that cannot be stored cannot deduplicate.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from consentline.domain.addresses import check_channel, normalise_address, normalise_line_id
from consentline.domain.classifier import Classification, classify
from consentline.domain.errors import InvalidInput
from consentline.domain.evidence import check_identifier, display_form, is_storable, with_text
from consentline.domain.inbound_policy import Change, InboundFacts, decide
from consentline.domain.ledger import (
    ACTION_CODES,
    Entry,
    Event,
    decode,
    from_us,
    insert_entry,
    to_us,
)
from consentline.domain.policy import check_name
from consentline.domain.scopes import Directory
from consentline.services import recording, rollups
from consentline.services.context import Context
from consentline.services.inbound_messages import (
    MAX_BODY,
    InboundMessage,
    InboundResult,
    Plan,
    Reply,
)
from consentline.services.inbound_rows import (
    as_duplicate,
    inbound_row,
    outbox_row,
    reply_from_row,
    stored_results,
)
from consentline.services.ports import UnitOfWork
from consentline.services.recording import RecordRequest
from consentline.services.scope_questions import Questions

__all__ = ["MAX_BODY", "InboundMessage", "InboundResult", "Reply", "handle"]


def handle(
    uow: UnitOfWork, ctx: Context, messages: Sequence[InboundMessage], *, now: datetime
) -> list[InboundResult]:
    """Handle a batch of inbound messages in the caller's transaction (no commit)."""
    now_us = to_us(now)
    plans = [_resolve(ctx, i, m, now_us) for i, m in enumerate(messages)]

    # Deduplicate: against the store, then inside the batch.
    seen: dict[int, Any] = {}  # plan index -> stored inbound row
    groups: dict[tuple[int, str], list[Plan]] = {}
    for plan in plans:
        groups.setdefault((plan.line.tenant_id, plan.provider), []).append(plan)
    for (tenant_id, provider), members in groups.items():
        found = uow.inbox.find_inbound(tenant_id, provider, [p.message_id for p in members])
        first: dict[str, int] = {}
        for plan in members:
            row = found.get(plan.message_id)
            if row is not None:
                seen[plan.index] = row
            elif plan.message_id in first:
                plan.duplicate_of = first[plan.message_id]
            else:
                first[plan.message_id] = plan.index
    stored = stored_results(uow, seen)
    fresh = [p for p in plans if p.index not in stored and p.duplicate_of is None]
    questions = Questions(uow, ctx, fresh)  # C17: the optional scope question

    # Decide in order, on an in-memory copy of each address's projection entries.
    keys = [(p.line.tenant_id, p.channel, p.address) for p in fresh]
    current = uow.store.load_state(keys)
    sim: dict[tuple[int, str, str], list[Entry]] = {}
    for key in dict.fromkeys(keys):
        projection = current.get(key)
        sim[key] = decode(projection.shape, projection.ids, projection.times) if projection else []
    temp_id = -1
    for plan in fresh:
        entries = sim[(plan.line.tenant_id, plan.channel, plan.address)]
        _decide(ctx, plan, entries)
        questions.consider(plan, entries)
        for request in plan.requests:
            insert_entry(
                entries,
                Entry(
                    temp_id,
                    ACTION_CODES[request.action],
                    _scope_of(ctx.directory, request),
                    request.purpose or "",
                    request.topic or "",
                    plan.received_us,
                    request.source,
                ),
            )
            temp_id -= 1

    # Write: events, messages, replies, review items — one statement per table.
    all_requests = [r for p in fresh for r in p.requests]
    events = recording.append(uow, ctx.directory, ctx.policies, all_requests, now=now)
    per_plan: dict[int, list[Event]] = {}
    cursor = 0
    for plan in fresh:
        per_plan[plan.index] = events[cursor : cursor + len(plan.requests)]
        cursor += len(plan.requests)
    message_rows = [inbound_row(p, per_plan[p.index]) for p in fresh]
    inbound_ids = uow.inbox.insert_inbound(message_rows)
    rollups.count_inbound(uow, message_rows)  # C23: report counters, same transaction
    ids = {p.index: i for p, i in zip(fresh, inbound_ids, strict=True)}

    replies = [p for p in fresh if p.reply_kind is not None]
    reply_rows = [outbox_row(ctx, p, ids[p.index], per_plan[p.index], now_us) for p in replies]
    reply_ids = uow.inbox.insert_outbox(reply_rows)
    reply_by_plan = {
        p.index: reply_from_row(row, rid)
        for p, row, rid in zip(replies, reply_rows, reply_ids, strict=True)
    }
    written_replies = {
        p.index: (row, rid) for p, row, rid in zip(replies, reply_rows, reply_ids, strict=True)
    }
    questions.write(uow, fresh, ids, written_replies, per_plan, now_us)
    reviews = [p for p in fresh if p.review]
    review_ids = uow.inbox.insert_review(
        [
            {
                "tenant_id": p.line.tenant_id,
                "account_id": p.account.id,
                "inbound_id": ids[p.index],
                "status": "open",
                "created_us": now_us,
            }
            for p in reviews
        ]
    )
    review_by_plan = {p.index: rid for p, rid in zip(reviews, review_ids, strict=True)}

    results: dict[int, InboundResult] = dict(stored)
    for plan in fresh:
        written = tuple(per_plan[plan.index])
        assert plan.classification is not None
        results[plan.index] = InboundResult(
            id=ids[plan.index],
            classification=plan.classification,
            event=written[0] if written else None,
            reply=reply_by_plan.get(plan.index),
            review_id=review_by_plan.get(plan.index),
            decided_by=plan.decided_by,
            events=written,
        )
    for plan in plans:
        if plan.duplicate_of is not None:
            original = results[plan.duplicate_of]
            results[plan.index] = as_duplicate(original)
    return [results[i] for i in range(len(plans))]


# -- resolving and deciding ------------------------------------------------------------
def _resolve(ctx: Context, index: int, message: InboundMessage, now_us: int) -> Plan:
    if not isinstance(message.text, str):
        raise InvalidInput("text must be a string (may be empty)", field="text")
    if len(message.text) > MAX_BODY:
        raise InvalidInput(f"text is longer than {MAX_BODY} characters", field="text")
    channel = check_channel(message.channel)
    to = message.to if isinstance(message.to, str) else ""
    line = ctx.directory.find_line(to) or ctx.directory.line(normalise_line_id(to))
    account = ctx.directory.account_by_id(line.account_id)
    address = normalise_address(message.from_, channel, account.default_region)
    provider = check_name("provider", message.provider)
    hint = message.provider_hint
    if hint is not None and (not isinstance(hint, str) or len(hint) > 32):
        raise InvalidInput("provider_hint must be a short string", field="provider_hint")
    message_id = message.message_id or f"auto-{uuid.uuid4().hex}"
    if not isinstance(message_id, str) or not 1 <= len(message_id) <= 128:
        raise InvalidInput("message_id must be 1 to 128 characters", field="message_id")
    check_identifier(message_id, "message_id")
    received_us = to_us(message.received_at) if message.received_at else now_us
    if received_us > now_us + int(recording.MAX_FUTURE_SKEW.total_seconds() * 1e6):
        # A provider whose clock runs fast must not cost a STOP (C14: effective at
        # receipt): the message counts from now, and its claimed time stays in the proof.
        received_us = now_us
    return Plan(index, line, account, address, channel, provider, message_id, received_us, message)


def _scope_of(directory: Directory, request: RecordRequest) -> str:
    """Where ``request``'s event will land: asked of the service that writes it."""
    return recording.resolve_scope(directory, request)[1]


def _decide(ctx: Context, plan: Plan, entries: Sequence[Entry]) -> None:
    """Ask the decision rule what the message does; keep its answer as record requests."""
    message = plan.message
    config = ctx.classifier(plan.account.id)
    cls = _storable(classify(message.text, config))
    facts = InboundFacts(
        plan.line,
        plan.account,
        plan.received_us,
        within=message.within,
        provider_verdict=ctx.provider_verdict(plan.provider, message.provider_hint),
    )
    decision = decide(
        cls,
        facts,
        entries,
        directory=ctx.directory,
        policy=ctx.policies[plan.line.tenant_id],
        settings=ctx.effective(plan.account.id),
        confirm_keywords=config.confirm_keywords,
    )
    plan.classification = cls
    plan.language = decision.language
    plan.decided_by = decision.decided_by
    plan.reply_kind = decision.reply
    plan.review = decision.review
    proof = _proof(plan, cls)
    plan.requests.extend(_request(plan, change, proof) for change in decision.changes)


def _request(plan: Plan, change: Change, proof: dict[str, Any]) -> RecordRequest:
    if change.confirms is not None:  # C24: the proof names the request it confirms
        proof = dict(proof, confirms_event=change.confirms, double_opt_in=True)
    return RecordRequest(
        address=plan.address,
        action=change.action,
        account=change.account,
        line=change.line,
        via=change.via,
        purpose=change.purpose,
        topic=change.topic,
        channel=plan.channel,
        source="keyword",
        proof=proof,
        occurred_at=from_us(plan.received_us),
        reach=change.reach,
        within=plan.message.within,
    )


def _storable(cls: Classification) -> Classification:
    """The classification with its text fields storable (they derive from the text)."""
    if is_storable(cls.normalised) and (cls.keyword is None or is_storable(cls.keyword)):
        return cls
    keyword = None if cls.keyword is None else display_form(cls.keyword)
    return dataclasses.replace(cls, normalised=display_form(cls.normalised), keyword=keyword)


def _proof(plan: Plan, cls: Classification) -> dict[str, Any]:
    proof: dict[str, Any] = {
        "provider": plan.provider,
        "message_id": plan.message_id,
        "received_on": plan.line.number,
        "keyword": cls.keyword,
        "rule": cls.rule,
        "language": cls.language,
        "classifier_version": cls.version,
        "provider_exact": cls.provider_exact,
    }
    if plan.message.provider_hint:
        proof["provider_hint"] = display_form(plan.message.provider_hint)
    if plan.decided_by != "classifier":
        proof["decided_by"] = plan.decided_by
    claimed = plan.message.received_at
    if claimed is not None and to_us(claimed) != plan.received_us:
        proof["claimed_received_at"] = claimed.isoformat()  # in the future: not used
    return with_text(proof, plan.message.text)
