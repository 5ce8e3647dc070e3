"""The scope question of an opt-out confirmation, asked and answered (C17, FCC (a)(12)).

An account that turns ``scope_question`` on has its opt-out confirmation ask which
of its categories the revocation should not cover (``domain.scope_question``).
The inbound service (``services.inbound``) hands each batch to :class:`Questions`:

* asking — a STOP that gets a confirmation (not a repeated one, C27; not one the
  provider answered itself) and revoked some offered category has the question
  appended to that one confirmation; the question is stored with the revocation's
  id and hash, the message as sent and its hash, and what it offered. The
  revocation itself was recorded at receipt with its full reach (C14): nothing
  here delays or narrows it;
* answering — a reply from that handset to that line, while the question is
  open and within its window, whose confirmation was sent, that names offered
  codes and nothing else records one ``opt_in`` per category still opted out by
  that revocation (source ``scope_answer``, the proof linking the revocation,
  the question and the answer), instead of what the message would otherwise do;
* settling — a refusal ("no", "none") or a new opt-out from the handset settles
  the question with nothing restored, and such a message is otherwise handled as
  usual (a bare NO still goes to review, C8). Anything else leaves the question
  open and is handled as usual. An answer is used once: the question is settled
  in the same transaction, and a provider's retry of the answer finds the stored
  result (``services.inbound``).

A reply without an affirmative answer changes nothing: every category stays revoked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consentline.domain.addresses import check_channel, normalise_address
from consentline.domain.evidence import with_text
from consentline.domain.ledger import Entry, Event, from_us, to_us
from consentline.domain.scope_question import (
    Answer,
    Offer,
    ScopeQuestion,
    ask,
    offers,
    read_answer,
    restorable,
)
from consentline.domain.scopes import Account, parse_scope
from consentline.services import recording
from consentline.services.context import Context
from consentline.services.inbound_messages import Plan
from consentline.services.ports import ScopeQuestionRecord, UnitOfWork
from consentline.services.recording import RecordRequest

SOURCE = "scope_answer"  # the source of the opt-ins an answer records

_Key = tuple[int, str, str, int]  # tenant, channel, address, line id


def _key(plan: Plan) -> _Key:
    return (plan.line.tenant_id, plan.channel, plan.address, plan.line.id)


def _setting(ctx: Context, plan: Plan) -> ScopeQuestion | None:
    question = ctx.effective(plan.account.id).scope_question
    return question if question is not None and question.enabled else None


def _iso(us: int) -> str:
    return from_us(us).isoformat()


class Questions:
    """The scope questions one inbound batch reads and writes (one unit of work).

    Open questions are read (and on PostgreSQL locked) only for the messages whose
    account has the question on: an account without it pays nothing.
    """

    def __init__(self, uow: UnitOfWork, ctx: Context, plans: Sequence[Plan]) -> None:
        self._ctx = ctx
        self._open: dict[_Key, ScopeQuestionRecord] = {}  # the newest open one per line
        self._older: dict[_Key, list[int]] = {}
        self._settled: dict[int, tuple[int, str]] = {}  # question id -> (plan index, status)
        wanted: dict[tuple[int, str], set[str]] = {}
        for plan in plans:
            if _setting(ctx, plan) is not None:
                wanted.setdefault((plan.line.tenant_id, plan.channel), set()).add(plan.address)
        for (tenant_id, channel), addresses in wanted.items():
            for record in uow.questions.open_questions(tenant_id, channel, addresses, lock=True):
                key = (tenant_id, channel, record.address, record.line_id)
                self._older.setdefault(key, []).append(record.id)
                self._open[key] = record

    def consider(self, plan: Plan, entries: Sequence[Entry]) -> None:
        """After the message's own decision: does it answer or settle a question, or
        does its confirmation ask one? ``entries`` are the address's entries before
        the message, in fold order."""
        self.answer(plan, entries)
        self.ask(plan, entries)

    # -- answering ---------------------------------------------------------------------
    def answer(self, plan: Plan, entries: Sequence[Entry]) -> None:
        """If ``plan``'s message settles the open question on its line, say so; if it is
        an affirmative answer, its plan becomes the opt-ins that answer records.

        ``entries`` are the address's entries before the message, in fold order.
        """
        record = self._open.get(_key(plan))
        if record is None or record.id in self._settled or _setting(self._ctx, plan) is None:
            return
        if record.reply_status != "sent" or not record.asked_us <= plan.received_us:
            return  # a question nobody was shown cannot be answered
        if plan.received_us > record.expires_us:
            return  # too late: the question lapsed, every category stays revoked
        cls = plan.classification
        assert cls is not None
        if cls.intent == "opt_out" or plan.decided_by == "provider_hint":
            self._settled[record.id] = (plan.index, "declined")  # a new STOP answers "none"
            return
        offered = [Offer.from_json(item) for item in json.loads(record.offered)]
        reading = read_answer(plan.message.text, [o.category.code for o in offered])
        if reading is None:
            return  # not an answer: handled as usual, the question stays open
        if reading.kind == "decline":
            self._settled[record.id] = (plan.index, "declined")
            return
        if cls.intent not in ("none", "opt_in"):
            return  # C8: a message the classifier doubts goes to review as usual
        chosen = restorable(
            offered,
            reading.codes,
            entries,
            directory=self._ctx.directory,
            line=plan.line,
            revocation_id=record.revocation_event_id,
            revoke_all_us=self._ctx.policies[plan.line.tenant_id].revoke_all_us,  # C16
        )
        chosen = tuple(o for o in chosen if self._within(plan, o))
        self._settled[record.id] = (plan.index, "answered")
        if not chosen:
            return  # nothing left to give back (a START or a new STOP came first)
        plan.requests[:] = [self._request(plan, record, offer, reading) for offer in chosen]
        plan.reply_kind = None  # C17: the confirmation was the one message; no second
        plan.review = False
        plan.decided_by = SOURCE

    def _within(self, plan: Plan, offer: Offer) -> bool:
        """A message relayed by an API key allows sends only inside the key's subtree."""
        if plan.message.within is None:
            return True
        directory = self._ctx.directory
        home = directory.account(plan.message.within)
        return directory.is_within(directory.scope_account(offer.scope), home.id)

    def _request(
        self, plan: Plan, record: ScopeQuestionRecord, offer: Offer, reading: Answer
    ) -> RecordRequest:
        cls = plan.classification
        assert cls is not None
        directory = self._ctx.directory
        kind, ident = parse_scope(offer.scope)
        line = directory.line_by_id(ident).number if kind == "line" else None
        account = None if line else directory.account_by_id(ident).slug
        category = offer.category
        proof: dict[str, Any] = {
            "provider": plan.provider,
            "message_id": plan.message_id,
            "received_on": plan.line.number,
            "rule": cls.rule,
            "language": cls.language,
            "classifier_version": cls.version,
            "decided_by": SOURCE,
            "actor": "handset",
            "scope_answer": {
                "question": record.id,
                "asked_at": _iso(record.asked_us),
                "question_text": record.body,
                "question_sha256": record.body_sha256,
                "question_version": record.version,
                "revocation_event": record.revocation_event_id,
                "revocation_hash": record.revocation_hash,
                "codes": list(reading.codes),
                "code": category.code,
                "label": category.label,
            },
        }
        return RecordRequest(
            address=plan.address,
            action="opt_in",
            account=account,
            line=line,
            purpose=category.purpose,
            topic=category.topic,
            channel=plan.channel,
            source=SOURCE,
            proof=with_text(proof, plan.message.text),
            occurred_at=from_us(plan.received_us),
            within=plan.message.within,
        )

    # -- asking ------------------------------------------------------------------------
    def ask(self, plan: Plan, before: Sequence[Entry]) -> None:
        """Attach the question to ``plan``'s confirmation when the account asks one and
        the revocation revoked something it offers (``plan.question``)."""
        if plan.reply_kind != "opt_out_confirmation":
            return
        question = _setting(self._ctx, plan)
        stop = next((r for r in plan.requests if r.action == "opt_out"), None)
        if question is None or stop is None:
            return
        ctx = self._ctx
        revocation = Entry(
            0,
            "o",
            recording.resolve_scope(ctx.directory, stop)[1],
            stop.purpose or "",
            stop.topic or "",
            plan.received_us,
            stop.source,
        )
        offered = offers(
            question,
            before,
            revocation,
            directory=ctx.directory,
            line=plan.line,
            policy=ctx.policies[plan.line.tenant_id],
        )
        program = ctx.effective(plan.account.id).program.name
        plan.question = ask(question, offered, language=plan.language, program=program)

    # -- writing -----------------------------------------------------------------------
    def write(
        self,
        uow: UnitOfWork,
        plans: Sequence[Plan],
        inbound_ids: Mapping[int, int],
        replies: Mapping[int, tuple[Mapping[str, Any], int]],
        events: Mapping[int, Sequence[Event]],
        now_us: int,
    ) -> None:
        """Store the questions asked and settle the ones answered, in the batch's
        transaction. ``replies`` are the outbox rows written, with their ids, by plan."""
        rows: list[dict[str, Any]] = []
        for plan in plans:
            if plan.question is None or plan.index not in replies:
                continue
            row, reply_id = replies[plan.index]
            revocation = next((e for e in events[plan.index] if e.action == "opt_out"), None)
            if row["status"] == "dropped" or revocation is None:
                continue  # C17: a confirmation too late to send asks nothing
            for older in self._older.get(_key(plan), []):
                if older not in self._settled:
                    self._settled[older] = (-1, "superseded")
            body = str(row["body"])
            rows.append(
                {
                    "tenant_id": plan.line.tenant_id,
                    "account_id": plan.account.id,
                    "line_id": plan.line.id,
                    "channel": plan.channel,
                    "address": plan.address,
                    "revocation_event_id": revocation.id,
                    "revocation_hash": revocation.hash,
                    "inbound_id": inbound_ids[plan.index],
                    "outbox_id": reply_id,
                    "body": body,
                    "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
                    "version": plan.question.version,
                    "offered": json.dumps([o.to_json() for o in plan.question.offers]),
                    "asked_us": now_us,
                    "expires_us": now_us + plan.question.window_hours * 3_600_000_000,
                    "status": "open",
                    "answer_inbound_id": None,
                    "settled_us": None,
                    "event_ids": "",
                }
            )
        settled: list[dict[str, Any]] = []
        for question_id, (index, status) in self._settled.items():
            restored = [e for e in events[index] if e.source == SOURCE] if index >= 0 else []
            settled.append(
                {
                    "qid": question_id,
                    "status": status,
                    "settled_us": now_us,
                    "answer_inbound_id": inbound_ids[index] if index >= 0 else None,
                    "event_ids": ";".join(str(e.id) for e in restored),
                }
            )
        uow.questions.settle(settled)
        uow.questions.insert_questions(rows)


