"""The ``campaigns`` and ``gateway`` report kinds (C23: counts and identifiers only).

Both read small tables maintained as sends happen, never the ledger: a campaign
send's row already holds its counts and the opt-outs attributed to it (by the
attribution job, :mod:`consentline.services.campaigns`), and the gateway's decisions
are tallied per line, 15-minute bucket and reason. So each report is one or two
indexed queries whatever the ledger's size, and no query per row.

``campaigns``: one row per send of the account's subtree sent in the window:
``send, campaign, line, account, purpose, topic, kind, status, sent_at`` (and the
bucket key when asked), ``recipients, allowed, denied``, ``denied_<reason>`` for each
reason that denies, ``opt_outs`` (attributed within the attribution window),
``opt_out_rate`` (opt_outs / allowed) and ``spike`` (flagged and alerted).

``gateway``: rows grouped by ``line`` and ``reason`` (or ``query.by``, any of
``line, account, reason``) and the bucket, with ``allowed`` and ``denied`` counts.

:func:`latest_sends` gives the newest sends of a subtree as ``campaigns`` rows (the
dashboard's table), read newest first from ``ix_campaign_sends_tenant_sent``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from consentline.domain.errors import InvalidInput
from consentline.domain.ledger import from_us, to_us
from consentline.domain.policy import REASONS
from consentline.domain.reports import BUCKETS, ReportQuery, Row
from consentline.domain.scopes import Directory
from consentline.domain.spikes import rate
from consentline.services.campaigns import ALLOWING
from consentline.services.ports import CampaignSendRecord, UnitOfWork

DENYING: Final = tuple(r for r in REASONS if r not in ALLOWING)
GATEWAY_KEYS: Final = ("line", "account", "reason")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}", timezone=name[:64]) from None


def bucket_key(at: datetime, bucket: str, zone: ZoneInfo) -> str:
    """The calendar period of ``at`` in ``zone``: hour ``2026-03-02T15:00``, day
    ``2026-03-02``, week (its Monday) ``2026-03-02``, month ``2026-03``."""
    local = at.astimezone(zone)
    if bucket == "hour":
        return local.strftime("%Y-%m-%dT%H:00")
    if bucket == "day":
        return local.date().isoformat()
    if bucket == "week":
        return (local.date() - timedelta(days=local.weekday())).isoformat()
    if bucket == "month":
        return local.strftime("%Y-%m")
    raise InvalidInput(f"bucket is one of {', '.join(BUCKETS)}", bucket=bucket[:16])


def _scope(directory: Directory, query: ReportQuery) -> tuple[int, int, set[int] | None]:
    """The report's tenant, home account and lines (None: every line of the subtree)."""
    home = directory.account(query.account)
    lines: set[int] | None = None
    if query.lines is not None:
        lines = set()
        for number in query.lines:
            line = directory.line(number)
            if not directory.is_within(line.account_id, home.id):
                raise InvalidInput("a line of the report is outside its account", line=number)
            lines.add(line.id)
    return home.tenant_id, home.id, lines


def _window(query: ReportQuery) -> tuple[int | None, int | None]:
    since = None if query.since is None else to_us(query.since)
    until = None if query.until is None else to_us(query.until)
    return since, until


def _line_number(directory: Directory, line_id: int) -> str | None:
    return directory.line_by_id(line_id).number if directory.has_line_id(line_id) else None


def campaigns_report(uow: UnitOfWork, directory: Directory, query: ReportQuery) -> list[Row]:
    """Each campaign send in the window, with its counts, opt-out rate and spike flag."""
    tenant_id, home_id, lines = _scope(directory, query)
    zone = _zone(query.timezone)
    since, until = _window(query)
    sends = [
        s
        for s in uow.campaigns.sends_between(tenant_id, lines, since, until)
        if directory.has_account_id(s.account_id) and directory.is_within(s.account_id, home_id)
    ]
    return _send_rows(uow, directory, sends, query.bucket, zone)


