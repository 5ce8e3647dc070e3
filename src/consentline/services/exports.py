"""Bringing consent out: the event export, the per-line snapshot and data-subject
access (C21, C28).

* :func:`export_events` streams the events of an account's subtree, with proof,
  sequence numbers and chain hashes, as the records of
  :mod:`consentline.domain.exports` (a header, the events, an end record); memory
  holds one page, however long the chain.
* :func:`snapshot` streams every address that has a status on some lines
  (``opted_in``, ``opted_out``, ``pending``, ``expired``) with the answer a
  ``check`` gives it: the same fold, the same decision, the same point-in-time
  path through the ledger for a moment in the past.
* :func:`subject_export` gathers everything held about one number in a subtree
  into one JSON-ready document, in a handful of indexed queries.

Every function takes an entered unit of work and plain values; nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from consentline.domain.addresses import check_channel, normalise_address, normalise_line_id
from consentline.domain.errors import InvalidInput, UnknownPurpose
from consentline.domain.exports import end_line, event_line, export_header
from consentline.domain.ledger import (
    GENESIS,
    IN,
    OUT,
    PENDING,
    Entry,
    decode,
    encode,
    fold,
    from_us,
    load_proof,
    parse_shape,
    to_us,
    widened_entries,
)
from consentline.domain.policy import PurposeRule, TenantPolicy, decide_state
from consentline.domain.scopes import (
    Account,
    Directory,
    Line,
    account_scope,
    line_scope,
)
from consentline.services import scope_questions
from consentline.services.ports import StateRow, UnitOfWork

PAGE: Final = 5000
SUBJECT_FORMAT: Final = "consentline-subject/1"


# -- subtrees ---------------------------------------------------------------------------
def subtree(directory: Directory, owner: Account) -> tuple[list[Account], list[Line]]:
    """The account and its descendants, and their lines."""
    accounts = [
        a
        for a in directory.accounts()
        if a.tenant_id == owner.tenant_id and directory.is_within(a.id, owner.id)
    ]
    ids = {a.id for a in accounts}
    return accounts, [line for line in directory.lines() if line.account_id in ids]


def subtree_scopes(directory: Directory, owner: Account) -> set[str]:
    accounts, lines = subtree(directory, owner)
    return {account_scope(a.id) for a in accounts} | {line_scope(line.id) for line in lines}


# -- event export -----------------------------------------------------------------------
def export_events(
    uow: UnitOfWork,
    directory: Directory,
    *,
    account: str,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime,
    page: int = PAGE,
) -> Iterator[dict[str, Any]]:
    """The export records of ``account``'s subtree, streamed (C21).

    Events recorded in ``[since, until)`` (all when not given), in chain order,
    one keyset page of ``page`` events per query. The export is a consistent
    cut: it stops at the tenant's chain head as read first, so events committed
    while it runs (PostgreSQL reads each page afresh) are left for the next one.
    A tenant root with no range is a *complete chain*: every link from the genesis.

    >>> records = list(export_events(uow, directory, account="acme", now=now))  # doctest: +SKIP
    >>> records[0]["complete_chain"], records[-1]["type"]                     # doctest: +SKIP
    (True, 'end')
    """
    owner = directory.account(account)
    tenant_id = owner.tenant_id
    if since is not None and until is not None and until <= since:
        raise InvalidInput("the end of the range must be after its start", field="to")
    since_us = None if since is None else to_us(since)
    until_us = None if until is None else to_us(until)
    scopes = None if owner.is_root else subtree_scopes(directory, owner)
    head_seq, head_hash = _head(uow, tenant_id)
    complete = owner.is_root and since is None and until is None
    yield export_header(
        tenant_id=tenant_id,
        account=owner.slug,
        scopes=None if scopes is None else sorted(scopes),
        since_us=since_us,
        until_us=until_us,
        complete=complete,
        head_seq=head_seq,
        head_hash=head_hash,
        exported_us=to_us(now),
    )
    count, after, last_seq, last_hash = 0, 0, 0, GENESIS
    while True:
        rows = uow.exports.events_page(
            tenant_id,
            after_seq=after,
            until_seq=head_seq,
            limit=page,
            scopes=scopes,
            since_us=since_us,
            until_us=until_us,
        )
        refs = _page_refs(uow, tenant_id, [(row.channel, row.address) for row in rows])
        for row in rows:
            count += 1
            yield event_line(row, count, refs.get((row.channel, row.address), []))
        if rows:
            after, last_seq, last_hash = rows[-1].seq, rows[-1].seq, rows[-1].hash
        if len(rows) < page:
            break
    yield end_line(count, last_seq, last_hash)


def _page_refs(
    uow: UnitOfWork, tenant_id: int, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, str]]]:
    """The contact references of a page's addresses: one query per channel present."""
    by_channel: dict[str, set[str]] = {}
    for channel, address in keys:
        by_channel.setdefault(channel, set()).add(address)
    found: dict[tuple[str, str], list[dict[str, str]]] = {}
    for channel, addresses in by_channel.items():
        for address, pairs in uow.refs.of_addresses(tenant_id, channel, addresses).items():
            found[(channel, address)] = [{"system": s, "ref": r} for s, r in pairs]
    return found


