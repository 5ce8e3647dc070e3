"""Reports: validated queries, dispatched to the kind that answers them (C23).

:func:`build_query` checks every argument (kind, grouping keys of that kind,
bucket, time zone, window, account, lines) and raises a typed error before any
read; :func:`run` hands the :class:`ReportQuery` to the function registered in
:data:`KINDS`. The kinds here read the rollups (``domain.rollups``), never the
events: a report costs a few grouped sums over counters, whatever the ledger's
size (docs/reports.md).

>>> report = run(uow, directory, build_query(directory, "opt_outs", account="acme",
...              by=["line"], bucket="day", timezone="America/New_York",
...              since=since, until=until))                   # doctest: +SKIP
>>> report.as_dict()["rows"][0]                                # doctest: +SKIP
{'line': '+18005550100', 'day': '2027-03-01', 'opt_outs': 7, ...}
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from consentline.domain.addresses import normalise_line_id
from consentline.domain.errors import (
    InvalidInput,
    InvalidTime,
    UnknownAccount,
    UnknownLine,
    UnknownReport,
)
from consentline.domain.ledger import from_us, to_us
from consentline.domain.reports import BUCKETS, Report, ReportQuery, Row
from consentline.domain.rollups import COARSE, DAY_US, QUARTER_US, day_of, slot_of
from consentline.domain.scopes import Account, Directory
from consentline.services.ports import UnitOfWork
from consentline.services.report_campaigns import GATEWAY_KEYS, campaigns_report, gateway_report

Kind = Callable[[UnitOfWork, Directory, ReportQuery], list[Row]]

# The grouping keys each kind accepts (a time bucket is asked for with ``bucket``).
GROUPINGS: dict[str, frozenset[str]] = {
    "opt_outs": frozenset({"line", "account", "purpose", "topic", "source", "rule", "language"}),
    "snapshot": frozenset({"line", "purpose"}),
    "inbound": frozenset({"line", "account", "intent", "rule", "language"}),
    "campaigns": frozenset(),  # one row per send (and its bucket)
    "gateway": frozenset(GATEWAY_KEYS),
}
_COUNT_MEASURES: Final = (
    ("opt_outs", "opt_out"),
    ("opt_ins", "opt_in"),
    ("resumes", "resume"),
    ("lapses", "lapse"),
    ("pending", "pending"),
    ("provider_exact", "exact_hit"),
    ("exact_matcher_missed", "exact_miss"),
)
# The integer measures each kind's rows carry (what a chart can plot; the campaigns
# rows also carry ``denied_<reason>`` counts and the ``opt_out_rate``).
MEASURES: dict[str, tuple[str, ...]] = {
    "opt_outs": tuple(name for name, _ in _COUNT_MEASURES),
    "snapshot": ("opted_in", "opted_out", "pending", "not_defined"),
    "inbound": ("messages", "exact_differs"),
    "campaigns": ("recipients", "allowed", "denied", "opt_outs"),
    "gateway": ("allowed", "denied"),
}


# -- validation ------------------------------------------------------------------------
def build_query(
    directory: Directory,
    kind: str,
    *,
    account: str,
    lines: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket: str | None = None,
    by: Sequence[str] | str | None = None,
    timezone: str = "UTC",
    at: datetime | None = None,
    within: str | None = None,
    now: datetime,
) -> ReportQuery:
    """A checked :class:`ReportQuery`; ``within`` is the caller's account (an API
    key's): an account or line outside its subtree is unknown, as if absent."""
    if kind not in KINDS:
        raise UnknownReport(
            f"no report {str(kind)[:40]!r}; the kinds are {', '.join(sorted(KINDS))}",
            kind=str(kind)[:40],
        )
    owner = _account(directory, account, within)
    grouping = _by(kind, by)
    if bucket is not None and bucket not in BUCKETS:
        raise InvalidInput(f"bucket is one of {', '.join(BUCKETS)}", field="bucket")
    if bucket is not None and kind == "snapshot":
        raise InvalidInput("a snapshot is taken at one moment: give at=, not bucket=")
    time_zone(timezone)
    for name, value in (("since", since), ("until", until), ("at", at)):
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise InvalidTime(f"{name} must be a time with a UTC offset", field=name)
    if until is None:
        until = now + timedelta(microseconds=1)  # what happened at ``now`` counts
    if since is not None and since >= until:
        raise InvalidTime("since must be before until", field="since")
    numbers = None
    if lines is not None:
        numbers = tuple(_line(directory, owner, n) for n in lines)
    return ReportQuery(
        kind=kind,
        account=owner.slug,
        lines=numbers,
        since=since,
        until=until,
        bucket=bucket,
        by=grouping,
        timezone=timezone,
        at=at or now,
    )


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; :class:`InvalidInput` (field ``timezone``) if none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidInput(
            "timezone must be an IANA name such as Europe/Paris", field="timezone"
        ) from None