def latest_sends(
    uow: UnitOfWork, directory: Directory, account: str, *, limit: int = 10
) -> list[Row]:
    """The ``limit`` newest sends of ``account``'s subtree, newest first, as rows of
    the ``campaigns`` report (one indexed read, whatever the number of sends)."""
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        raise InvalidInput("limit must be between 1 and 100", field="limit")
    home = directory.account(account)
    ids = [
        a.id
        for a in directory.accounts()
        if a.tenant_id == home.tenant_id and directory.is_within(a.id, home.id)
    ]
    sends = uow.campaigns.latest_sends(home.tenant_id, ids, limit)
    return _send_rows(uow, directory, sends, None, None)


def _send_rows(
    uow: UnitOfWork,
    directory: Directory,
    sends: Sequence[CampaignSendRecord],
    bucket: str | None,
    zone: ZoneInfo | None,
) -> list[Row]:
    reasons = uow.campaigns.reasons_of([s.id for s in sends])
    rows: list[Row] = []
    for send in sends:
        counts = reasons.get(send.id, {})
        sent_at = from_us(send.sent_us)
        row: Row = {
            "send": send.id,
            "campaign": send.campaign,
            "line": _line_number(directory, send.line_id),
            "account": directory.account_by_id(send.account_id).slug,
            "purpose": send.purpose,
            "topic": send.topic,
            "kind": send.kind,
            "status": send.status,
            "sent_at": sent_at.astimezone(UTC).isoformat(),
        }
        if bucket is not None and zone is not None:
            row[bucket] = bucket_key(sent_at, bucket, zone)
        row["recipients"] = send.recipients
        row["allowed"] = send.allowed
        row["denied"] = send.recipients - send.allowed
        for reason in DENYING:
            row[f"denied_{reason}"] = counts.get(reason, 0)
        row["opt_outs"] = send.opt_outs
        row["opt_out_rate"] = round(rate(send.opt_outs, send.allowed), 6)
        row["spike"] = send.spike_us is not None
        rows.append(row)
    return rows


def _keys(by: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(by) or ("line", "reason")
    unknown = [k for k in chosen if k not in GATEWAY_KEYS]
    if unknown:
        raise InvalidInput(
            f"the gateway report groups by {', '.join(GATEWAY_KEYS)}; not {', '.join(unknown)}",
            by=",".join(unknown)[:64],
        )
    return chosen


def gateway_report(uow: UnitOfWork, directory: Directory, query: ReportQuery) -> list[Row]:
    """The gateway's allowed and denied sends by line and reason (and bucket)."""
    keys = _keys(query.by)
    tenant_id, home_id, lines = _scope(directory, query)
    zone = _zone(query.timezone)
    since, until = _window(query)
    if lines is None:
        lines = {
            line.id for line in directory.lines() if directory.is_within(line.account_id, home_id)
        }
    tallies = uow.campaigns.gateway_counts(tenant_id, lines, since, until)
    grouped: dict[tuple[Any, ...], list[int]] = {}
    for line_id, bucket_us, allowed, reason, count in tallies:
        line = directory.line_by_id(line_id) if directory.has_line_id(line_id) else None
        values = {
            "line": line.number if line else None,
            "account": directory.account_by_id(line.account_id).slug if line else None,
            "reason": reason,
        }
        group = tuple(values[k] for k in keys)
        if query.bucket is not None:
            group += (bucket_key(from_us(bucket_us), query.bucket, zone),)
        measures = grouped.setdefault(group, [0, 0])
        measures[0 if allowed else 1] += count
    rows: list[Row] = []
    for group in sorted(grouped, key=lambda g: tuple("" if v is None else str(v) for v in g)):
        row: Row = dict(zip(keys, group, strict=False))
        if query.bucket is not None:
            row[query.bucket] = group[-1]
        row["allowed"], row["denied"] = grouped[group]
        rows.append(row)
    return rows