# -- reading back (C28) --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AskedQuestion:
    """A scope question as evidence: what was asked, of whom, and how it was settled.

    ``status`` is ``open``, ``expired`` (open past its window), ``answered``,
    ``declined`` or ``superseded`` (a newer question on the same line replaced it).
    """

    id: int
    line: str
    channel: str
    address: str
    asked_at: datetime
    expires_at: datetime
    status: str
    text: str  # the whole confirmation, as sent
    text_sha256: str
    version: str
    reply_id: int
    reply_status: str | None
    offered: tuple[Offer, ...]
    revocation_event: int
    revocation_hash: str
    settled_at: datetime | None
    answer: Mapping[str, Any] | None  # the message that settled it, and what it recorded

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the shape of the history's ``scope_questions``, CLI and HTTP)."""
        return {
            "id": self.id,
            "line": self.line,
            "channel": self.channel,
            "address": self.address,
            "asked_at": self.asked_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "status": self.status,
            "text": self.text,
            "text_sha256": self.text_sha256,
            "version": self.version,
            "reply": {"id": self.reply_id, "status": self.reply_status},
            "offered": [o.to_json() for o in self.offered],
            "revocation": {"event": self.revocation_event, "hash": self.revocation_hash},
            "settled_at": None if self.settled_at is None else self.settled_at.isoformat(),
            "answer": None if self.answer is None else dict(self.answer),
        }


