"""List hygiene (C24, C26): what on an account's list needs care, and asking again.

:func:`survey` reads the tenant's projection once and folds each address for
every line of the subtree (the check's fold): standing opt-ins with no proof
(legacy-field imports mark theirs ``"proof_of_consent": false``) or no consent
time of their own (an import row that gave none is dated at its import), by
source; *reconfirmation candidates* — consent older than the TTL (or
``older_than``) with no engagement since (an inbound message from the number to
the subtree, or a recorded confirmation, which is itself a fresh opt-in); and
double opt-ins pending past their TTL. Numbers are listed masked (C23).

:func:`reconfirm` queues, for each candidate, a ``pending`` at the consent's own
line, purpose and topic with the standard double opt-in request through the
outbox (``outbox.queue_confirmation_requests``, C24). The idempotency key names
the consent it reconfirms, so a consent is asked about once, whatever the number
of runs; at most ``per_line`` are queued per line per run (the rest wait for the
next run); a number opted out on the line is never a candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from consentline.domain.errors import InvalidInput, UnknownAccount, mask
from consentline.domain.ledger import IN, PENDING, decode, fold, from_us, to_us, widened_entries
from consentline.domain.policy import TenantPolicy
from consentline.domain.scopes import Directory, Line
from consentline.services import outbox, recording
from consentline.services.context import Context
from consentline.services.ports import UnitOfWork
from consentline.services.recording import RecordRequest

PER_LINE: Final = 100
LISTED: Final = 1000  # items listed per kind (the counts cover all)


@dataclass(frozen=True, slots=True)
class HygieneItem:
    """One entry of a hygiene list: a masked number, never the whole (C23)."""

    kind: str  # no_proof, no_timestamp, reconfirm, pending_expired
    number: str  # masked
    line: str
    source: str
    since: str  # ISO time of the consent or request

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "number": self.number,
            "line": self.line,
            "source": self.source,
            "since": self.since,
        }


@dataclass(slots=True)
class HygieneReport:
    account: str
    cutoff: str | None
    no_proof: dict[str, int] = field(default_factory=dict)  # by source
    no_timestamp: dict[str, int] = field(default_factory=dict)  # by source
    reconfirm: int = 0
    pending_expired: int = 0
    items: list[HygieneItem] = field(default_factory=list)
    # what reconfirm needs (never shown): (address, line, purpose, topic, event id, µs)
    candidates: list[tuple[str, Line, str, str, int, int]] = field(default_factory=list)
    listed: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "cutoff": self.cutoff,
            "no_proof": self.no_proof,
            "no_timestamp": self.no_timestamp,
            "reconfirm": self.reconfirm,
            "pending_expired": self.pending_expired,
            "items": [i.as_dict() for i in self.items],
        }


@dataclass(frozen=True, slots=True)
class ReconfirmReport:
    account: str
    candidates: int
    queued: int
    already: int  # asked before (idempotent): nothing new
    deferred: int  # over the per-line limit: the next run
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "candidates": self.candidates,
            "queued": self.queued,
            "already": self.already,
            "deferred": self.deferred,
            "dry_run": self.dry_run,
        }


def survey(
    uow: UnitOfWork,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    *,
    account: str,
    older_than: timedelta | None,
    now: datetime,
    within: str | None = None,
) -> HygieneReport:
    """The hygiene of ``account``'s subtree (module docstring)."""
    owner = directory.account(account)
    if within is not None and not directory.is_within(owner.id, directory.account(within).id):
        raise UnknownAccount(f"no account {owner.slug!r}", account=owner.slug)
    if older_than is not None and older_than <= timedelta(0):
        raise InvalidInput("older_than must be positive", field="older_than")
    policy = policies[owner.tenant_id]
    now_us = to_us(now)
    ids = [
        a.id
        for a in directory.accounts()
        if a.tenant_id == owner.tenant_id and directory.is_within(a.id, owner.id)
    ]
    lines = [line for line in directory.lines() if line.account_id in set(ids)]
    covering = {line.id: directory.covering_scopes(line) for line in lines}
    engaged = uow.rollups.last_inbound(owner.tenant_id, ids)
    ttl = older_than or policy.consent_ttl
    report = HygieneReport(owner.slug, None if ttl is None else _iso(now_us - _us(ttl)))
    standing: dict[int, tuple[str, Line, str, str, int, str]] = {}
    for _channel, address, projection in uow.store.state_rows(owner.tenant_id):
        entries = decode(projection.shape, projection.ids, projection.times)
        items = [(e.code, e.scope, e.purpose, e.topic) for e in entries]
        widened = widened_entries(entries, policy.revoke_all_us)
        purposes = ["", *sorted({e.purpose for e in entries if e.purpose})]
        scopes = {e.scope for e in entries}
        for line in lines:
            if not scopes & covering[line.id]:
                continue
            for purpose in purposes:
                for topic in {"", *(e.topic for e in entries if e.topic)}:
                    state, index = fold(items, covering[line.id], purpose, topic, widened)
                    if index < 0 or state not in (IN, PENDING):
                        continue
                    entry = entries[index]
                    if entry.id in standing:
                        continue
                    standing[entry.id] = (
                        address,
                        line,
                        entry.purpose,
                        entry.topic,
                        entry.occurred_us,
                        state,
                    )
    proofs = uow.store.events_by_id(standing)
    for event_id, (address, line, purpose, topic, at_us, state) in sorted(
        standing.items(), key=lambda item: item[1][4]
    ):
        event = proofs[event_id]
        if state == PENDING:
            if now_us - at_us >= _us(policy.pending_ttl):
                report.pending_expired += 1
                _list(report, "pending_expired", address, line, event.source, at_us)
            continue
        if event.action != "opt_in":
            continue
        if not event.proof or event.proof.get("proof_of_consent") is False:
            report.no_proof[event.source] = report.no_proof.get(event.source, 0) + 1
            _list(report, "no_proof", address, line, event.source, at_us)
        if event.source == "import" and to_us(event.recorded_at) == at_us:
            report.no_timestamp[event.source] = report.no_timestamp.get(event.source, 0) + 1
            _list(report, "no_timestamp", address, line, event.source, at_us)
        rule = policy.purposes.get(purpose)
        limit = older_than or (rule.consent_ttl if rule else None) or policy.consent_ttl
        if limit is None:
            continue
        cutoff = now_us - _us(limit)
        if at_us < cutoff and engaged.get(address, -1) < cutoff:
            report.reconfirm += 1
            report.candidates.append((address, line, purpose, topic, event_id, at_us))
            _list(report, "reconfirm", address, line, event.source, at_us)
    return report


