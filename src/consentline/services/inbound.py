"""Inbound replies: resolve, deduplicate, classify, write the consent change, queue the reply.

Every inbound message becomes, in ONE transaction: a stored message (the raw body
kept as evidence), at most one consent change (two only when START
both resumes and, by the account's choice, re-subscribes), at most one reply in
the outbox, or an item in the review queue. A provider retry with the same
message id returns the first result and writes nothing (C27: no second reply).

Batches are decided in order in memory first, so a STOP followed by a START in
the same batch behaves as if they had arrived one by one, then written with one
statement per table.

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
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, cast

from consentline.domain.addresses import check_channel, normalise_address, normalise_line_id
from consentline.domain.classifier import Classification, ClassifierConfig, KeywordScope, classify
from consentline.domain.errors import InvalidInput, mask
from consentline.domain.evidence import (
    check_identifier,
    display_form,
    escape,
    is_storable,
    text_evidence,
    unescape,
)
from consentline.domain.ledger import (
    ACTION_CODES,
    MAX_PROOF_BYTES,
    OUT,
    PENDING,
    Entry,
    Event,
    decode,
    fold,
    from_us,
    insert_entry,
    to_us,
)
from consentline.domain.policy import TenantPolicy, check_name
from consentline.domain.replies import LANGUAGES, render
from consentline.domain.scopes import Account, Directory, Line
from consentline.domain.settings import AccountSettings, merge
from consentline.services import recording
from consentline.services.ports import UnitOfWork
from consentline.services.recording import RecordRequest

CONFIRMATION_WINDOW: Final = timedelta(minutes=5)  # C17
MAX_BODY: Final = 10_000
_HINTS: Final[Mapping[str, str]] = {
    **dict.fromkeys(("stop", "optout", "opt_out", "opt-out", "unsubscribe", "stopall"), "opt_out"),
    **dict.fromkeys(("start", "optin", "opt_in", "opt-in", "unstop", "subscribe"), "opt_in"),
    **dict.fromkeys(("help", "info"), "help"),
}


_FIRST_WORD_HINTS: Final = frozenset({"vonage"})


def normalise_hint(raw: str | None) -> str | None:
    """Provider keyword verdicts (Twilio ``OptOutType``, Telnyx ``autoresponse_type``,
    Plivo ``MessageIntent``) as ``opt_out`` / ``opt_in`` / ``help``, else None."""
    if not raw:
        return None
    return _HINTS.get(raw.strip().lower().replace(" ", ""))


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message a handset sent to one of our lines."""

    from_: str
    to: str
    text: str
    provider: str = "api"
    message_id: str | None = None
    received_at: datetime | None = None
    channel: str = "sms"
    provider_hint: str | None = None
    # The provider's webhook answer carries the reply (TwiML, Plivo XML): it is
    # stored as sent ("inline") in the same transaction, for no sender to send again.
    inline_reply: bool = False
    # The account of the API key that relayed the message (``POST /v1/inbound``):
    # its writes that allow sends stay inside that subtree (RecordRequest.within).
    # None for a provider's signed webhook: the handset's own keyword keeps its reach.
    within: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply queued in the outbox (``status`` pending, or dropped when too late)."""

    id: int
    kind: str
    body: str
    language: str
    to: str
    from_line: str
    status: str
    not_after: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the keys of ``OutboxMessage.as_dict`` (CLI and HTTP alike)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "language": self.language,
            "to": self.to,
            "from": self.from_line,
            "body": self.body,
            "not_after": None if self.not_after is None else self.not_after.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class InboundResult:
    id: int
    classification: Classification
    event: Event | None
    reply: Reply | None
    review_id: int | None
    duplicate: bool = False
    decided_by: str = "classifier"  # or "provider_hint"
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class Context:
    """What the inbound service reads besides the database."""

    directory: Directory
    policies: Mapping[int, TenantPolicy]
    settings: Mapping[int, AccountSettings]
    _memo: dict[tuple[str, int], Any] = field(default_factory=dict, compare=False, repr=False)

    def effective(self, account_id: int) -> AccountSettings:
        """The account's settings as inherited down the tree (memoised per context)."""
        found = self._memo.get(("settings", account_id))
        if found is None:
            chain = [
                self.settings.get(a.id, AccountSettings())
                for a in reversed(self.directory.ancestors(account_id))
            ]
            found = self._memo[("settings", account_id)] = merge(chain)
        return cast(AccountSettings, found)

    def classifier(self, account_id: int) -> ClassifierConfig:
        found = self._memo.get(("classifier", account_id))
        if found is None:
            found = self._memo[("classifier", account_id)] = self._classifier(account_id)
        return cast(ClassifierConfig, found)

    def _classifier(self, account_id: int) -> ClassifierConfig:
        eff = self.effective(account_id)
        tenant = self.directory.account_by_id(account_id).tenant_id
        return ClassifierConfig(
            extra_opt_out=frozenset(eff.opt_out_keywords),
            extra_opt_in=frozenset(eff.opt_in_keywords),
            extra_help=frozenset(eff.help_keywords),
            topic_keywords=dict(eff.topic_keywords),
            purposes=frozenset(self.policies[tenant].purposes),
            confirm_keywords=frozenset({"YES", *eff.confirm_keywords}),
            typo_tolerance=True if eff.typo_tolerance is None else eff.typo_tolerance,
            locale=eff.language,  # picks the language of words two packs share (CANCELAR)
        )


