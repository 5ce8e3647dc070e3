"""Keeping the report rollups in step with the ledger (C23: counts, no addresses).

:func:`count_events` is called by the one sealing path (``recording._project``)
and by an erasure's lapses, in the same transaction as the events: the counters
of a batch are aggregated in Python and written with one upsert per table.
:func:`rebuild` recomputes a tenant's counters from its ledger (after
``rebuild_projection``, a restore, or migration 0013's backfill), replaying the
events in chain order through the same code, so that both ways agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from consentline.domain.ledger import Entry, StoredEvent, compact
from consentline.domain.rollups import LineMap, RollupBatch, inbound_counts, inbound_rows
from consentline.domain.scopes import Directory
from consentline.services.ports import LedgerRepository, RollupRepository, UnitOfWork

AddressKey = tuple[int, str, str]
_REBUILD_CHUNK = 5000


def count_events(
    uow: UnitOfWork,
    written: Sequence[tuple[StoredEvent, int]],
    before: Mapping[AddressKey, Sequence[Entry]],
    revoke_all_us: int | None,
) -> None:
    """Count sealed events: ``before`` holds each address's projection entries as
    they were before ``written`` (not changed here). One upsert per table."""
    if not written:
        return
    batch = RollupBatch(LineMap(uow.store.load_directory()))
    batch.add(written, {k: list(v) for k, v in before.items()}, revoke_all_us)
    _flush(uow.rollups, batch)


def count_inbound(uow: UnitOfWork, rows: Sequence[Mapping[str, object]]) -> None:
    """Count stored inbound messages (rows of ``inbound_messages``) by intent and rule."""
    counted = inbound_counts(
        (
            int(r["tenant_id"]),  # type: ignore[call-overload]
            int(r["account_id"]),  # type: ignore[call-overload]
            int(r["line_id"]),  # type: ignore[call-overload]
            int(r["received_us"]),  # type: ignore[call-overload]
            str(r["classification"]),
        )
        for r in rows
    )
    uow.rollups.add("report_inbound", inbound_rows(counted))


def _flush(rollups: RollupRepository, batch: RollupBatch) -> None:
    rollups.add("report_counts", batch.count_rows())
    rollups.add("report_states", batch.state_rows())


def rebuild(
    store: LedgerRepository,
    rollups: RollupRepository,
    tenant_id: int,
    *,
    directory: Directory | None = None,
    address_of: Callable[[int, str], str] | None = None,
    erased: Iterable[str] = (),
) -> int:
    """Recompute a tenant's event and state counters from its ledger (no commit).

    ``address_of`` and ``erased`` (the keyed hash and the erased keys, C22) fold
    the later events of an erased number into its erased row, as
    ``recording.rebuild_state`` does. Returns how many events were counted.
    """
    revoke_all_us = store.load_policies()[tenant_id].revoke_all_us
    lines = LineMap(directory or store.load_directory())
    rollups.clear(tenant_id)
    gone = set(erased)
    entries: dict[AddressKey, list[Entry]] = {}
    chunk: list[tuple[StoredEvent, int]] = []
    count = 0
    batch = RollupBatch(lines)

    def flush() -> None:
        mapping: dict[tuple[int, str], str] | None = None
        if gone and address_of is not None:
            mapping = {}
            for row, _ in chunk:
                hashed = address_of(tenant_id, row.address)
                if hashed in gone:
                    mapping[(tenant_id, row.address)] = hashed
        batch.add(chunk, entries, revoke_all_us, address_of=mapping)
        for row, _ in chunk:  # keep the in-memory projection short, as the real one
            moved = None if mapping is None else mapping.get((tenant_id, row.address))
            key = (tenant_id, row.channel, moved or row.address)
            if len(entries[key]) > 8:
                entries[key] = compact(entries[key], revoke_all_us)
        chunk.clear()

    for row in store.chain_rows(tenant_id):
        chunk.append((row, row.id))
        count += 1
        if len(chunk) >= _REBUILD_CHUNK:
            flush()
    if chunk:
        flush()
    _flush(rollups, batch)
    return count


def rebuild_inbound(
    rows: Iterable[tuple[int, int, int, int, str]], rollups: RollupRepository, tenant_id: int
) -> None:
    """Recompute a tenant's inbound counters from its stored messages."""
    rollups.clear(tenant_id, inbound=True)
    rollups.add("report_inbound", inbound_rows(inbound_counts(rows)))