def _account(directory: Directory, slug: str, within: str | None) -> Account:
    owner = directory.account(slug)
    if within is not None and not directory.is_within(owner.id, directory.account(within).id):
        raise UnknownAccount(f"no account {owner.slug!r}", account=owner.slug)
    return owner


def _line(directory: Directory, owner: Account, number: str) -> str:
    line = directory.find_line(number) or directory.line(normalise_line_id(number))
    if not directory.is_within(line.account_id, owner.id):
        raise UnknownLine(f"no line {line.number!r}", line=line.number)
    return line.number


def _by(kind: str, by: Sequence[str] | str | None) -> tuple[str, ...]:
    if by is None:
        return ()
    names = [b.strip() for b in by.split(",")] if isinstance(by, str) else list(by)
    allowed = GROUPINGS[kind]
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or name not in allowed:
            raise InvalidInput(
                f"a {kind} report groups by {', '.join(sorted(allowed))}", field="by"
            )
        if name not in out:
            out.append(name)
    return tuple(out)


def run(uow: UnitOfWork, directory: Directory, query: ReportQuery, *, now: datetime) -> Report:
    """The report ``query`` asks for (an ``inbound`` report adds the review queue)."""
    report = Report(query.kind, KINDS[query.kind](uow, directory, query), query)
    if query.kind == "inbound":
        report.summary = review_queue(uow, directory, query.account, to_us(now))
    return report


# -- the window, cut into buckets and read from two grains -----------------------------
def _bucket_label(bucket: str, local: datetime) -> str:
    if bucket == "hour":
        return local.strftime("%Y-%m-%dT%H:00%z")
    if bucket == "day":
        return local.date().isoformat()
    if bucket == "week":
        return (local.date() - timedelta(days=local.weekday())).isoformat()
    return local.strftime("%Y-%m")


def _bucket_start(bucket: str, local: datetime) -> datetime:
    if bucket == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next_start(bucket: str, start: datetime, zone: ZoneInfo) -> datetime:
    if bucket == "hour":  # in UTC: an hour is an hour whatever the wall clock does
        return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    d: date = start.date()
    if bucket == "day":
        d = d + timedelta(days=1)
    elif bucket == "week":
        d = d + timedelta(days=7)
    else:
        d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(d.year, d.month, d.day, tzinfo=zone)


def pieces(
    since_us: int, until_us: int, bucket: str | None, timezone: str
) -> list[tuple[int, int, str | None]]:
    """The window cut at bucket boundaries: ``(start µs, end µs, label)``, on the
    15-minute grid (the rollups' resolution)."""
    if bucket is None:
        return [(since_us, until_us, None)]
    zone = ZoneInfo(timezone)
    out: list[tuple[int, int, str | None]] = []
    start = _bucket_start(bucket, from_us(since_us).astimezone(zone))
    while True:
        nxt = _next_start(bucket, start, zone)
        a, b = max(since_us, slot_of(to_us(start))), min(until_us, slot_of(to_us(nxt)))
        if a < b:
            out.append((a, b, _bucket_label(bucket, start)))
        if b >= until_us:
            return out
        start = nxt


