"""The send gate: ``check`` and ``check_many``, designed for throughput.

A check resolves the line from the cached directory, reads ONE projection row
by primary key, folds it (memoised by the row's shape: addresses with the same
kind of history share the work) and applies the purpose's model and time rules.
``check_many`` does the same in batches: chunked ``IN`` lookups for lists of
ordinary size, and a single scan of the tenant's projection when the campaign
is about as large as the ledger itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Final

from consentline.domain.addresses import (
    check_channel,
    is_e164_shaped,
    normalise_address,
    normalise_line_id,
    time_zones,
)
from consentline.domain.errors import InvalidAddress, UnknownPurpose
from consentline.domain.ledger import NONE, fold, parse_shape, to_us
from consentline.domain.policy import (
    Decision,
    PurposeRule,
    Reason,
    TenantPolicy,
    decide_state,
    quiet_now,
)
from consentline.domain.scopes import Account, Directory, Line
from consentline.storage.fastpath import Row, StateReader

CHUNK: Final = 5000
SCAN_MIN: Final = 100_000  # below this many recipients, point lookups win
_MEMO_LIMIT: Final = 200_000

HistoryFold = Callable[[int, str, str, frozenset[str], str, str, int], tuple[str, int, Row | None]]


class Gate:
    """Answers "may I send this?"; shares the directory and policies of its client."""

    def __init__(
        self,
        reader: StateReader,
        directory: Callable[[], Directory],
        refresh: Callable[[], Directory],
        policies: Callable[[], dict[int, TenantPolicy]],
        history_fold: HistoryFold,
    ) -> None:
        self._reader = reader
        self._directory = directory
        self._refresh = refresh
        self._policies = policies
        self._history_fold = history_fold
        self._memo: dict[tuple[str, int, str, str], tuple[str, int]] = {}

    # -- set-up shared by both paths ---------------------------------------------------
    def _line(self, from_: str) -> tuple[Directory, Line]:
        directory = self._directory()
        line = directory.find_line(from_)
        if line is None:
            normalised = normalise_line_id(from_)
            line = directory.find_line(normalised)
            if line is None:  # maybe added by another process: reload once
                directory = self._refresh()
                line = directory.line(normalised)
        return directory, line

    def _rule(self, tenant_id: int, purpose: str) -> tuple[TenantPolicy, PurposeRule]:
        policy = self._policies()[tenant_id]
        rule = policy.purposes.get(purpose)
        if rule is None:
            raise UnknownPurpose(f"no purpose {purpose!r} in this tenant", purpose=purpose)
        return policy, rule

    def _fold(
        self, shape: str, line_id: int, scopes: frozenset[str], purpose: str, topic: str
    ) -> tuple[str, int]:
        key = (shape, line_id, purpose, topic)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            found = fold(parse_shape(shape), scopes, purpose, topic)
            self._memo[key] = found
        return found

    # -- single check ------------------------------------------------------------------
    def check(
        self,
        to: str,
        *,
        from_: str,
        purpose: str,
        topic: str | None,
        channel: str,
        at: datetime | None,
        now: datetime,
    ) -> Decision:
        directory, line = self._line(from_)
        policy, rule = self._rule(line.tenant_id, purpose)
        checked = check_channel(channel)
        account = directory.account_by_id(line.account_id)
        fast = checked != "email" and is_e164_shaped(to)
        address = to if fast else normalise_address(to, checked, account.default_region)
        if rule.model == "disabled":
            return Decision(address, True, "enforcement_disabled")
        moment = at or now
        at_us = to_us(moment)
        row = self._reader.get(line.tenant_id, checked, address)
        scopes = directory.covering_scopes(line)
        wanted_topic = topic or ""
        source: tuple[str, str, str, int] | None = None
        if row is None:
            if fast:
                normalise_address(to, checked, account.default_region)  # validates
            state, index = NONE, -1
        elif at is not None and at_us < row[3]:
            # Point-in-time question about a moment before the newest event: fold
            # the ledger itself (the projection may have compacted older events).
            state, index, older = self._history_fold(
                line.tenant_id, checked, address, scopes, purpose, wanted_topic, at_us
            )
            if older is not None and index >= 0:
                source = (older[0], older[1], older[2], index)
        else:
            state, index = self._fold(row[0], line.id, scopes, purpose, wanted_topic)
            if index >= 0:
                source = (row[0], row[1], row[2], index)
        decided_us = int(source[2].split(";")[index]) if source is not None else None
        allowed, reason = decide_state(state, decided_us, rule, policy, at_us)
        quiet = rule.quiet_hours
        if (
            allowed
            and quiet
            and checked != "email"
            and quiet_now(quiet, time_zones(address), moment)
        ):
            allowed, reason = False, "quiet_hours"
        return Decision(address, allowed, reason, None, source)

    # -- bulk --------------------------------------------------------------------------
    def check_many(
        self,
        recipients: Iterable[str],
        *,
        from_: str,
        purpose: str,
        topic: str | None,
        channel: str,
        at: datetime | None,
        now: datetime,
    ) -> Iterator[Decision]:
        """Decisions in the order of ``recipients``, produced lazily, chunk by chunk.

        An invalid recipient yields ``allowed=False, reason="invalid_address"``
        rather than aborting a campaign half-way.
        """
        directory, line = self._line(from_)
        policy, rule = self._rule(line.tenant_id, purpose)
        checked = check_channel(channel)
        account = directory.account_by_id(line.account_id)
        moment = at or now
        at_us = to_us(moment)
        scopes = directory.covering_scopes(line)
        wanted_topic = topic or ""
        tenant_id = line.tenant_id

        def run(chunk: Sequence[str], rows: dict[str, Row] | None) -> Iterator[Decision]:
            return self._decide_chunk(
                chunk,
                rows,
                tenant_id,
                checked,
                account,
                line,
                scopes,
                purpose,
                wanted_topic,
                rule,
                policy,
                at,
                at_us,
                moment,
            )

        if rule.model == "disabled":
            for raw in recipients:
                yield Decision(raw, True, "enforcement_disabled")
            return
        size = len(recipients) if isinstance(recipients, Sequence) else 0
        if size >= SCAN_MIN and size * 4 >= self._reader.count(tenant_id, checked):
            table = {r[0]: (r[1], r[2], r[3], r[4]) for r in self._reader.scan(tenant_id, checked)}
            for start in range(0, size, CHUNK):
                yield from run(recipients[start : start + CHUNK], table)  # type: ignore[index]
            return
        iterator = iter(recipients)
        while chunk := list(islice(iterator, CHUNK)):
            yield from run(chunk, None)

    def _decide_chunk(
        self,
        chunk: Sequence[str],
        rows: dict[str, Row] | None,
        tenant_id: int,
        channel: str,
        account: Account,
        line: Line,
        scopes: frozenset[str],
        purpose: str,
        topic: str,
        rule: PurposeRule,
        policy: TenantPolicy,
        at: datetime | None,
        at_us: int,
        moment: datetime,
    ) -> Iterator[Decision]:
        email = channel == "email"
        addresses: list[str | None] = []
        for raw in chunk:
            if not email and isinstance(raw, str) and is_e164_shaped(raw):
                addresses.append(raw)
                continue
            try:
                addresses.append(normalise_address(raw, channel, account.default_region))
            except InvalidAddress:
                addresses.append(None)
        if rows is None:
            rows = self._reader.get_many(
                tenant_id, channel, [a for a in addresses if a is not None]
            )
        # Decisions that depend only on the row's shape are computed once per shape.
        by_shape: dict[str, tuple[str, int, bool, Reason]] = {}
        none_allowed, none_reason = decide_state(NONE, None, rule, policy, at_us)
        quiet = rule.quiet_hours if not email else None
        needs_time = policy.consent_ttl is not None or rule.consent_ttl is not None
        memo_fold = self._fold
        for raw, address in zip(chunk, addresses, strict=True):
            if address is None:
                yield Decision(str(raw), False, "invalid_address")
                continue
            row = rows.get(address)
            if row is None:
                if not email and address is raw:
                    try:
                        normalise_address(address, channel, account.default_region)
                    except InvalidAddress:
                        yield Decision(address, False, "invalid_address")
                        continue
                allowed, reason, source = none_allowed, none_reason, None
            elif at is not None and at_us < row[3]:
                state, index, older = self._history_fold(
                    tenant_id, channel, address, scopes, purpose, topic, at_us
                )
                source = (older[0], older[1], older[2], index) if older and index >= 0 else None
                decided = int(source[2].split(";")[index]) if source else None
                allowed, reason = decide_state(state, decided, rule, policy, at_us)
            else:
                shape = row[0]
                found = by_shape.get(shape)
                if found is None:
                    state, index = memo_fold(shape, line.id, scopes, purpose, topic)
                    fresh: tuple[str, int, bool, Reason] = (state, index, False, "no_consent")
                    if not (needs_time or state == "pending"):  # else decided per row below
                        allowed, reason = decide_state(state, None, rule, policy, at_us)
                        fresh = (state, index, allowed, reason)
                    by_shape[shape] = found = fresh
                state, index, allowed, reason = found
                if needs_time or state == "pending":
                    decided = int(row[2].split(";")[index]) if index >= 0 else None
                    allowed, reason = decide_state(state, decided, rule, policy, at_us)
                source = (shape, row[1], row[2], index) if index >= 0 else None
            if allowed and quiet is not None and quiet_now(quiet, time_zones(address), moment):
                allowed, reason = False, "quiet_hours"
            yield Decision(address, allowed, reason, None, source)
