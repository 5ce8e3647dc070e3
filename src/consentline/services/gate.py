"""The send gate: ``check`` and ``check_many``, designed for throughput.

A check resolves the line from the cached directory, reads ONE projection row
by primary key, folds it (memoised by the row's shape: addresses with the same
kind of history share the work) and applies the purpose's model and time rules.
``check_many`` does the same in batches: chunked ``IN`` lookups for lists of
ordinary size, and a single scan of the tenant's projection when the campaign
is about as large as the ledger itself.

Everything that depends only on the question (line, purpose, topic, channel) and
not on the recipient is resolved once into a :class:`_Context` and cached for as
long as the client's directory and policies snapshots are the same objects; a
reload of either builds a fresh context, so changes to the tree, lines or rules
are seen exactly as without the cache. The context also memoises, per row shape,
the fold and (when no time rule applies) the decision itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from operator import attrgetter, itemgetter
from typing import Final

from consentline.domain.addresses import (
    address_or_none,
    check_channel,
    is_e164_shaped,
    normalise_address,
    normalise_line_id,
    time_zones,
)
from consentline.domain.errors import UnknownPurpose
from consentline.domain.ledger import (
    IN,
    NONE,
    PENDING,
    fold,
    parse_shape,
    scoped_opt_outs,
    to_us,
)
from consentline.domain.policy import (
    Decision,
    PurposeRule,
    QuietHours,
    Reason,
    TenantPolicy,
    decide_state,
    quiet_now,
)
from consentline.domain.scopes import Directory, Line
from consentline.services.ports import Row, StateReader, StateRow

CHUNK: Final = 5000
SCAN_MIN: Final = 100_000  # below this many recipients, point lookups win
_MEMO_LIMIT: Final = 200_000  # shapes memoised per context
_CONTEXT_LIMIT: Final = 4096  # (line, purpose, topic, channel) questions cached

HistoryFold = Callable[
    [int, str, str, frozenset[str], str, str, int, int | None], tuple[str, int, Row | None]
]
# Per shape: state, index of the deciding entry (or -1), allowed, reason, whether
# the decision depends on the time (TTL or pending window): then allowed/reason are
# placeholders and the decision is made per row; and the indexes of the scoped
# opt-outs when the revoke-all rule is on (C16): a row with one dated on or after
# the tenant's date is folded again with its times (see _Context.dated).
ShapeDecision = tuple[str, int, bool, Reason, bool, tuple[int, ...]]
Folded = tuple[str, int, bool, Reason, bool]


_reason = attrgetter("reason")
_shape = itemgetter(1)


class _Context:
    """What a check needs that does not depend on the recipient (one snapshot)."""

    __slots__ = (
        "channel",
        "directory",
        "disabled",
        "line",
        "none_allowed",
        "none_reason",
        "phone",
        "policies",
        "policy",
        "purpose",
        "quiet",
        "region",
        "revoke_all",
        "rule",
        "scopes",
        "shapes",
        "shapes_dated",
        "tenant_id",
        "topic",
        "ttl_in",
    )

    def __init__(
        self,
        directory: Directory,
        policies: dict[int, TenantPolicy],
        line: Line,
        policy: TenantPolicy,
        rule: PurposeRule,
        channel: str,
        topic: str,
    ) -> None:
        self.directory = directory
        self.policies = policies
        self.line = line
        self.tenant_id = line.tenant_id
        self.policy = policy
        self.rule = rule
        self.purpose = rule.name
        self.channel = channel
        self.phone = channel != "email"
        self.region = directory.account_by_id(line.account_id).default_region
        self.disabled = rule.model == "disabled"
        self.scopes = directory.covering_scopes(line)
        self.topic = topic
        self.quiet: QuietHours | None = rule.quiet_hours if self.phone else None
        self.ttl_in = (rule.consent_ttl or policy.consent_ttl) is not None
        # "none" never depends on the time (see decide_state).
        self.none_allowed, self.none_reason = decide_state(NONE, None, rule, policy, 0)
        self.revoke_all = policy.revoke_all_for(rule)  # C16: None = off (or disabled)
        self.shapes: dict[str, ShapeDecision] = {}
        self.shapes_dated: dict[tuple[str, frozenset[int]], Folded] = {}

    def _decide(self, state: str, index: int) -> Folded:
        timed = state == PENDING or (state == IN and self.ttl_in)
        allowed: bool = False
        reason: Reason = "no_consent"
        if not timed:  # decided_us and at_us are not read for these states
            allowed, reason = decide_state(state, None, self.rule, self.policy, 0)
        return state, index, allowed, reason, timed

    def shape(self, shape: str) -> ShapeDecision:
        """Fold and (when it cannot depend on the time) decide a row shape, memoised."""
        found = self.shapes.get(shape)
        if found is None:
            items = parse_shape(shape)
            state, index = fold(items, self.scopes, self.purpose, self.topic)
            scoped = scoped_opt_outs(items) if self.revoke_all is not None else ()
            if len(self.shapes) >= _MEMO_LIMIT:
                self.shapes.clear()
            found = (*self._decide(state, index), scoped)
            self.shapes[shape] = found
        return found

    def dated(self, found: ShapeDecision, shape: str, times: str) -> Folded:
        """The decision of a row whose shape has scoped opt-outs (C16): those dated on
        or after the revoke-all instant cover every purpose and topic at their scope."""
        split = times.split(";")
        start = self.revoke_all
        assert start is not None  # scoped is only filled when the rule is on
        widened = frozenset(i for i in found[5] if int(split[i]) >= start)
        if not widened:
            return found[0], found[1], found[2], found[3], found[4]
        key = (shape, widened)
        decided = self.shapes_dated.get(key)
        if decided is None:
            state, index = fold(parse_shape(shape), self.scopes, self.purpose, self.topic, widened)
            if len(self.shapes_dated) >= _MEMO_LIMIT:
                self.shapes_dated.clear()
            decided = self.shapes_dated[key] = self._decide(state, index)
        return decided


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
        self._contexts: dict[tuple[str, str, str | None, str], _Context] = {}

    # -- set-up shared by both paths ---------------------------------------------------
    def prepare(self, from_: str, purpose: str, topic: str | None, channel: str) -> Line:
        """Resolve a question now (raises as a check would: unknown line or purpose)."""
        return self._context(from_, purpose, topic, channel).line

    def line(self, from_: str) -> tuple[Directory, Line]:
        """The directory snapshot and the line ``from_`` names (reloaded once if new)."""
        return self._line(from_)

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

    def _context(self, from_: str, purpose: str, topic: str | None, channel: str) -> _Context:
        """The cached context of a question, rebuilt when a snapshot was reloaded."""
        directory = self._directory()
        policies = self._policies()
        key = (from_, purpose, topic, channel)
        context = self._contexts.get(key)
        if context is not None and context.directory is directory and context.policies is policies:
            return context
        directory, line = self._line(from_)
        policies = self._policies()
        policy = policies[line.tenant_id]
        rule = policy.purposes.get(purpose)
        if rule is None:
            raise UnknownPurpose(f"no purpose {purpose!r} in this tenant", purpose=purpose)
        checked = check_channel(channel)
        context = _Context(directory, policies, line, policy, rule, checked, topic or "")
        if len(self._contexts) >= _CONTEXT_LIMIT:
            self._contexts.clear()
        self._contexts[key] = context
        return context

    def _older(
        self, context: _Context, address: str, at_us: int
    ) -> tuple[bool, Reason, tuple[str, str, str, int] | None]:
        """Point-in-time question about a moment before the newest event: fold the
        ledger itself (the projection may have compacted older events)."""
        state, index, older = self._history_fold(
            context.tenant_id,
            context.channel,
            address,
            context.scopes,
            context.purpose,
            context.topic,
            at_us,
            context.revoke_all,
        )
        source = (older[0], older[1], older[2], index) if older is not None and index >= 0 else None
        decided_us = int(source[2].split(";")[index]) if source is not None else None
        allowed, reason = decide_state(state, decided_us, context.rule, context.policy, at_us)
        return allowed, reason, source

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
        context = self._context(from_, purpose, topic, channel)
        fast = context.phone and is_e164_shaped(to)
        address = to if fast else normalise_address(to, context.channel, context.region)
        if context.disabled:
            return Decision(address, True, "enforcement_disabled")
        moment = at or now
        if at is not None:
            at_us = to_us(at)
        elif now.utcoffset() is None:
            at_us = to_us(now)  # raises InvalidTime, as for any naive time
        else:
            at_us = -1  # computed below only if a time rule needs it
        row = self._reader.get(context.tenant_id, context.channel, address)
        if row is None and fast:
            normalised = normalise_address(to, context.channel, context.region)  # validates
            if normalised != address:
                # E.164-shaped but not canonical ("+44 07911...", a national prefix
                # after the country code): the ledger knows it by its canonical form.
                address = normalised
                row = self._reader.get(context.tenant_id, context.channel, address)
        source: tuple[str, str, str, int] | None = None
        if row is None:
            allowed, reason = context.none_allowed, context.none_reason
        elif at is not None and at_us < row[3]:
            allowed, reason, source = self._older(context, address, at_us)
        else:
            shape = row[0]
            found = context.shape(shape)
            state, index, allowed, reason, timed, scoped = found
            if scoped:  # C16: a scoped opt-out may revoke everything (by its date)
                state, index, allowed, reason, timed = context.dated(found, shape, row[2])
            if index >= 0:
                source = (shape, row[1], row[2], index)
            if timed:
                decided_us = int(row[2].split(";")[index]) if index >= 0 else None
                if at_us < 0:
                    at_us = to_us(now)
                allowed, reason = decide_state(
                    state, decided_us, context.rule, context.policy, at_us
                )
        quiet = context.quiet
        if allowed and quiet is not None and quiet_now(quiet, time_zones(address), moment):
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
        rather than aborting a campaign half-way; it costs about as little as a
        valid one (no exception is built, see ``address_or_none``), and each
        recipient is normalised at most once.
        """
        context = self._context(from_, purpose, topic, channel)
        moment = at or now
        at_us = to_us(moment)
        if context.disabled:  # never checked, but addresses are normalised as check() does
            for raw in recipients:
                if context.phone and isinstance(raw, str) and is_e164_shaped(raw):
                    yield Decision(raw, True, "enforcement_disabled")
                    continue
                address = address_or_none(raw, context.channel, context.region)
                if address is None:
                    yield Decision(str(raw), False, "invalid_address")
                    continue
                yield Decision(address, True, "enforcement_disabled")
            return
        reader = self._reader
        tenant_id, checked = context.tenant_id, context.channel
        size = len(recipients) if isinstance(recipients, Sequence) else 0
        batches: Iterable[tuple[Iterable[str], dict[str, str | None], dict[str, StateRow]]]
        stored = reader.count(tenant_id, checked) if size >= SCAN_MIN else 0
        if size >= SCAN_MIN and size * 4 >= stored:
            batches = [(recipients, {}, reader.scan_table(tenant_id, checked, stored))]
        else:
            batches = self._batches(context, recipients)
        phone, region = context.phone, context.region
        none_allowed, none_reason = context.none_allowed, context.none_reason
        shapes, decide_shape = context.shapes, context.shape
        rule, policy, quiet = context.rule, context.policy, context.quiet
        e164 = is_e164_shaped
        for chunk, known, rows in batches:
            get = rows.get
            for raw in chunk:
                # Every stored phone address is E.164 (normalised when recorded), so a
                # recipient found as it is needs no parsing; others are normalised, and
                # E.164-shaped ones that are unknown are validated below.
                row = get(raw) if phone and raw.__class__ is str else None
                if row is not None:
                    address = raw
                    fast = True
                else:
                    fast = phone and isinstance(raw, str) and e164(raw)
                    if fast:
                        address = raw
                    else:
                        # Normalised already when the chunk's rows were looked up.
                        normalised = (
                            known[raw]
                            if isinstance(raw, str) and raw in known
                            else address_or_none(raw, checked, region)
                        )
                        if normalised is None:
                            yield Decision(str(raw), False, "invalid_address")
                            continue
                        address = normalised
                        row = get(address)
                if row is None and fast:
                    normalised = address_or_none(address, checked, region)  # validates
                    if normalised is None:
                        yield Decision(address, False, "invalid_address")
                        continue
                    if normalised != address:  # not canonical: look up the canonical form
                        address = normalised
                        row = self._reader.get_many(context.tenant_id, checked, [address]).get(
                            address
                        )
                source: tuple[str, str, str, int] | None = None
                if row is None:
                    allowed, reason = none_allowed, none_reason
                elif at is not None and at_us < row[4]:
                    allowed, reason, source = self._older(context, address, at_us)
                else:
                    shape = row[1]
                    found = shapes.get(shape)
                    if found is None:
                        found = decide_shape(shape)
                    state, index, allowed, reason, timed, scoped = found
                    if scoped:  # C16: a scoped opt-out may revoke everything (by its date)
                        state, index, allowed, reason, timed = context.dated(found, shape, row[3])
                    if index >= 0:
                        source = (shape, row[2], row[3], index)
                    if timed:
                        decided = int(row[3].split(";")[index]) if index >= 0 else None
                        allowed, reason = decide_state(state, decided, rule, policy, at_us)
                if allowed and quiet is not None and quiet_now(quiet, time_zones(address), moment):
                    allowed, reason = False, "quiet_hours"
                yield Decision(address, allowed, reason, None, source)

    def summarise(
        self,
        recipients: Iterable[str],
        *,
        from_: str,
        purpose: str,
        topic: str | None,
        channel: str,
        at: datetime | None,
        now: datetime,
    ) -> Counter[str]:
        """How many recipients each reason would decide (the deliverability preview).

        The same decisions as :meth:`check_many`, counted instead of produced: the
        recipients found in the projection as they are are grouped by row *shape* and
        each shape decided once, by the same fold and decision function as a check
        (no per-recipient object: a campaign-sized list is counted against the
        projection's shape groups by set membership, ``_count_groups``; a smaller one
        chunk by chunk with ``Counter``). Recipients that need more (not found as
        given, so normalised and validated; a shape whose decision depends on the time,
        on a revoke-all date or on quiet hours; a question ``at`` another moment) go
        through ``check_many``.
        """
        context = self._context(from_, purpose, topic, channel)
        counts: Counter[str] = Counter()

        def many(items: Iterable[str], moment: datetime | None) -> Iterator[Decision]:
            return self.check_many(
                items,
                from_=from_,
                purpose=purpose,
                topic=topic,
                channel=channel,
                at=moment,
                now=now,
            )

        if context.disabled or not context.phone or at is not None:
            counts.update(map(_reason, many(recipients, at)))
            return counts
        reader = self._reader
        size = len(recipients) if isinstance(recipients, Sequence) else 0
        slow: list[str] = []
        stored = reader.count(context.tenant_id, context.channel) if size >= SCAN_MIN else 0
        if size >= SCAN_MIN and size * 4 >= stored:
            listed = list(recipients)
            if all(map(str.__instancecheck__, listed)):
                groups = reader.shape_groups(context.tenant_id, context.channel, stored)
                if groups is not None:
                    self._count_groups(context, listed, groups, counts, slow)
                    if slow:
                        counts.update(map(_reason, many(slow, None)))
                    return counts
            recipients = listed
        batches: Iterable[tuple[Iterable[str], dict[str, str | None], dict[str, StateRow]]]
        batches = self._batches(context, recipients)
        for chunk, _known, rows in batches:
            listed = chunk if isinstance(chunk, list) else list(chunk)
            if not all(map(str.__instancecheck__, listed)):
                slow += listed  # not all text: check_many says invalid_address for them
                continue
            found = list(map(rows.get, listed))
            present = [row for row in found if row is not None]
            if len(present) < len(listed):
                slow += [raw for raw, row in zip(listed, found, strict=True) if row is None]
            for shape, n in Counter(map(_shape, present)).items():
                _, _, _, reason, timed, scoped = context.shape(shape)
                if timed or scoped or context.quiet is not None:
                    slow += [row[0] for row in present if row[1] == shape]
                else:
                    counts[reason] += n
        if slow:
            counts.update(map(_reason, many(slow, None)))
        return counts

    @staticmethod
    def _count_groups(
        context: _Context,
        listed: list[str],
        groups: list[tuple[str, list[str]]],
        counts: Counter[str],
        slow: list[str],
    ) -> None:
        """Count ``listed`` by the shape groups of the projection (``shape_groups``):
        each shape is decided once, by the same memoised fold and decision as a check
        (``_Context.shape``), and its recipients are counted by set membership in C.
        Recipients whose shape needs more (a time rule, a revoke-all date, quiet hours)
        or that are not in the projection as given are appended to ``slow``."""
        wanted = set(listed)
        # How many times each recipient is listed, when some are listed more than once.
        repeated = Counter(listed) if len(wanted) < len(listed) else None
        found = 0  # distinct recipients found
        for shape, addresses in groups:
            _, _, _, reason, timed, scoped = context.shape(shape)
            if timed or scoped or context.quiet is not None:
                here = list(filter(wanted.__contains__, addresses))
                found += len(here)
                if repeated is not None:
                    here = [a for a in here for _ in range(repeated[a])]
                slow += here
                continue
            distinct = sum(map(wanted.__contains__, addresses))
            found += distinct
            if repeated is not None:
                distinct = sum(map(repeated.__getitem__, filter(wanted.__contains__, addresses)))
            if distinct:
                counts[reason] += distinct
        if found < len(wanted):  # some are not in the projection as given
            held: set[str] = set()
            for _shape, addresses in groups:
                held.update(addresses)
            slow += [r for r in listed if r not in held]

    def _batches(
        self, context: _Context, recipients: Iterable[str]
    ) -> Iterator[tuple[list[str], dict[str, str | None], dict[str, StateRow]]]:
        """Chunks of recipients, the normalised form (None: invalid) of those that are
        not E.164-shaped, and their rows (one batched lookup per chunk)."""
        phone, checked, region = context.phone, context.channel, context.region
        iterator = iter(recipients)
        while chunk := list(islice(iterator, CHUNK)):
            wanted: list[str] = []
            known: dict[str, str | None] = {}
            for raw in chunk:
                if phone and isinstance(raw, str) and is_e164_shaped(raw):
                    wanted.append(raw)
                    continue
                address = address_or_none(raw, checked, region)
                if isinstance(raw, str):
                    known[raw] = address
                if address is not None:
                    wanted.append(address)
            yield chunk, known, self._reader.get_many(context.tenant_id, checked, wanted)