@dataclass
class _Plan:
    """What one message will write, decided before anything is written."""

    index: int
    line: Line
    account: Account
    address: str
    channel: str
    provider: str
    message_id: str
    received_us: int
    message: InboundMessage
    classification: Classification | None = None
    requests: list[RecordRequest] = field(default_factory=list)
    reply_kind: str | None = None
    language: str = "en"
    review: bool = False
    decided_by: str = "classifier"
    duplicate_of: int | None = None  # index of an earlier message in the batch


def handle(
    uow: UnitOfWork, ctx: Context, messages: Sequence[InboundMessage], *, now: datetime
) -> list[InboundResult]:
    """Handle a batch of inbound messages in the caller's transaction (no commit)."""
    now_us = to_us(now)
    plans = [_resolve(ctx, i, m, now_us) for i, m in enumerate(messages)]

    # Deduplicate: against the store, then inside the batch.
    seen: dict[int, Any] = {}  # plan index -> stored inbound row
    groups: dict[tuple[int, str], list[_Plan]] = {}
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
    stored = _stored_results(uow, seen)
    fresh = [p for p in plans if p.index not in stored and p.duplicate_of is None]

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
    inbound_ids = uow.inbox.insert_inbound([_inbound_row(p, per_plan[p.index]) for p in fresh])
    ids = {p.index: i for p, i in zip(fresh, inbound_ids, strict=True)}

    replies = [p for p in fresh if p.reply_kind is not None]
    reply_rows = [_reply_row(ctx, p, ids[p.index], per_plan[p.index], now_us) for p in replies]
    reply_ids = uow.inbox.insert_outbox(reply_rows)
    reply_by_plan = {
        p.index: _reply(row, rid)
        for p, row, rid in zip(replies, reply_rows, reply_ids, strict=True)
    }
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
            results[plan.index] = _as_duplicate(original)
    return [results[i] for i in range(len(plans))]


# -- resolving and deciding ------------------------------------------------------------
def _resolve(ctx: Context, index: int, message: InboundMessage, now_us: int) -> _Plan:
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
    return _Plan(index, line, account, address, channel, provider, message_id, received_us, message)


def _scope_of(directory: Directory, request: RecordRequest) -> str:
    """Where ``request``'s event will land: asked of the service that writes it."""
    return recording.resolve_scope(directory, request)[1]


def _items(entries: Sequence[Entry]) -> list[tuple[str, str, str, str]]:
    return [(e.code, e.scope, e.purpose, e.topic) for e in entries]


def _opted_out(
    ctx: Context, plan: _Plan, entries: Sequence[Entry], purpose: str, topic: str
) -> bool:
    scopes = ctx.directory.covering_scopes(plan.line)
    return fold(_items(entries), scopes, purpose, topic)[0] == OUT


def _opted_out_anywhere(ctx: Context, plan: _Plan, entries: Sequence[Entry]) -> bool:
    purposes = ctx.policies[plan.line.tenant_id].purposes
    return any(_opted_out(ctx, plan, entries, p, "") for p in ["", *purposes])


