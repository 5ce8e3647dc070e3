"""Report rollups: the counts a report sums, kept as the ledger is written (C23).

Pure: the writer (``services.rollups``) hands in the events it sealed and the
projection entries their addresses had before; this module says which counters
move. Nothing here holds an address: a counter is keyed by tenant, time slot,
account, line, purpose, topic, source, classifier rule and language only.

Two grains of time: a 15-minute UTC *slot* (fine enough for any time zone's
midnight, offsets of 30 and 45 minutes included) and a UTC *day*. A report over
local days reads whole UTC days and only the 15-minute slots near local
midnights (docs/reports.md, "How a report is computed").

Two kinds of counter:

* **event counts** — per key, how many opt-ins, opt-outs, resumes, lapses and
  pendings occurred, and of the opt-outs the classifier decided how many an exact
  single-word matcher would also have caught (``exact_hit``) or missed
  (``exact_miss``): what ``Classification.provider_exact`` stores in the proof.
* **state deltas** — per line and purpose, how the number of addresses opted in,
  opted out and pending changed in that slot, so that the state at a moment is the
  sum of the deltas before it. An address's change is dated at the later of its
  event's time and its latest earlier event (a backdated event moves the state from
  the address's latest known moment on, see docs/reports.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from typing import Any, Final

from consentline.domain.ledger import (
    ACTION_CODES,
    IN,
    OUT,
    PENDING,
    Entry,
    StoredEvent,
    fold,
    insert_entry,
    widened_entries,
)
from consentline.domain.scopes import Directory, parse_scope

QUARTER_US: Final = 15 * 60 * 1_000_000
DAY_US: Final = 24 * 3600 * 1_000_000
FINE: Final = 0  # grain of a 15-minute slot
COARSE: Final = 1  # grain of a UTC day

# The measures of an event counter, in column order.
COUNT_COLUMNS: Final = (
    "opt_in",
    "opt_out",
    "resume",
    "lapse",
    "pending",
    "exact_hit",
    "exact_miss",
)
_ACTION_INDEX: Final = {"opt_in": 0, "opt_out": 1, "resume": 2, "lapse": 3, "pending": 4}
# The measures of a state delta: opted in, opted out, pending, addresses (the last
# only on the tenant row, line 0 and purpose "").
STATE_COLUMNS: Final = ("opted_in", "opted_out", "pending", "addresses")
_STATE_INDEX: Final = {IN: 0, OUT: 1, PENDING: 2}
NAME_MAX: Final = 63

# tenant, grain, slot, account, line, source, purpose, topic, rule, language
CountKey = tuple[int, int, int, int, int, str, str, str, str, str]
# tenant, grain, slot, line, purpose
StateKey = tuple[int, int, int, int, str]
AddressKey = tuple[int, str, str]  # tenant, channel, address (never stored in a rollup)


def slot_of(us: int) -> int:
    """The start of the 15-minute slot holding ``us``."""
    return us - us % QUARTER_US


def day_of(us: int) -> int:
    """The start of the UTC day holding ``us``."""
    return us - us % DAY_US


class LineMap:
    """Which lines each scope key covers, per tenant (from a :class:`Directory`)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._by_scope: dict[str, list[int]] = {}
        self._covering: dict[int, frozenset[str]] = {}
        for line in directory.lines():
            covering = directory.covering_scopes(line)
            self._covering[line.id] = covering
            for scope in covering:
                self._by_scope.setdefault(scope, []).append(line.id)
        self._groups: dict[frozenset[str], list[tuple[frozenset[str], tuple[int, ...]]]] = {}

    def groups(self, present: frozenset[str]) -> list[tuple[frozenset[str], tuple[int, ...]]]:
        """The lines an address with entries at ``present`` has a state on, grouped
        by the scopes that decide it there (one fold per group, not per line)."""
        cached = self._groups.get(present)
        if cached is None:
            grouped: dict[frozenset[str], list[int]] = {}
            for scope in present:
                for line_id in self._by_scope.get(scope, ()):
                    grouped.setdefault(self._covering[line_id] & present, []).append(line_id)
            cached = [(scopes, tuple(sorted(set(ids)))) for scopes, ids in grouped.items()]
            self._groups[present] = cached
        return cached


Contribution = dict[tuple[tuple[int, ...], str, int], int]