def _head(uow: UnitOfWork, tenant_id: int) -> tuple[int, str]:
    for found, seq, head in uow.store.tenant_heads():
        if found == tenant_id:
            return seq, head
    return 0, GENESIS  # pragma: no cover - every tenant has its row


# -- snapshot ---------------------------------------------------------------------------
SNAPSHOT_COLUMNS: Final = (
    "line",
    "account",
    "address",
    "channel",
    "purpose",
    "topic",
    "status",
    "allowed",
    "reason",
    "event_id",
    "decided_at",
    "source",
    "contact_refs",
)
_STATUS: Final[dict[str, str]] = {
    "opted_in": "opted_in",
    "opted_out": "opted_out",
    "pending_confirmation": "pending",
    "consent_expired": "expired",
}


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One address's status on one line for one purpose, and what a check answers.

    ``status`` is ``opted_in``, ``opted_out``, ``pending`` (a double opt-in awaiting
    its confirmation, C24) or ``expired`` (an opt-in past its TTL); ``allowed`` and
    ``reason`` are the decision of ``check`` at the snapshot's moment, quiet hours
    aside (they depend on the moment of sending, not on consent).
    """

    line: str
    account: str
    address: str
    channel: str
    purpose: str
    topic: str | None
    status: str
    allowed: bool
    reason: str
    event_id: int
    decided_at: datetime
    source: str
    contact_refs: tuple[tuple[str, str], ...] = ()  # (system, ref): the CRM's record ids

    def as_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in SNAPSHOT_COLUMNS}
        out["decided_at"] = self.decided_at.isoformat()
        out["contact_refs"] = [{"system": s, "ref": r} for s, r in self.contact_refs]
        return out


class _Question:
    """One (line, purpose) of a snapshot, with its fold memoised by row shape."""

    __slots__ = (
        "account",
        "line",
        "memo",
        "memo_dated",
        "policy",
        "revoke_all",
        "rule",
        "scopes",
        "strict",
    )

    def __init__(
        self, directory: Directory, line: Line, rule: PurposeRule, policy: TenantPolicy
    ) -> None:
        self.line = line
        self.account = directory.account_by_id(line.account_id).slug
        self.scopes = directory.covering_scopes(line)
        self.rule = rule
        self.strict = replace(rule, model="restrictive")  # names the status
        self.policy = policy
        self.revoke_all = policy.revoke_all_for(rule)  # C16, as the gate folds it
        self.memo: dict[str, _Memo] = {}
        self.memo_dated: dict[tuple[str, frozenset[int]], _Memo] = {}


def snapshot(
    uow: UnitOfWork,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    *,
    lines: Sequence[str],
    purposes: Sequence[str] | None = None,
    topic: str | None = None,
    channel: str = "sms",
    at: datetime | None = None,
    now: datetime,
    page: int = PAGE,
) -> Iterator[SnapshotRow]:
    """Every address with a status on ``lines``, for each purpose (default: all of
    the tenant's), in address order; streamed a page of projection rows at a time.

    The fold and the decision are the send gate's (``services.gate``): the
    projection row's entries folded over the line's covering scopes, then
    ``decide_state`` at ``at`` (default ``now``). For an address whose newest
    event is after ``at``, the ledger is folded as ``check(at=...)`` does
    (``services.history.fold_at``), batched per page. Addresses with nothing on a
    line (the fold's ``none``) are left out, as are pending requests past their
    window: a check answers them as it answers an unknown number.
    """
    kind = check_channel(channel)
    moment = at or now
    at_us = to_us(moment)
    older = at is not None
    by_tenant: dict[int, list[_Question]] = {}
    for number in dict.fromkeys(lines):
        line = directory.find_line(number) or directory.line(normalise_line_id(number))
        policy = policies[line.tenant_id]
        names = list(purposes) if purposes else sorted(policy.purposes)
        for name in names:
            rule = policy.purposes.get(name)
            if rule is None:
                raise UnknownPurpose(f"no purpose {name!r} in this tenant", purpose=name)
            by_tenant.setdefault(line.tenant_id, []).append(
                _Question(directory, line, rule, policy)
            )
    wanted_topic = topic or ""
    for tenant_id, questions in by_tenant.items():
        after: str | None = None
        while True:
            rows = uow.exports.state_page(tenant_id, kind, after=after, limit=page)
            if not rows:
                break
            past = _past_rows(uow, tenant_id, kind, rows, at_us) if older else {}
            refs = uow.refs.of_addresses(tenant_id, kind, [row[0] for row in rows])
            for row in rows:
                address = row[0]
                folded = past.get(address, row)
                held = tuple(refs.get(address, ()))
                for question in questions:
                    found = _decide(question, folded, wanted_topic, at_us, kind, topic, held)
                    if found is not None:
                        yield found
            after = rows[-1][0]
            if len(rows) < page:
                break


def _past_rows(
    uow: UnitOfWork, tenant_id: int, channel: str, rows: Sequence[StateRow], at_us: int
) -> dict[str, StateRow]:
    """The rows of a page whose newest event is after ``at_us``, refolded from the
    ledger up to ``at_us`` (the projection only holds the present): one batched
    read for the page, as ``fold_at`` reads one address."""
    late = [row[0] for row in rows if at_us < row[4]]
    if not late:
        return {}
    out: dict[str, StateRow] = {}
    for address, events in uow.exports.histories(tenant_id, channel, late).items():
        entries: list[Entry] = [e.entry() for e in events if e.occurred_us <= at_us]
        projection = encode(entries)
        out[address] = (address, projection.shape, projection.ids, projection.times, at_us)
    for address in late:  # every event after the moment: nothing was known then
        out.setdefault(address, (address, "", "", "", at_us))
    return out


# Per shape: the deciding entry's index (or -1: nothing to list), the fold's state, the
# status, allowed and reason, and whether those depend on the decided time (then they
# are decided per row).
_Memo = tuple[int, str, str, bool, str, bool]
_SKIP: Final[_Memo] = (-1, "", "", False, "", False)


def _shape(
    question: _Question, shape: str, topic: str, widened: frozenset[int] = frozenset()
) -> _Memo:
    state, index = fold(parse_shape(shape), question.scopes, question.rule.name, topic, widened)
    if index < 0:
        return _SKIP
    # The status and the decision depend on the time only through a TTL or the
    # pending window (as in services.gate): otherwise every row of this shape has
    # the same ones.
    ttl = question.rule.consent_ttl or question.policy.consent_ttl
    if state == PENDING or (state == IN and ttl is not None):
        return (index, state, "", False, "", True)
    status, allowed, reason = _status(question, state, 0, 0)
    return (index, state, status, allowed, reason, False) if status else _SKIP


def _status(question: _Question, state: str, decided_us: int, at_us: int) -> tuple[str, bool, str]:
    """Status ("" when nothing is listed), allowed and reason, as check decides them."""
    if state == OUT:
        status = "opted_out"
    else:
        _, strict_reason = decide_state(state, decided_us, question.strict, question.policy, at_us)
        status = _STATUS.get(strict_reason, "")  # "": a lapsed request, or nothing
    if question.rule.model == "disabled":
        return status, True, "enforcement_disabled"
    allowed, reason = decide_state(state, decided_us, question.rule, question.policy, at_us)
    return status, allowed, reason


def _decide(
    question: _Question,
    row: StateRow,
    topic: str,
    at_us: int,
    channel: str,
    shown_topic: str | None,
    refs: tuple[tuple[str, str], ...],
) -> SnapshotRow | None:
    shape = row[1]
    start = question.revoke_all
    widened: frozenset[int] = frozenset()
    if start is not None and row[4] >= start:  # an event on or after the date (C16)
        widened = widened_entries(decode(shape, row[2], row[3]), start)
    if widened:
        memo = question.memo_dated.get((shape, widened))
        if memo is None:
            memo = _shape(question, shape, topic, widened)
            question.memo_dated[(shape, widened)] = memo
    else:
        memo = question.memo.get(shape)
        if memo is None:
            memo = _shape(question, shape, topic)
            question.memo[shape] = memo
    index, state, status, allowed, reason, timed = memo
    if index < 0:
        return None
    decided_us = int(row[3].split(";")[index])
    if timed:
        status, allowed, reason = _status(question, state, decided_us, at_us)
        if not status:
            return None
    part = shape.split(";")[index]
    return SnapshotRow(
        line=question.line.number,
        account=question.account,
        address=row[0],
        channel=channel,
        purpose=question.rule.name,
        topic=shown_topic,
        status=status,
        allowed=allowed,
        reason=reason,
        event_id=int(row[2].split(";")[index]),
        decided_at=from_us(decided_us),
        source=part[part.rindex(",") + 1 :],
        contact_refs=refs,
    )


# -- data-subject access (C28) ------------------------------------------------------------
def subject_export(
    uow: UnitOfWork,
    directory: Directory,
    *,
    account: str,
    address: str,
    channel: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    """Everything held about ``address`` in ``account``'s subtree, as one document (C28).

    The events whose scope is in the subtree or governs it (an ancestor up to the
    compliance boundary, whose events decide the subtree's checks), with proof and
    chain hashes; the inbound messages the subtree's lines received from the
    number, raw, with the classifier's reading and the events it produced; the
    replies sent to it; the review items and scope questions about it; the
    external record ids (contact references) that point at it. A handful of
    indexed queries, whatever the size of the ledger.
    """
    owner = directory.account(account)
    tenant_id = owner.tenant_id
    kind = channel or ("email" if isinstance(address, str) and "@" in address else "sms")
    normalised = normalise_address(address, check_channel(kind), owner.default_region)
    accounts, lines = subtree(directory, owner)
    account_ids = {a.id for a in accounts}
    numbers = {line.number for line in lines}
    visible = subtree_scopes(directory, owner)
    visible.update(account_scope(a.id) for a in directory.within_boundary(owner.id))
    tenant_lines = {ln.id: ln.number for ln in directory.lines() if ln.tenant_id == tenant_id}

    events = [e for e in uow.store.history(tenant_id, normalised, channel) if e.scope in visible]
    inbound = [
        m
        for m in uow.exports.inbound_of(tenant_id, normalised, channel)
        if m.account_id in account_ids
    ]
    sent = uow.exports.outbox_to(tenant_id, normalised, channel)
    replies = [r for r in sent if r.from_line in numbers]
    about = [m.id for m in inbound]
    reviews = [r for r in uow.exports.reviews_for(about) if r.account_id in account_ids]
    # References are kept per channel: ask for the channels the number has used.
    used = {kind, *(e.channel for e in events), *(m.channel for m in inbound)}
    channels = [channel] if channel else sorted(used)
    refs = [
        {"channel": ch, "system": system, "ref": ref}
        for ch in channels
        for system, ref in uow.refs.of_addresses(tenant_id, ch, [normalised]).get(normalised, [])
    ]
    # A scope question is only ever asked inside an opt-out confirmation (C17): a
    # number that was never sent a reply has none, and the query is skipped.
    asked = (
        scope_questions.of_address(uow, owner, tenant_lines, normalised, channel, now=now)
        if sent
        else []
    )
    questions = [q for q in asked if q.line in numbers]
    return {
        "format": SUBJECT_FORMAT,
        "address": normalised,
        "channel": channel,
        "account": owner.slug,
        "tenant": directory.account_by_id(tenant_id).slug,
        "exported_at": now.isoformat(),
        "events": [e.as_dict(directory.describe_scope(e.scope)) for e in events],
        "inbound_messages": [
            {
                "id": m.id,
                "line": tenant_lines.get(m.line_id),
                "account": directory.account_by_id(m.account_id).slug,
                "channel": m.channel,
                "provider": m.provider,
                "message_id": m.message_id,
                "received_at": from_us(m.received_us).isoformat(),
                "body": m.body,
                "classification": _json(m.classification),
                "provider_hint": m.provider_hint,
                "events": [int(i) for i in m.event_ids.split(";") if i],
            }
            for m in inbound
        ],
        "replies": [
            {
                "id": r.id,
                "kind": r.kind,
                "channel": r.channel,
                "from_line": r.from_line,
                "body": r.body,
                "language": r.language,
                "created_at": from_us(r.created_us).isoformat(),
                "status": r.status,
                "attempts": r.attempts,
                "inbound_id": r.inbound_id,
                "event_id": r.event_id,
                "detail": r.detail,
            }
            for r in replies
        ],
        "review_items": [
            {
                "id": r.id,
                "inbound_id": r.inbound_id,
                "account": directory.account_by_id(r.account_id).slug,
                "status": r.status,
                "decision": r.decision,
                "reviewer": r.reviewer,
                "note": r.note,
                "created_at": from_us(r.created_us).isoformat(),
                "decided_at": None if r.decided_us is None else from_us(r.decided_us).isoformat(),
                "event_id": r.event_id,
            }
            for r in reviews
        ],
        "scope_questions": [q.as_dict() for q in questions],
        "contact_refs": refs,
    }


def _json(text: str) -> Any:
    """A stored JSON column as a value (the proof reader's tolerance for a bad row)."""
    try:
        return json.loads(text)
    except ValueError:
        return load_proof(text)
