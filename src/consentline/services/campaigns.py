"""Campaign sends: recorded as they are checked, opt-outs attributed, spikes flagged.

Recording (``recorded``) wraps the lazy decisions of ``check_many``: the send's row is
written when the first decision is asked for, and as decisions pass through, the
reasons are counted and the allowed addresses buffered; every ``FLUSH`` allowed
addresses are upserted into ``campaign_reach`` (the last send that reached each
address from each line) in one statement, in a short transaction of their own. When
the iterator ends the send is finalised (``complete``) with its counts.

If the consumer stops early (``break``, an exception, a dropped iterator that the
interpreter closes), the ``finally`` of the generator finalises the send as
``partial``: its counts and reach are those of the decisions actually handed out;
recipients never checked are not counted. An iterator that is never closed nor
collected stays ``open`` (and out of spike baselines) until it is.

Attribution (``attribute``) is not on the write path of an opt-out: it follows each
tenant's chain with a cursor, as webhook delivery does, in batches, from the
background worker. For each opt-out it reads the reach rows of the address (one
indexed lookup per batch) and attributes the opt-out to the newest send whose line
the opt-out's scope covers and that reached the address within ``window`` before it
(C23: only counts are stored). Then every send whose count changed is judged
against its account's baseline (:mod:`consentline.domain.spikes`); a spike is queued
once, as an ``alert.opt_out_spike`` alert (``mark_spike`` and the alert's dedupe key
make it idempotent).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from consentline.domain.ledger import to_us
from consentline.domain.policy import Decision, check_name
from consentline.domain.scopes import Directory, Line
from consentline.domain.spikes import DEFAULT_RULE, SpikeRule, detect, rate
from consentline.services.ports import CampaignSendRecord, UnitOfWork, UnitOfWorkFactory

FLUSH: Final = 50_000  # allowed addresses per reach upsert
WINDOW: Final = timedelta(hours=72)
GATEWAY_GAP: Final = timedelta(hours=12)  # a gateway send ends after this long idle
BUCKET_US: Final = 15 * 60 * 1_000_000  # gateway tallies: every zone's day starts on one
BATCH: Final = 5000  # ledger events read per attribution round and tenant
SPIKE: Final = "alert.opt_out_spike"


def check_campaign(name: str) -> str:
    """A campaign name: a short lower-case identifier, like purposes and topics."""
    return check_name("campaign", name)


# The reasons of an allowed send (every other reason denies; see decide_state).
ALLOWING: Final = frozenset({"enforcement_disabled", "opted_in", "not_opted_out"})


def summary(counts: Counter[str]) -> dict[str, Any]:
    """``{"total", "allowed", "by_reason"}`` of a preview's reason counts."""
    total = sum(counts.values())
    allowed = sum(n for reason, n in counts.items() if reason in ALLOWING)
    return {"total": total, "allowed": allowed, "by_reason": dict(sorted(counts.items()))}


@dataclass(frozen=True, slots=True)
class SendSpec:
    """What a send is (everything but its recipients)."""

    tenant_id: int
    account_id: int
    line_id: int
    campaign: str
    purpose: str
    topic: str | None
    channel: str
    sent_us: int


def spec(
    directory: Directory,
    line: Line,
    *,
    campaign: str,
    purpose: str,
    topic: str | None,
    channel: str,
    at: datetime,
) -> SendSpec:
    return SendSpec(
        tenant_id=line.tenant_id,
        account_id=line.account_id,
        line_id=line.id,
        campaign=check_campaign(campaign),
        purpose=purpose,
        topic=topic,
        channel=channel,
        sent_us=to_us(at),
    )


