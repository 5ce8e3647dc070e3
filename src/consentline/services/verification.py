"""``verify``: walk every tenant's hash chain and the projection (C21).

Reports, per tenant, events whose content no longer matches their hash
(``modified``), missing sequence numbers or a missing chain tail (``deleted``),
events whose link points at another event of the chain (``reordered``), and
projection rows that differ from a fold of the ledger (``projection``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from consentline.domain.ledger import (
    GENESIS,
    Entry,
    chain_hash,
    compact,
    encode,
    insert_entry,
)
from consentline.services.ports import UnitOfWork

ProblemKind = Literal["modified", "deleted", "reordered", "projection"]


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


def verify(uow: UnitOfWork) -> VerifyReport:
    problems: list[Problem] = []
    heads = uow.store.tenant_heads()
    policies = uow.store.load_policies()
    total = 0
    for tenant_id, chain_seq, chain_head in heads:
        # Prefixes of every stored hash, to tell a reordered link from a forged one.
        known = {r.hash[:16]: r.seq for r in uow.store.chain_rows(tenant_id)}
        expected, previous = 1, GENESIS
        entries: dict[tuple[str, str], list[Entry]] = {}
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
            insert_entry(entries.setdefault((row.channel, row.address), []), row.entry())
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