def plan(
    parts: Sequence[tuple[int, int, str | None]],
) -> tuple[
    dict[int, list[tuple[int, int]]],
    list[tuple[int, int, list[tuple[int, int]]]],
]:
    """Which UTC days to read whole, and which 15-minute ranges, for ``parts``.

    Returns ``days``: day µs -> [(part index, sign)] and ``ranges``: [(start, end,
    [(part index, sign)])]. A day split in two by one cut is read whole from the
    coarse grain and its smaller side from the fine one (added to its own part,
    subtracted from the other): the fine reads stay near the cuts.
    """
    days: dict[int, list[tuple[int, int]]] = {}
    ranges: list[tuple[int, int, list[tuple[int, int]]]] = []
    if not parts:
        return days, ranges
    first, last = parts[0][0], parts[-1][1]
    starts = [p[0] for p in parts]

    def part_at(us: int) -> int:  # -1: outside the window
        if us < first or us >= last:
            return -1
        return bisect.bisect_right(starts, us) - 1

    every_cut = sorted({c for p in parts for c in (p[0], p[1])})
    day = day_of(first)
    while day < last:
        end = day + DAY_US
        low = bisect.bisect_right(every_cut, day)
        cuts = every_cut[low : bisect.bisect_left(every_cut, end)]
        if not cuts:
            index = part_at(day)
            if index >= 0:
                days[day] = [(index, 1)]
        elif len(cuts) == 1:
            cut = cuts[0]
            left, right = part_at(day), part_at(cut)
            small, big = ((day, cut), right) if cut - day <= end - cut else ((cut, end), left)
            small_part = left if small[0] == day else right
            if big >= 0:
                days[day] = [(big, 1)]
                targets = [(big, -1)] + ([(small_part, 1)] if small_part >= 0 else [])
                ranges.append((small[0], small[1], targets))
            elif small_part >= 0:
                ranges.append((small[0], small[1], [(small_part, 1)]))
        else:
            bounds = [day, *cuts, end]
            for a, b in itertools.pairwise(bounds):
                index = part_at(a)
                if index >= 0:
                    ranges.append((a, b, [(index, 1)]))
        day = end
    return days, ranges


def read_window(
    uow: UnitOfWork,
    table: str,
    tenant_id: int,
    parts: Sequence[tuple[int, int, str | None]],
    keys: Sequence[str],
    measures: Sequence[str],
    where: Mapping[str, Sequence[int]],
) -> dict[tuple[Any, ...], list[int]]:
    """``(part index, *keys) -> sums`` of ``measures`` over ``parts``: two grouped
    queries (whole UTC days, and 15-minute slots near the cuts)."""
    days, ranges = plan(parts)
    out: dict[tuple[Any, ...], list[int]] = {}

    def add(index: int, sign: int, row: tuple[Any, ...]) -> None:
        key = (index, *row[1 : 1 + len(keys)])
        sums = out.get(key)
        if sums is None:
            sums = out[key] = [0] * len(measures)
        for i, value in enumerate(row[1 + len(keys) :]):
            sums[i] += sign * int(value or 0)

    if days:
        low, high = min(days), max(days) + DAY_US
        for row in uow.rollups.sums(table, tenant_id, COARSE, [(low, high)], keys, measures, where):
            for index, sign in days.get(int(row[0]), ()):
                add(index, sign, row)
    if ranges:
        # The 15-minute slots themselves: an IN list is index seeks on both databases
        # (an OR of hundreds of ranges was a scan on SQLite).
        slots = [
            q for a, b in _merge([(a, b) for a, b, _ in ranges]) for q in range(a, b, QUARTER_US)
        ]
        starts = [a for a, _, _ in ranges]
        for row in uow.rollups.slot_sums(table, tenant_id, slots, keys, measures, where):
            slot = int(row[0])
            at = bisect.bisect_right(starts, slot) - 1
            if at >= 0 and ranges[at][0] <= slot < ranges[at][1]:
                for index, sign in ranges[at][2]:
                    add(index, sign, row)
    return out