def _contributions(
    entries: Sequence[Entry],
    lines: LineMap,
    revoke_all_us: int | None,
    memo: dict[object, Contribution] | None = None,
) -> Contribution:
    """What one address adds to the state counters: ``(lines, purpose, column) -> n``.

    Purpose ``""`` is the state for a send naming no purpose; a purpose the address's
    entries name gets a correction (+1 at its own state, -1 at the purpose-less one),
    so every other purpose reads the purpose-less row (their folds are equal).
    Snapshot states are for sends without a topic. ``memo`` keeps results by what
    they depend on (the entries' codes, scopes, purposes and topics, and which
    opt-outs are widened): the addresses of a bulk write mostly share a few. The
    result is shared: callers do not change it.
    """
    out: Contribution = {}
    if not entries:
        return out
    items = [(e.code, e.scope, e.purpose, e.topic) for e in entries]
    widened = widened_entries(entries, revoke_all_us)
    if memo is not None:
        pattern = (tuple(items), widened)
        found = memo.get(pattern)
        if found is None:
            found = memo[pattern] = _contributions(entries, lines, revoke_all_us)
        return found
    named = {e.purpose for e in entries if e.purpose}
    for scopes, ids in lines.groups(frozenset(e.scope for e in entries)):
        base, _ = fold(items, scopes, "", "", widened)
        base_col = _STATE_INDEX.get(base)
        if base_col is not None:
            key = (ids, "", base_col)
            out[key] = out.get(key, 0) + 1
        for purpose in named:
            state, _ = fold(items, scopes, purpose, "", widened)
            if state == base:
                continue
            col = _STATE_INDEX.get(state)
            if col is not None:
                key = (ids, purpose, col)
                out[key] = out.get(key, 0) + 1
            if base_col is not None:
                key = (ids, purpose, base_col)
                out[key] = out.get(key, 0) - 1
    return out


def _classified(proof: str) -> tuple[str, str, str, str]:
    """(rule, language, provider_exact, received_on) of a classified event's proof."""
    if '"rule"' not in proof:  # cheap: most events (imports, API) carry no classification
        return "", "", "", ""
    try:
        data = json.loads(proof)
    except ValueError:
        return "", "", "", ""
    if not isinstance(data, dict):
        return "", "", "", ""

    def text(name: str) -> str:
        value = data.get(name)
        return value[:NAME_MAX] if isinstance(value, str) else ""

    return text("rule"), text("language")[:8], text("provider_exact"), text("received_on")


class RollupBatch:
    """The counter changes of one write, aggregated (one upsert per table)."""

    def __init__(self, lines: LineMap) -> None:
        self.lines = lines
        self.counts: dict[CountKey, list[int]] = {}
        self.states: dict[tuple[int, int, int, tuple[int, ...], str], list[int]] = {}
        self._contrib: dict[AddressKey, Contribution] = {}
        self._memo: dict[object, Contribution] = {}

    def add(
        self,
        written: Iterable[tuple[StoredEvent, int]],
        entries: MutableMapping[AddressKey, list[Entry]],
        revoke_all_us: int | None,
        *,
        address_of: Mapping[tuple[int, str], str] | None = None,
    ) -> None:
        """Count ``written`` (in order) against ``entries``: each address's entries
        before the write, which this updates in place (the caller passes copies).

        ``address_of`` maps (tenant, address) to the projection key an event folds
        into (a rebuild after an erasure, C22); the key is never stored.
        """
        directory = self.lines.directory
        for row, event_id in written:
            address = row.address
            if address_of is not None:
                address = address_of.get((row.tenant_id, address), address)
            key = (row.tenant_id, row.channel, address)
            self._count(row, directory)
            current = entries.get(key)
            if current is None:
                current = entries[key] = []
            old = self._contrib.get(key)
            if old is None:
                old = _contributions(current, self.lines, revoke_all_us, self._memo)
            at = row.occurred_us
            if current:
                at = max(at, max(e.occurred_us for e in current))
            else:
                self._state((row.tenant_id, 0, ""), at, 3, 1)
            insert_entry(
                current,
                Entry(
                    event_id,
                    ACTION_CODES[row.action],
                    row.scope,
                    row.purpose or "",
                    row.topic or "",
                    row.occurred_us,
                    row.source,
                ),
            )
            new = _contributions(current, self.lines, revoke_all_us, self._memo)
            self._contrib[key] = new
            for name in old.keys() | new.keys():
                delta = new.get(name, 0) - old.get(name, 0)
                if delta:
                    ids, purpose, col = name
                    self._state((row.tenant_id, ids, purpose), at, col, delta)

    def _state(self, where: tuple[int, object, str], at: int, col: int, delta: int) -> None:
        tenant_id, ids, purpose = where
        lines = ids if isinstance(ids, tuple) else (0,)
        key = (tenant_id, FINE, slot_of(at), lines, purpose)  # days: _with_days
        counters = self.states.get(key)
        if counters is None:
            counters = self.states[key] = [0, 0, 0, 0]
        counters[col] += delta

    def _count(self, row: StoredEvent, directory: Directory) -> None:
        rule, language, exact, received_on = _classified(row.proof)
        scope = parse_scope(row.scope)
        if scope.is_line:
            line_id = scope.id
            account_id = (
                directory.line_by_id(line_id).account_id if directory.has_line_id(line_id) else 0
            )
        else:
            account_id = scope.id
            found = directory.find_line(received_on) if received_on else None
            line_id = found.id if found is not None else 0
        index = _ACTION_INDEX[row.action]
        key: CountKey = (  # the slot only: the days are summed from it (_with_days)
            row.tenant_id,
            FINE,
            slot_of(row.occurred_us),
            account_id,
            line_id,
            row.source[:NAME_MAX],
            row.purpose or "",
            row.topic or "",
            rule,
            language,
        )
        counters = self.counts.get(key)
        if counters is None:
            counters = self.counts[key] = [0] * len(COUNT_COLUMNS)
        counters[index] += 1
        if row.action == "opt_out" and exact:
            counters[5 if exact == "opt_out" else 6] += 1

    def count_rows(self) -> list[dict[str, object]]:
        """The event counters as rows of ``report_counts``."""
        names = (
            "tenant_id",
            "grain",
            "slot_us",
            "account_id",
            "line_id",
            "source",
            "purpose",
            "topic",
            "rule",
            "language",
        )
        return [
            {**dict(zip(names, key, strict=True)), **dict(zip(COUNT_COLUMNS, v, strict=True))}
            for key, v in _with_days(self.counts).items()
        ]

    def state_rows(self) -> list[dict[str, object]]:
        """The state deltas as rows of ``report_states``, one per line."""
        merged: dict[StateKey, list[int]] = {}
        for (tenant_id, grain, slot, lines, purpose), values in _with_days(self.states).items():
            if not any(values):
                continue
            for line_id in lines:
                _add_into(merged, (tenant_id, grain, slot, line_id, purpose), values)
        names = ("tenant_id", "grain", "slot_us", "line_id", "purpose")
        return [
            {**dict(zip(names, key, strict=True)), **dict(zip(STATE_COLUMNS, v, strict=True))}
            for key, v in merged.items()
            if any(v)
        ]