def _asked(ctx_lines: Mapping[int, str], record: ScopeQuestionRecord, now_us: int) -> AskedQuestion:
    status = record.status
    if status == "open" and now_us > record.expires_us:
        status = "expired"
    answer = None
    if record.answer_inbound_id is not None:
        answer = {
            "inbound_id": record.answer_inbound_id,
            "provider": record.answer_provider,
            "message_id": record.answer_message_id,
            "text": record.answer_body,
            "events": [int(i) for i in record.event_ids.split(";") if i],
        }
    return AskedQuestion(
        id=record.id,
        line=ctx_lines.get(record.line_id, f"#{record.line_id}"),
        channel=record.channel,
        address=record.address,
        asked_at=from_us(record.asked_us),
        expires_at=from_us(record.expires_us),
        status=status,
        text=record.body,
        text_sha256=record.body_sha256,
        version=record.version,
        reply_id=record.outbox_id,
        reply_status=record.reply_status,
        offered=tuple(Offer.from_json(item) for item in json.loads(record.offered)),
        revocation_event=record.revocation_event_id,
        revocation_hash=record.revocation_hash,
        settled_at=None if record.settled_us is None else from_us(record.settled_us),
        answer=answer,
    )


def of_address(
    uow: UnitOfWork,
    owner: Account,
    lines: Mapping[int, str],
    address: str,
    channel: str | None = None,
    *,
    now: datetime,
) -> list[AskedQuestion]:
    """Every scope question asked of ``address`` in ``owner``'s tenant, oldest first (C28).

    ``lines`` names the tenant's lines by id. The address is read as the history
    reads it (``services.history.of_address``).
    """
    kind = channel or ("email" if isinstance(address, str) and "@" in address else "sms")
    normalised = normalise_address(address, check_channel(kind), owner.default_region)
    now_us = to_us(now)
    records = uow.questions.of_address(owner.tenant_id, normalised, channel)
    return [_asked(lines, record, now_us) for record in records]