def _merge(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _window(uow: UnitOfWork, table: str, tenant_id: int, query: ReportQuery) -> tuple[int, int]:
    assert query.until is not None
    until_us = slot_of(to_us(query.until) + QUARTER_US - 1)  # the slot "now" is in counts
    if query.since is not None:
        return slot_of(to_us(query.since)), until_us
    first = uow.rollups.first_slot(table, tenant_id)
    return (until_us if first is None else min(first, until_us)), until_us


def _scope_filter(
    directory: Directory, query: ReportQuery
) -> tuple[Account, dict[str, Sequence[int]], dict[int, str], dict[int, str]]:
    owner = directory.account(query.account)
    accounts = [
        a
        for a in directory.accounts()
        if a.tenant_id == owner.tenant_id and directory.is_within(a.id, owner.id)
    ]
    slugs = {a.id: a.slug for a in accounts}
    lines = {line.id: line.number for line in directory.lines() if line.account_id in slugs}
    where: dict[str, Sequence[int]] = {"account_id": sorted(slugs)}
    if query.lines is not None:
        wanted = set(query.lines)
        lines = {i: n for i, n in lines.items() if n in wanted}
        where["line_id"] = sorted(lines)
    return owner, where, slugs, lines


def _rows(
    query: ReportQuery,
    sums: Mapping[tuple[Any, ...], list[int]],
    parts: Sequence[tuple[int, int, str | None]],
    keys: Sequence[str],
    names: Sequence[str],
    label: Callable[[str, Any], Any],
) -> list[Row]:
    """Merge the sums into rows keyed by the asked grouping (and bucket), sorted."""
    merged: dict[tuple[Any, ...], list[int]] = {}
    for key, values in sums.items():
        index, rest = key[0], dict(zip(keys, key[1:], strict=True))
        group = tuple(label(k, rest[k]) for k in query.by)
        if query.bucket is not None:
            group = (parts[index][2], *group)
        sums_of = merged.get(group)
        if sums_of is None:
            sums_of = merged[group] = [0] * len(names)
        for i, v in enumerate(values):
            sums_of[i] += v
    out: list[Row] = []
    for group, values in sorted(merged.items(), key=lambda item: [str(g) for g in item[0]]):
        if not any(values):
            continue
        row: Row = {}
        if query.bucket is not None:
            row[query.bucket] = group[0]
            group = group[1:]
        row.update(zip(query.by, group, strict=True))
        row.update(zip(names, values, strict=True))
        out.append(row)
    return out


# -- the kinds -------------------------------------------------------------------------
def opt_outs(uow: UnitOfWork, directory: Directory, query: ReportQuery) -> list[Row]:
    """Opt-outs, opt-ins, resumes, lapses and pendings by the asked keys and bucket;
    ``provider_exact``/``exact_matcher_missed``: of the opt-outs the classifier
    decided, how many an exact single-word matcher would have caught or missed."""
    owner, where, slugs, lines = _scope_filter(directory, query)
    since_us, until_us = _window(uow, "report_counts", owner.tenant_id, query)
    parts = pieces(since_us, until_us, query.bucket, query.timezone)
    keys = [_column(k) for k in query.by]
    measures = [m for _, m in _COUNT_MEASURES]
    sums = read_window(uow, "report_counts", owner.tenant_id, parts, keys, measures, where)
    return _rows(
        query,
        sums,
        parts,
        list(query.by),
        [n for n, _ in _COUNT_MEASURES],
        _labeller(slugs, lines),
    )


def inbound(uow: UnitOfWork, directory: Directory, query: ReportQuery) -> list[Row]:
    """Inbound messages by intent, rule, language, line (and bucket); the open review
    queue's size and oldest age are in :func:`review_queue` (one row per account)."""
    owner, where, slugs, lines = _scope_filter(directory, query)
    since_us, until_us = _window(uow, "report_inbound", owner.tenant_id, query)
    parts = pieces(since_us, until_us, query.bucket, query.timezone)
    keys = [_column(k) for k in query.by]
    measures = ["messages", "exact_differs"]
    sums = read_window(uow, "report_inbound", owner.tenant_id, parts, keys, measures, where)
    return _rows(
        query,
        sums,
        parts,
        list(query.by),
        measures,
        _labeller(slugs, lines),
    )


def snapshot(uow: UnitOfWork, directory: Directory, query: ReportQuery) -> list[Row]:
    """Per line (and purpose), at ``query.at``: how many addresses are opted in,
    opted out, pending, or have no state there (``not_defined``: addresses the
    tenant knows with nothing covering the line). For sends naming no topic; the
    state is the fold, TTLs aside (those are :mod:`services.hygiene`'s)."""
    owner, _, _, lines = _scope_filter(directory, query)
    assert query.at is not None
    # As at the end of the 15-minute slot holding ``at`` (the rollups' resolution).
    at = slot_of(to_us(query.at)) + QUARTER_US
    sums = uow.rollups.state_sums(owner.tenant_id, day_of(at - 1), at, sorted(lines))
    by_key = {(line_id, purpose): values for line_id, purpose, *values in sums}
    addresses = by_key.get((0, ""), [0, 0, 0, 0])[3]
    purposes: list[str] = [""]
    if "purpose" in query.by:
        named = {p for (_, p) in by_key if p}
        purposes += sorted(named | set(uow.store.load_policies()[owner.tenant_id].purposes))
    rows: list[Row] = []
    for line_id, number in sorted(lines.items(), key=lambda item: item[1]):
        base = by_key.get((line_id, ""), [0, 0, 0, 0])
        for purpose in purposes:
            fix = by_key.get((line_id, purpose), [0, 0, 0, 0]) if purpose else [0, 0, 0, 0]
            opted_in, opted_out, pending = (base[i] + fix[i] for i in range(3))
            row: Row = {"line": number}
            if "purpose" in query.by:
                row["purpose"] = purpose or None
            row.update(
                at=from_us(at).isoformat(),  # the end of the slot
                opted_in=opted_in,
                opted_out=opted_out,
                pending=pending,
                not_defined=max(0, addresses - opted_in - opted_out - pending),
            )
            rows.append(row)
    return rows


def review_queue(uow: UnitOfWork, directory: Directory, account: str, now_us: int) -> Row:
    """The open review queue of ``account``'s subtree: its size and oldest age (s)."""
    owner = directory.account(account)
    ids = [
        a.id
        for a in directory.accounts()
        if a.tenant_id == owner.tenant_id and directory.is_within(a.id, owner.id)
    ]
    size, oldest = uow.rollups.review_stats(owner.tenant_id, ids)
    return {
        "review_open": size,
        "review_oldest_age_s": None if oldest is None else max(0, (now_us - oldest) // 1_000_000),
    }


def _column(key: str) -> str:
    return {"line": "line_id", "account": "account_id"}.get(key, key)


def _labeller(slugs: Mapping[int, str], lines: Mapping[int, str]) -> Callable[[str, Any], Any]:
    def label(key: str, value: Any) -> Any:
        if key == "account":
            return slugs.get(int(value))
        if key == "line":
            return lines.get(int(value)) if value else None
        return value or None

    return label


KINDS: dict[str, Kind] = {
    "opt_outs": opt_outs,
    "snapshot": snapshot,
    "inbound": inbound,
    "campaigns": campaigns_report,  # services/report_campaigns.py (the sends' own rows)
    "gateway": gateway_report,
}