def _pending(ctx: Context, plan: _Plan, entries: Sequence[Entry]) -> Entry | None:
    """The newest live double opt-in request covering this line (C24).

    A message relayed by an API key confirms only requests inside the key's subtree:
    confirming one above it would allow sends from lines the key does not reach.
    """
    scopes = ctx.directory.covering_scopes(plan.line)
    if plan.message.within is not None:
        home = ctx.directory.account(plan.message.within)
        scopes = frozenset(
            s for s in scopes if ctx.directory.is_within(ctx.directory.scope_account(s), home.id)
        )
    policy = ctx.policies[plan.line.tenant_id]
    ttl_us = int(policy.pending_ttl.total_seconds() * 1_000_000)
    items = _items(entries)
    for index in range(len(entries) - 1, -1, -1):
        entry = entries[index]
        if entry.code != "p" or entry.scope not in scopes or entry.id < 0:
            continue
        if plan.received_us - entry.occurred_us >= ttl_us:
            return None
        purpose = entry.purpose or next(iter(policy.purposes), "")
        state, decided = fold(items, scopes, purpose, entry.topic)
        if state == PENDING and decided == index:
            return entry
    return None


def _language(ctx: Context, plan: _Plan) -> str:
    assert plan.classification is not None
    if plan.classification.language in LANGUAGES:
        return plan.classification.language or "en"
    return ctx.effective(plan.account.id).language or "en"


def _decide(ctx: Context, plan: _Plan, entries: list[Entry]) -> None:
    message = plan.message
    config = ctx.classifier(plan.account.id)
    cls = _storable(classify(message.text, config))
    plan.classification = cls
    plan.language = _language(ctx, plan)
    # Vonage's ``keyword`` is only the message's first word, not a verdict: it is
    # kept as evidence but neither overrides the classifier nor means Vonage replied.
    hint = None if plan.provider in _FIRST_WORD_HINTS else normalise_hint(message.provider_hint)
    provider_replied = hint is not None  # the provider already auto-replied to it
    intent = cls.intent
    if hint == "opt_out" and intent != "opt_out":
        intent, plan.decided_by = "opt_out", "provider_hint"  # honour the provider's STOP
    settings = ctx.effective(plan.account.id)
    proof = _proof(plan, cls)
    base: dict[str, Any] = {
        "address": plan.address,
        "channel": plan.channel,
        "source": "keyword",
        "proof": proof,
        "occurred_at": from_us(plan.received_us),
        "within": message.within,
    }
    line_number = plan.line.number

    if intent == "opt_out":
        scope = cls.scope if plan.decided_by == "classifier" else KeywordScope("default")
        purpose = scope.name if scope.kind == "purpose" else None
        if purpose is not None and purpose not in ctx.policies[plan.line.tenant_id].purposes:
            purpose = None
        topic = scope.name if scope.kind == "topic" else None
        reach = "tree" if scope.kind == "all" else settings.keyword_reach.get(cls.keyword or "")
        repeated = _opted_out(ctx, plan, entries, purpose or "", topic or "")
        plan.requests.append(
            RecordRequest(
                action="opt_out", via=line_number, purpose=purpose, topic=topic, reach=reach, **base
            )
        )
        if not repeated and not provider_replied:  # C17 / C27
            plan.reply_kind = "opt_out_confirmation"
    elif intent == "opt_in":
        if cls.topic is not None:
            plan.requests.append(
                RecordRequest(action="opt_in", account=plan.account.slug, topic=cls.topic, **base)
            )
            plan.reply_kind = None if provider_replied else "welcome"
            return
        confirm = (cls.keyword or "").upper() in config.confirm_keywords
        pending = _pending(ctx, plan, entries) if confirm else None
        if pending is not None:
            confirmed = dict(proof, confirms_event=pending.id, double_opt_in=True)
            scope_line = None
            if pending.scope.startswith("L"):
                scope_line = ctx.directory.line_by_id(int(pending.scope[1:])).number
            scope_account = (
                None if scope_line else ctx.directory.account_by_id(int(pending.scope[1:])).slug
            )
            plan.requests.append(
                RecordRequest(
                    action="opt_in",
                    account=scope_account,
                    line=scope_line,
                    purpose=pending.purpose or None,
                    topic=pending.topic or None,
                    **dict(base, proof=confirmed),
                )
            )
            plan.reply_kind = "welcome"
            return
        if _opted_out_anywhere(ctx, plan, entries):
            plan.requests.append(RecordRequest(action="resume", via=line_number, **base))
            if settings.start_creates_opt_in and not confirm:
                plan.requests.append(RecordRequest(action="opt_in", via=line_number, **base))
            plan.reply_kind = None if provider_replied else "welcome"
        elif settings.start_creates_opt_in and not confirm:
            plan.requests.append(RecordRequest(action="opt_in", via=line_number, **base))
            plan.reply_kind = None if provider_replied else "welcome"
        # C12: otherwise START/YES on a number that never consented creates nothing.
    elif intent == "help":
        plan.reply_kind = None if provider_replied else "help"
    elif intent == "ambiguous":
        plan.review = True  # C8: a person decides; never dropped