def recorded(
    units: UnitOfWorkFactory, send: SendSpec, decisions: Iterable[Decision]
) -> Iterator[Decision]:
    """``decisions`` as they come, recording the send (see the module docstring)."""
    with units() as uow:
        send_id = uow.campaigns.open_send(
            tenant_id=send.tenant_id,
            account_id=send.account_id,
            line_id=send.line_id,
            campaign=send.campaign,
            purpose=send.purpose,
            topic=send.topic,
            channel=send.channel,
            kind="bulk",
            status="open",
            sent_us=send.sent_us,
            last_us=send.sent_us,
            recipients=0,
            allowed=0,
            opt_outs=0,
            spike_us=None,
        )
        uow.commit()
    reasons: dict[str, int] = {}
    reached: list[str] = []
    total = allowed = 0
    status = "partial"

    def flush() -> None:
        nonlocal allowed
        allowed += len(reached)
        with units() as uow:
            uow.campaigns.reach(
                send.tenant_id,
                send.channel,
                send.line_id,
                send_id,
                send.sent_us,
                list(dict.fromkeys(reached)),  # once per batch (PostgreSQL's upsert needs it)
            )
            uow.commit()
        reached.clear()

    get = reasons.get
    add = reached.append
    try:
        for decision in decisions:
            total += 1
            reason = decision.reason
            reasons[reason] = get(reason, 0) + 1
            if decision.allowed:
                add(decision.to)
                if len(reached) >= FLUSH:
                    flush()
            yield decision
        status = "complete"
    finally:
        if reached:
            flush()
        with units() as uow:
            uow.campaigns.add_reasons(send_id, reasons)
            uow.campaigns.finish_send(
                send_id, status=status, recipients=total, allowed=allowed, last_us=send.sent_us
            )
            uow.commit()


def record_gateway(
    uow: UnitOfWork,
    line: Line,
    decision: Decision,
    *,
    purpose: str,
    campaign: str | None,
    now: datetime,
) -> None:
    """One gateway decision: counted per line, 15-minute bucket and reason, and, with a
    campaign, added to the line's current gateway send of it (a new one after
    ``GATEWAY_GAP`` without messages). The caller commits."""
    now_us = to_us(now)
    bucket = now_us - now_us % BUCKET_US
    store = uow.campaigns
    store.tally_gateway(line.tenant_id, line.id, bucket, decision.allowed, decision.reason)
    if campaign is None:
        return
    since = now_us - int(GATEWAY_GAP.total_seconds() * 1_000_000)
    send_id = store.gateway_send(line.tenant_id, line.id, campaign, purpose, since)
    if send_id is None:
        send_id = store.open_send(
            tenant_id=line.tenant_id,
            account_id=line.account_id,
            line_id=line.id,
            campaign=campaign,
            purpose=purpose,
            topic=None,
            channel="sms",
            kind="gateway",
            status="complete",
            sent_us=now_us,
            last_us=now_us,
            recipients=0,
            allowed=0,
            opt_outs=0,
            spike_us=None,
        )
    store.add_to_send(send_id, recipients=1, allowed=int(decision.allowed), last_us=now_us)
    store.add_reasons(send_id, {decision.reason: 1})
    if decision.allowed:
        store.reach(line.tenant_id, "sms", line.id, send_id, now_us, [decision.to])


# -- attribution and spikes ------------------------------------------------------------
def _attributed(
    directory: Directory,
    scope: str,
    occurred_us: int,
    reach: list[tuple[int, int, int]],
    window_us: int,
) -> int | None:
    """The send an opt-out at ``scope`` goes to: the newest reach row whose line the
    scope covers, sent at most ``window`` before the opt-out (and not after it)."""
    best: tuple[int, int] | None = None
    for line_id, send_id, sent_us in reach:
        if not (sent_us <= occurred_us < sent_us + window_us):
            continue
        if not directory.has_line_id(line_id):
            continue
        if scope not in directory.covering_scopes(directory.line_by_id(line_id)):
            continue
        if best is None or (sent_us, send_id) > best:
            best = (sent_us, send_id)
    return None if best is None else best[1]


