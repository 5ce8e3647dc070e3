"""``verify``: walk every tenant's hash chain and the projection (C21).

Reports, per tenant, events whose content no longer matches their hash
(``modified``), missing sequence numbers or a missing chain tail (``deleted``),
events whose link points at another event of the chain (``reordered``), and
projection rows that differ from a fold of the ledger (``projection``).

Since migration 0010 it also checks (docs/privacy.md): the re-anchoring of chains
written before it (each un-erased legacy event's v1 hash, and the anchor row's v1
and v2 heads), the chain of erasure records (C22) and that each erased event
belongs to the erasure that says it erased it, under the keyed hash it recorded
(``erasure`` problems).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from consentline.domain.ledger import (
    GENESIS,
    Entry,
    StoredEvent,
    chain_hash,
    compact,
    encode,
    insert_entry,
    payload_v1,
)
from consentline.domain.privacy import erasure_payload, is_erased_address, parse_erased
from consentline.services.ports import AnchorRecord, ErasureRecord, UnitOfWork

ProblemKind = Literal["modified", "deleted", "reordered", "projection", "anchor", "erasure"]
KeyOf = Callable[[int, str], str]  # (tenant, address) -> the keyed hash of an erased one


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    tenant_id: int
    seq: int | None
    event_id: int | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "event_id": self.event_id,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    tenants: int
    events: int
    problems: tuple[Problem, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tenants": self.tenants,
            "events": self.events,
            "problems": [p.as_dict() for p in self.problems],
        }


def verify(uow: UnitOfWork, key_of: KeyOf | None = None) -> VerifyReport:
    """Verify every tenant. ``key_of`` (the installation's keyed hash) lets the
    projection check group an erased number's later events with its erased ones."""
    problems: list[Problem] = []
    heads = uow.store.tenant_heads()
    policies = uow.store.load_policies()
    total = 0
    for tenant_id, chain_seq, chain_head in heads:
        # Prefixes of every stored hash, to tell a reordered link from a forged one.
        known = {r.hash[:16]: r.seq for r in uow.store.chain_rows(tenant_id)}
        expected, previous = 1, GENESIS
        entries: dict[tuple[str, str], list[Entry]] = {}
        legacy = _Legacy(tenant_id, uow.privacy.anchors(tenant_id), problems)
        erasures = _check_erasures(uow, tenant_id, known, problems)
        erased_keys = {e.address_key for e in erasures.values()}
        for row in uow.store.chain_rows(tenant_id):
            total += 1
            seq = row.seq
            gap = seq != expected
            if gap:
                problems.append(
                    Problem(
                        "deleted",
                        tenant_id,
                        expected,
                        None,
                        f"events {expected}..{seq - 1} are missing before event #{row.id}",
                    )
                )
            if chain_hash(row.prev_hash, row.payload()) != row.hash:
                problems.append(
                    Problem("modified", tenant_id, seq, row.id, "content does not match hash")
                )
            elif row.prev_hash != previous and not gap:
                pointed = known.get(row.prev_hash[:16])
                if pointed is not None:
                    problems.append(
                        Problem(
                            "reordered",
                            tenant_id,
                            seq,
                            row.id,
                            f"links to event seq {pointed}, expected seq {seq - 1}",
                        )
                    )
                else:
                    problems.append(
                        Problem(
                            "modified",
                            tenant_id,
                            seq - 1,
                            None,
                            f"the event before seq {seq} was altered and re-hashed",
                        )
                    )
            previous, expected = row.hash, seq + 1
            legacy.check(row)
            if row.erased is not None:
                _check_erased(row, erasures, problems)
            address = row.address
            if erased_keys and key_of is not None and not is_erased_address(address):
                keyed = key_of(tenant_id, address)
                if keyed in erased_keys:
                    address = keyed  # an erased number's later events: its row is there
            insert_entry(entries.setdefault((row.channel, address), []), row.entry())
        legacy.finish()
        if expected - 1 != chain_seq or previous != chain_head:
            problems.append(
                Problem(
                    "deleted",
                    tenant_id,
                    expected,
                    None,
                    f"chain ends at seq {expected - 1}; the tenant's head says {chain_seq}",
                )
            )
        policy = policies.get(tenant_id)
        revoke_all_us = None if policy is None else policy.revoke_all_us
        problems.extend(_check_projection(uow, tenant_id, entries, revoke_all_us))
    return VerifyReport(not problems, len(heads), total, tuple(problems))


def _check_projection(
    uow: UnitOfWork,
    tenant_id: int,
    entries: dict[tuple[str, str], list[Entry]],
    revoke_all_us: int | None,
) -> Iterator[Problem]:
    # Compacted as the writes compact: by the tenant's revoke-all instant (C16).
    expected = {key: encode(compact(items, revoke_all_us)) for key, items in entries.items()}
    seen: set[tuple[str, str]] = set()
    for channel, address, stored in uow.store.state_rows(tenant_id):
        key = (channel, address)
        seen.add(key)
        if expected.get(key) != stored:
            yield Problem(
                "projection", tenant_id, None, None, f"state row of a {channel} address differs"
            )
    for key in expected.keys() - seen:
        yield Problem(
            "projection", tenant_id, None, None, f"state row of a {key[0]} address is missing"
        )


class _Legacy:
    """Checks the re-anchoring of events written under the v1 chain (migration 0010)."""

    def __init__(self, tenant_id: int, anchors: list[AnchorRecord], problems: list[Problem]):
        self.tenant_id = tenant_id
        self.anchors = {a.last_seq: a for a in anchors}
        self.last = max((a.last_seq for a in anchors), default=0)
        self.previous = GENESIS
        self.problems = problems
        self.seen: set[int] = set()

    def check(self, row: StoredEvent) -> None:
        if row.seq > self.last:
            if row.v1_hash is not None:
                self._problem(row, "an event after the re-anchoring carries a v1 hash")
            return
        if row.v1_hash is None:
            self._problem(row, "a re-anchored event lost its v1 hash")
            return
        # An erased legacy event cannot be re-hashed under v1 (its plain fields are
        # gone); its v1 hash is still bound by the next event's and by the v2 chain.
        if row.erased is None and chain_hash(self.previous, payload_v1(row)) != row.v1_hash:
            self._problem(row, "content does not match the event's v1 hash")
        self.previous = row.v1_hash
        anchor = self.anchors.get(row.seq)
        if anchor is not None:
            self.seen.add(anchor.id)
            if anchor.v1_head != row.v1_hash or anchor.v2_head != row.hash:
                self._problem(row, "the anchor's heads do not match the chain")

    def finish(self) -> None:
        for anchor in self.anchors.values():
            if anchor.id not in self.seen:
                self.problems.append(
                    Problem(
                        "anchor",
                        self.tenant_id,
                        anchor.last_seq,
                        None,
                        "the chain does not reach the anchor's last event",
                    )
                )

    def _problem(self, row: StoredEvent, detail: str) -> None:
        self.problems.append(Problem("anchor", self.tenant_id, row.seq, row.id, detail))


def _check_erasures(
    uow: UnitOfWork, tenant_id: int, known: dict[str, int], problems: list[Problem]
) -> dict[int, ErasureRecord]:
    """The tenant's chain of erasure records, each anchored to the ledger's head."""
    count, head = uow.privacy.erasure_state(tenant_id)
    records = uow.privacy.erasures(tenant_id)
    previous, expected = GENESIS, 1
    for record in records:
        payload = erasure_payload(
            tenant_id=record.tenant_id,
            n=record.n,
            address_key=record.address_key,
            reason=record.reason,
            erased_us=record.erased_us,
            event_seqs=record.event_seqs,
            counts=record.counts,
            chain_seq=record.chain_seq,
            chain_head=record.chain_head,
        )
        if record.n != expected or record.prev_hash != previous:
            problems.append(
                Problem("erasure", tenant_id, None, None, f"erasure #{expected} is missing")
            )
        if chain_hash(record.prev_hash, payload) != record.hash:
            problems.append(
                Problem("erasure", tenant_id, None, None, f"erasure #{record.n} was altered")
            )
        if record.chain_seq and known.get(record.chain_head[:16]) != record.chain_seq:
            problems.append(
                Problem(
                    "erasure",
                    tenant_id,
                    record.chain_seq,
                    None,
                    f"erasure #{record.n} is anchored to an event the chain does not hold",
                )
            )
        previous, expected = record.hash, record.n + 1
    if len(records) != count or (records and previous != head) or (not records and head):
        problems.append(
            Problem("erasure", tenant_id, None, None, "the erasure records end before the head")
        )
    return {r.id: r for r in records}


def _check_erased(
    row: StoredEvent, erasures: dict[int, ErasureRecord], problems: list[Problem]
) -> None:
    """An erased event names its erasure, which must list it under the same key."""
    erased = parse_erased(row.erased) or {}
    erasure_id = erased.get("erasure")
    record = erasures.get(erasure_id) if isinstance(erasure_id, int) else None
    if (
        record is None
        or str(row.seq) not in record.event_seqs.split(";")
        or record.address_key != row.address
    ):
        problems.append(
            Problem(
                "erasure",
                row.tenant_id,
                row.seq,
                row.id,
                "an erased event does not match the erasure record that removed its data",
            )
        )