def reconfirm(
    uow: UnitOfWork,
    ctx: Context,
    *,
    account: str,
    older_than: timedelta | None,
    per_line: int,
    dry_run: bool,
    now: datetime,
    within: str | None = None,
) -> ReconfirmReport:
    """Queue reconfirmation requests for the candidates and commit (module docstring)."""
    if not isinstance(per_line, int) or not 1 <= per_line <= 10_000:
        raise InvalidInput("per_line must be between 1 and 10000", field="per_line")
    found = survey(
        uow,
        ctx.directory,
        ctx.policies,
        account=account,
        older_than=older_than,
        now=now,
        within=within,
    )
    chosen: list[tuple[str, Line, str, str, int, int]] = []
    per: dict[int, int] = {}
    deferred = 0
    for candidate in found.candidates:
        line = candidate[1]
        if per.get(line.id, 0) >= per_line:
            deferred += 1
            continue
        per[line.id] = per.get(line.id, 0) + 1
        chosen.append(candidate)
    if dry_run or not chosen:
        return ReconfirmReport(found.account, found.reconfirm, 0, 0, deferred, dry_run)
    requests = [
        RecordRequest(
            address=address,
            action="pending",
            line=line.number,
            purpose=purpose or None,
            topic=topic or None,
            source="reconfirm",
            proof={"reconfirms_event": event_id, "reason": "consent_age"},
            idempotency_key=f"reconfirm:{event_id}",
        )
        for address, line, purpose, topic, event_id, _ in chosen
    ]
    results = recording.append_results(uow, ctx.directory, ctx.policies, requests, now=now)
    fresh = [r.event for r in results if not r.replayed]
    outbox.queue_confirmation_requests(uow, ctx, fresh, now=now)  # C24
    uow.commit()
    return ReconfirmReport(
        found.account, found.reconfirm, len(fresh), len(results) - len(fresh), deferred, False
    )


def _list(report: HygieneReport, kind: str, address: str, line: Line, source: str, us: int) -> None:
    if report.listed.get(kind, 0) < LISTED:
        report.listed[kind] = report.listed.get(kind, 0) + 1
        report.items.append(HygieneItem(kind, mask(address), line.number, source, _iso(us)))


def _us(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1_000_000)


def _iso(us: int) -> str:
    return from_us(us).isoformat()