def attribute(
    units: UnitOfWorkFactory,
    directory: Directory,
    *,
    now: datetime,
    window: timedelta = WINDOW,
    rule: SpikeRule = DEFAULT_RULE,
    batch: int = BATCH,
) -> int:
    """One round: attribute the new opt-outs of every tenant with sends, judge the
    sends they changed, queue spike alerts. Returns the opt-outs read (0: idle)."""
    window_us = int(window.total_seconds() * 1_000_000)
    with units(write=False) as uow:
        tenants = uow.campaigns.chain_tenants()
    read = 0
    for tenant_id, chain_seq in tenants:
        with units() as uow:
            store = uow.campaigns
            cursor = store.cursor(tenant_id)
            if cursor is None:
                # First round for a tenant: start from its first send's chain position is
                # unknown, so from the start (opt-outs before any send attribute to none).
                cursor = 0
            if cursor >= chain_seq:
                continue
            rows = store.opt_outs_after(tenant_id, cursor, batch)
            if not rows:
                continue
            opt_outs = [r for r in rows if r[2]]
            by_channel: dict[str, set[str]] = {}
            for _seq, channel, address, _scope, _us in opt_outs:
                by_channel.setdefault(channel, set()).add(address)
            reach = {
                (channel, address): found
                for channel, addresses in by_channel.items()
                for address, found in store.reach_of(tenant_id, channel, addresses).items()
            }
            counts: Counter[int] = Counter()
            for _seq, channel, address, scope, occurred_us in opt_outs:
                send_id = _attributed(
                    directory, scope, occurred_us, reach.get((channel, address), []), window_us
                )
                if send_id is not None:
                    counts[send_id] += 1
            store.add_opt_outs(counts)
            judge(uow, directory, counts.keys(), now=now, rule=rule)
            store.set_cursor(tenant_id, rows[-1][0])
            uow.commit()
        read += len(rows)
    return read


def judge(
    uow: UnitOfWork,
    directory: Directory,
    send_ids: Iterable[int],
    *,
    now: datetime,
    rule: SpikeRule = DEFAULT_RULE,
) -> list[int]:
    """Judge sends against their accounts' baselines; queue one alert per new spike.
    Returns the ids of the sends newly flagged."""
    ids = list(send_ids)
    if not ids:
        return []
    flagged: list[int] = []
    now_us = to_us(now)
    for send in uow.campaigns.sends(ids):
        if send.spike_us is not None:
            continue
        earlier = uow.campaigns.earlier_sends(send.account_id, send.sent_us, rule.baseline_sends)
        verdict = detect(
            send.opt_outs, send.allowed, [rate(s.opt_outs, s.allowed) for s in earlier], rule
        )
        if not verdict.spike or not uow.campaigns.mark_spike(send.id, now_us):
            continue
        body = spike_body(directory, send, verdict.threshold, verdict.median)
        uow.campaigns.insert_alert(
            tenant_id=send.tenant_id,
            account_id=send.account_id,
            kind=SPIKE,
            dedupe=f"spike:{send.id}",
            created_us=now_us,
            body=json.dumps(body, separators=(",", ":"), sort_keys=True),
        )
        flagged.append(send.id)
    return flagged


def spike_body(
    directory: Directory,
    send: CampaignSendRecord,
    threshold: float | None,
    median: float | None,
) -> dict[str, Any]:
    """An ``alert.opt_out_spike``'s content: counts and identifiers only (C23)."""
    line = directory.line_by_id(send.line_id) if directory.has_line_id(send.line_id) else None
    return {
        "send": send.id,
        "campaign": send.campaign,
        "account": directory.account_by_id(send.account_id).slug,
        "line": line.number if line is not None else None,
        "purpose": send.purpose,
        "sent_at_us": send.sent_us,
        "allowed": send.allowed,
        "opt_outs": send.opt_outs,
        "opt_out_rate": round(rate(send.opt_outs, send.allowed), 6),
        "threshold": None if threshold is None else round(threshold, 6),
        "baseline_median": None if median is None else round(median, 6),
    }


class Attribution:
    """The background job (``jobs.worker.Job``): one attribution round per turn."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        *,
        clock: Callable[[], datetime],
        directory: Callable[[], Directory],
        window: timedelta = WINDOW,
        rule: SpikeRule = DEFAULT_RULE,
    ) -> None:
        self._units = units
        self._clock = clock
        self._directory = directory
        self._window = window
        self._rule = rule

    def run_once(self) -> int:
        return attribute(
            self._units, self._directory(), now=self._clock(), window=self._window, rule=self._rule
        )

    def close(self) -> None:
        return None