def _storable(cls: Classification) -> Classification:
    """The classification with its text fields storable (they derive from the text)."""
    if is_storable(cls.normalised) and (cls.keyword is None or is_storable(cls.keyword)):
        return cls
    keyword = None if cls.keyword is None else display_form(cls.keyword)
    return dataclasses.replace(cls, normalised=display_form(cls.normalised), keyword=keyword)


# Room kept in the proof for what the decision adds (confirms_event, double_opt_in).
_PROOF_MARGIN: Final = 256


def _proof(plan: _Plan, cls: Classification) -> dict[str, Any]:
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


def with_text(proof: dict[str, Any], text: str) -> dict[str, Any]:
    """``proof`` with the message text's evidence fields, within the proof limit."""
    used = len(json.dumps(proof, ensure_ascii=False, separators=(",", ":")).encode())
    proof.update(text_evidence(text, MAX_PROOF_BYTES - used - _PROOF_MARGIN))
    return proof


# -- rows and results ------------------------------------------------------------------
def _classification_json(cls: Classification, text: str) -> str:
    stored = cls.as_dict()
    if not is_storable(text):  # the exact text, beside the display form in ``body``
        stored["text_escaped"] = escape(text)
    return json.dumps(stored, ensure_ascii=False)


def classification_from_json(text: str) -> Classification:
    return Classification.from_dict(json.loads(text))


def stored_text(body: str, classification: str) -> str:
    """The exact text of a stored inbound message (its ``body`` and ``classification``)."""
    escaped = json.loads(classification).get("text_escaped")
    return body if escaped is None else unescape(escaped)


def _inbound_row(plan: _Plan, events: Sequence[Event]) -> dict[str, Any]:
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
        "classification": _classification_json(plan.classification, plan.message.text),
        "provider_hint": (
            (plan.message.provider_hint or None) and display_form(plan.message.provider_hint)[:32]
        ),
        "event_ids": ";".join(str(e.id) for e in events),
    }


def _reply_row(
    ctx: Context, plan: _Plan, inbound_id: int, events: Sequence[Event], now_us: int
) -> dict[str, Any]:
    assert plan.reply_kind is not None
    settings = ctx.effective(plan.account.id)
    body = render(plan.reply_kind, plan.language, settings.program, settings.templates)
    not_after = None
    status = "pending"
    if plan.reply_kind == "opt_out_confirmation":
        not_after = plan.received_us + int(CONFIRMATION_WINDOW.total_seconds() * 1_000_000)
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


def _reply(row: Mapping[str, Any], reply_id: int) -> Reply:
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


def _stored_results(uow: UnitOfWork, rows: Mapping[int, Any]) -> dict[int, InboundResult]:
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
            reply=_reply(asdict(reply_row), reply_row.id) if reply_row else None,
            review_id=reviews.get(int(row.id)),
            duplicate=True,
            decided_by=str(proof.get("decided_by", "classifier")),
            events=written,
        )
    return results


def _as_duplicate(original: InboundResult) -> InboundResult:
    return InboundResult(
        id=original.id,
        classification=original.classification,
        event=original.event,
        reply=original.reply,
        review_id=original.review_id,
        duplicate=True,
        decided_by=original.decided_by,
        events=original.events,
    )


def describe(message: InboundMessage) -> str:
    """A log-safe one-liner (C23): no full number, no body."""
    return f"inbound from {mask(message.from_)} to {message.to} via {message.provider}"