def _with_days(fine: Mapping[tuple[Any, ...], list[int]]) -> dict[tuple[Any, ...], list[int]]:
    """Counters kept per 15-minute slot (key: tenant, FINE, slot, ...), with the UTC
    days' counters (COARSE) summed from them: a day is a whole number of slots."""
    out: dict[tuple[Any, ...], list[int]] = dict(fine)
    for key, values in fine.items():
        _add_into(out, (key[0], COARSE, day_of(key[2]), *key[3:]), values)
    return out


def _add_into(out: dict[Any, list[int]], key: object, values: Sequence[int]) -> None:
    """Add ``values`` to the counters at ``key`` (a copy of them when it is new)."""
    counters = out.get(key)
    if counters is None:
        out[key] = list(values)
    else:
        for i, v in enumerate(values):
            counters[i] += v


# -- inbound messages --------------------------------------------------------------
INBOUND_COLUMNS: Final = ("messages", "exact_differs")
InboundKey = tuple[int, int, int, int, int, str, str, str]


def inbound_counts(
    rows: Iterable[tuple[int, int, int, int, str]],
) -> dict[InboundKey, list[int]]:
    """Inbound counters from (tenant, account, line, received µs, classification JSON).

    Keyed by intent, rule and language; ``exact_differs`` counts the messages an exact
    single-word matcher would have read differently.
    """
    out: dict[InboundKey, list[int]] = {}
    for tenant_id, account_id, line_id, received_us, classification in rows:
        try:
            data = json.loads(classification)
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}

        intent, rule = _text(data, "intent", 16), _text(data, "rule")
        language = _text(data, "language", 8)
        differs = int(_text(data, "provider_exact") != intent and bool(intent))
        for grain, slot in ((FINE, slot_of(received_us)), (COARSE, day_of(received_us))):
            key = (tenant_id, grain, slot, account_id, line_id, intent, rule, language)
            counters = out.get(key)
            if counters is None:
                counters = out[key] = [0, 0]
            counters[0] += 1
            counters[1] += differs
    return out


def _text(data: Mapping[str, object], name: str, limit: int = NAME_MAX) -> str:
    value = data.get(name)
    return value[:limit] if isinstance(value, str) else ""


def inbound_rows(counts: Mapping[InboundKey, list[int]]) -> list[dict[str, object]]:
    names = ("tenant_id", "grain", "slot_us", "account_id", "line_id", "intent", "rule", "language")
    return [
        {**dict(zip(names, key, strict=True)), **dict(zip(INBOUND_COLUMNS, v, strict=True))}
        for key, v in counts.items()
    ]


__all__ = [
    "COARSE",
    "COUNT_COLUMNS",
    "DAY_US",
    "FINE",
    "QUARTER_US",
    "STATE_COLUMNS",
    "LineMap",
    "RollupBatch",
    "day_of",
    "inbound_counts",
    "slot_of",
]
