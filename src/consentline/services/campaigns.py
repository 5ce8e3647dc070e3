"""Campaign sends: recorded as they are checked, opt-outs attributed, spikes flagged.

Recording (``recorded``) wraps the lazy decisions of ``check_many``: the send's row is
written when the first decision is asked for, and as decisions pass through, the
reasons are counted and the allowed addresses buffered; every ``FLUSH`` allowed
addresses become one compressed chunk of the send's reach (one insert, in a short
transaction of its own: ``storage.reach_chunks``), so a million-recipient send is
twenty inserts. When the iterator ends the send is finalised (``complete``) with its
counts. (Taking decisions in batches to hand them out through a C-level chain was
tried and is slower: the batch keeps thousands of decisions alive, and the cyclic
collector then promotes and re-traverses them, bench/README.md.)

If the consumer stops early (``break``, an exception, ``close()``, a dropped iterator
that the interpreter closes), the ``finally`` of the generator finalises the send as
``partial``: its counts and reach are those of the decisions actually handed out;
recipients never checked are not counted. An iterator that is never closed nor
collected stays ``open`` (and out of spike baselines) until it is.

Attribution (``attribute``) is not on the write path of an opt-out: it follows each
tenant's chain with a cursor, as webhook delivery does, in batches, from the
background worker. For a batch of opt-outs it reads the reach chunks whose window
the batch's opt-outs fall in (one indexed read: few rows, the sends of the last
``window``), newest first, and the texts of those that could hold one (one read per
32 chunks; each decompressed once per batch), and gives each opt-out to the newest
send whose line the opt-out's scope covers and that reached the address within
``window`` before it (C23: only counts are stored). Then every send whose count
changed is judged against its account's baseline (:mod:`consentline.domain.spikes`);
a spike is queued once, as an ``alert.opt_out_spike`` alert (``mark_spike`` and the
alert's dedupe key make it idempotent). Chunks last reached more than ``KEPT`` before
the window are dropped as the job goes.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from consentline.domain.ledger import to_us
from consentline.domain.policy import Decision, check_name
from consentline.domain.scopes import Directory, Line
from consentline.domain.spikes import DEFAULT_RULE, SpikeRule, detect, rate
from consentline.services.ports import (
    CampaignRepository,
    CampaignSendRecord,
    ReachChunk,
    UnitOfWork,
    UnitOfWorkFactory,
)

log = logging.getLogger("consentline.campaigns")

FLUSH: Final = 50_000  # allowed addresses per reach chunk of a bulk send
GATEWAY_CHUNK: Final = 1000  # a gateway send's chunk is full at this many addresses
WINDOW: Final = timedelta(hours=72)
KEPT: Final = timedelta(days=31)  # reach kept past its window (a late-read opt-out)
GROUP: Final = 32  # reach chunks read at a time, newest first
MAX_CHUNKS: Final = 2000  # reach chunks an attribution round considers at most (~100M)
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
    allowed = chunk = 0
    status = "partial"

    def flush() -> None:
        nonlocal allowed, chunk
        with units() as uow:
            uow.campaigns.reach_chunk(
                send_id=send_id,
                chunk=chunk,
                tenant_id=send.tenant_id,
                channel=send.channel,
                line_id=send.line_id,
                at_us=send.sent_us,
                addresses=reached,
            )
            uow.commit()
        # Counted once written: a write retried (by the finally below, after a failed
        # one) rewrites the same chunk number and counts its addresses once.
        allowed += len(reached)
        chunk += 1
        reached.clear()

    # The loop runs once per recipient: it does the least it can (no counter of its
    # own: the total is the sum of the reasons), and flushes after the yield, so that
    # every address written was handed out.
    get = reasons.get
    add = reached.append
    try:
        for decision in decisions:
            reason = decision.reason
            reasons[reason] = get(reason, 0) + 1
            if decision.allowed:
                add(decision.to)
                yield decision
                if len(reached) >= FLUSH:
                    flush()
            else:
                yield decision
        status = "complete"
    finally:
        if reached:
            flush()
        with units() as uow:
            uow.campaigns.add_reasons(send_id, reasons)
            uow.campaigns.finish_send(
                send_id,
                status=status,
                recipients=sum(reasons.values()),
                allowed=allowed,
                last_us=send.sent_us,
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
        store.reach_one(
            send_id=send_id,
            tenant_id=line.tenant_id,
            channel="sms",
            line_id=line.id,
            at_us=now_us,
            address=decision.to,
            full=GATEWAY_CHUNK,
        )


# -- attribution and spikes ------------------------------------------------------------
OptOut = tuple[int, str, str, str, int]  # seq, channel, address, scope, occurred_us


def _attributions(
    store: CampaignRepository,
    directory: Directory,
    tenant_id: int,
    opt_outs: list[OptOut],
    window_us: int,
) -> Counter[int]:
    """send id -> how many of ``opt_outs`` go to it: each to the newest reach chunk
    that holds its address, from a line its scope covers, reached at most ``window``
    before it (and not after it). Chunks are read newest first, ``GROUP`` at a time,
    and only those that could hold an opt-out still unattributed; at most
    ``MAX_CHUNKS`` of them (the newest) are considered in one round."""
    counts: Counter[int] = Counter()
    if not opt_outs:
        return counts
    times = [o[4] for o in opt_outs]
    chunks = store.reach_candidates(
        tenant_id, {o[1] for o in opt_outs}, min(times) - window_us, max(times), MAX_CHUNKS
    )
    if len(chunks) >= MAX_CHUNKS:  # the bound on a round's work: older sends are not read
        log.warning(
            "attribution for tenant %s read only the newest %s reach chunks of its window",
            tenant_id,
            MAX_CHUNKS,
        )
    covering: dict[tuple[str, int], bool] = {}

    def covers(scope: str, line_id: int) -> bool:
        found = covering.get((scope, line_id))
        if found is None:
            found = directory.has_line_id(line_id) and scope in directory.covering_scopes(
                directory.line_by_id(line_id)
            )
            covering[(scope, line_id)] = found
        return found

    def fits(chunk: ReachChunk, opt_out: OptOut) -> bool:
        _seq, channel, _address, scope, occurred_us = opt_out
        return (
            channel == chunk.channel
            and chunk.first_us <= occurred_us < chunk.last_us + window_us
            and covers(scope, chunk.line_id)
        )

    unattributed: dict[str, list[OptOut]] = {}
    for opt_out in opt_outs:
        unattributed.setdefault(opt_out[2], []).append(opt_out)
    for start in range(0, len(chunks), GROUP):
        if not unattributed:
            break
        group = chunks[start : start + GROUP]
        wanted: dict[int, set[str]] = {}
        for chunk in group:
            addresses = {
                address
                for address, waiting in unattributed.items()
                if any(fits(chunk, o) for o in waiting)
            }
            if addresses:
                wanted[chunk.id] = addresses
        held = store.reach_members(wanted) if wanted else {}
        for chunk in group:  # newest first: the first chunk that holds an address wins
            for address in held.get(chunk.id, ()):
                waiting = unattributed.get(address, [])
                taken = [o for o in waiting if fits(chunk, o)]
                if not taken:
                    continue
                counts[chunk.send_id] += len(taken)
                rest = [o for o in waiting if not fits(chunk, o)]
                if rest:
                    unattributed[address] = rest
                else:
                    del unattributed[address]
    return counts


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
    kept_us = int(KEPT.total_seconds() * 1_000_000)
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
            counts = _attributions(store, directory, tenant_id, opt_outs, window_us)
            store.add_opt_outs(counts)
            judge(uow, directory, counts.keys(), now=now, rule=rule)
            store.set_cursor(tenant_id, rows[-1][0])
            store.prune_reach(tenant_id, to_us(now) - window_us - kept_us)
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
