"""Erasure that keeps the suppression, and retention (C22).

``erase`` removes a data subject's personal data from one tenant in one
transaction and keeps what suppression needs:

* every event of the address keeps its action, scope, purpose, topic, times and
  source, and its non-personal proof keys; the address is replaced by a keyed
  hash (HMAC-SHA256 with the installation's erasure key, which is not in the
  database), the personal proof keys, the idempotency key and the salt are
  removed, and the digests the chain covers are kept (``erased``), so ``verify``
  still passes and still checks every remaining field (C21);
* the projection row is re-keyed to the keyed hash: a later check, record or
  import of the number finds the opt-out there (storage does this transparently,
  and only in tenants that have erasures);
* opt-ins and pending requests cannot stand once their evidence is gone: the
  erasure appends a ``lapse`` (source ``erasure``, under the keyed hash) for each,
  so the number is treated as never having consented; opt-outs stay;
* inbound messages (text, provider hint, classification), replies sent to the
  number, review notes, scope questions and the idempotency rows of its events
  are cleared; the address in them becomes the keyed hash;
* the erasure itself is recorded, with no personal data, in a per-tenant chain of
  erasure records anchored to the ledger's head.

Retention: evidence is kept at least N years (default 4; a tenant setting) after
the last message that relied on it, that is the newest of the address's events,
inbound messages and replies. ``retention`` lists the addresses past it (masked)
and, unless a dry run, purges them by erasing them with reason ``retention``: the
evidence goes, the suppression stays.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from consentline.domain.addresses import CHANNELS, normalise_address
from consentline.domain.errors import InvalidInput, UnknownAccount, UnknownAddress, mask
from consentline.domain.ledger import (
    GENESIS,
    Entry,
    StoredEvent,
    chain_hash,
    compact,
    decode,
    encode,
    from_us,
    insert_entry,
    to_us,
)
from consentline.domain.policy import check_name
from consentline.domain.privacy import (
    erase_event,
    erasure_payload,
    is_erased_address,
    keyed_address,
)
from consentline.domain.scopes import Directory
from consentline.services import rollups
from consentline.services.ports import UnitOfWork

DEFAULT_RETENTION_YEARS: Final = 4
MAX_RETENTION_YEARS: Final = 100
_YEAR_US: Final = 365 * 86_400 * 1_000_000 + 6 * 3_600 * 1_000_000  # 365.25 days


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure did (no personal data: the number is masked)."""

    address: str  # masked
    address_key: str  # the keyed hash that replaced it
    erasure: int  # the tenant's erasure number (1, 2, ...)
    already_erased: bool  # nothing left to erase: the earlier erasure's record
    events: int
    lapsed: int  # opt-ins and pending requests lapsed (their evidence is gone)
    inbound: int
    outbox: int
    review_notes: int
    scope_questions: int
    idempotency: int
    contact_refs: int
    erased_at: datetime
    campaign_reach: int = 0  # chunks of the campaign sends' reach rewritten (migration 0015)

    def as_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "address_key": self.address_key,
            "erasure": self.erasure,
            "already_erased": self.already_erased,
            "events": self.events,
            "lapsed": self.lapsed,
            "inbound": self.inbound,
            "outbox": self.outbox,
            "review_notes": self.review_notes,
            "scope_questions": self.scope_questions,
            "idempotency": self.idempotency,
            "contact_refs": self.contact_refs,
            "campaign_reach": self.campaign_reach,
            "erased_at": self.erased_at.isoformat(),
        }


def erase_contact_refs(uow: UnitOfWork, tenant_id: int, address: str, address_key: str) -> int:
    """Delete the contact refs (CRM record ids) that point at ``address`` (C22): a
    record id identifies the person as well as the number does. References are kept
    by the plain address only, so the keyed hash has none."""
    del address_key
    return sum(uow.refs.delete_address(tenant_id, channel, address) for channel in CHANNELS)


def _channel_of(address: str) -> str:
    return "email" if "@" in address else "sms"


def _in_reach(
    directory: Directory, within: str | None, scopes: list[str], lines: list[int]
) -> bool:
    if within is None:
        return True
    home = directory.account(within)
    for scope in scopes:
        try:
            if directory.is_within(directory.scope_account(scope), home.id):
                return True
        except (UnknownAccount, InvalidInput, KeyError):
            continue
    for line_id in lines:
        if directory.has_line_id(line_id) and directory.is_within(
            directory.line_by_id(line_id).account_id, home.id
        ):
            return True
    return False


def erase(
    uow: UnitOfWork,
    directory: Directory,
    *,
    address: str,
    account: str,
    key: bytes,
    now: datetime,
    reason: str = "subject_request",
    within: str | None = None,
) -> ErasureReport:
    """Erase ``address`` from the tenant of ``account`` and commit (module docstring).

    ``within`` bounds it to an API key's subtree: the address must have data there
    (an event at a scope inside it, or a message on one of its lines), else it is
    unknown. Erasing again is idempotent; an address never seen is
    :class:`UnknownAddress`.
    """
    check_name("reason", reason)
    owner = directory.account(account)
    if within is not None and not directory.is_within(owner.id, directory.account(within).id):
        raise UnknownAccount(f"no account {owner.slug!r}", account=owner.slug)
    tenant_id = owner.tenant_id
    if is_erased_address(address):
        raise InvalidInput("give the number to erase, not its keyed hash")
    plain = normalise_address(address, _channel_of(address), owner.default_region)
    address_key = keyed_address(key, tenant_id, plain)
    now_us = to_us(now)

    seq, head = uow.store.lock_chain(tenant_id)  # serialises with the tenant's writers
    uow.privacy.secure_delete(True)  # SQLite zeroes what the erasure overwrites
    events = uow.privacy.events_of(tenant_id, plain)
    inbound_lines = uow.privacy.inbound_lines(tenant_id, plain)
    if not events and not inbound_lines and not uow.privacy.has_other_rows(tenant_id, plain):
        earlier = uow.privacy.erasures_of(tenant_id, address_key)
        if earlier:
            scopes = [e.scope for e in uow.privacy.events_of(tenant_id, address_key)]
            if within is None or _in_reach(directory, within, scopes, []):
                return _report(plain, earlier[-1], already=True)
        raise UnknownAddress(f"no data for {mask(plain)}", address=mask(plain))
    if not _in_reach(directory, within, [e.scope for e in events], inbound_lines):
        raise UnknownAddress(f"no data for {mask(plain)}", address=mask(plain))

    moved = uow.privacy.move_state(tenant_id, plain, address_key)
    seq, head, lapsed = _lapse_consents(uow, tenant_id, address_key, moved, seq, head, now_us)
    inbound_ids = uow.privacy.erase_inbound(tenant_id, plain, address_key)
    counts = {
        "events": len(events),
        "lapsed": lapsed,
        "inbound": len(inbound_ids),
        "outbox": uow.privacy.erase_outbox(tenant_id, plain, address_key, inbound_ids),
        "review_notes": uow.privacy.erase_review_notes(inbound_ids),
        "scope_questions": uow.privacy.erase_scope_questions(tenant_id, plain, address_key),
        "idempotency": uow.privacy.delete_idempotency(tenant_id, [e.id for e in events]),
        "contact_refs": erase_contact_refs(uow, tenant_id, plain, address_key),
        "campaign_reach": uow.campaigns.erase_address(tenant_id, plain),
    }
    count, erasure_head = uow.privacy.erasure_state(tenant_id)
    n = count + 1
    record: dict[str, Any] = {
        "tenant_id": tenant_id,
        "n": n,
        "address_key": address_key,
        "reason": reason,
        "erased_us": now_us,
        "event_seqs": ";".join(str(e.seq) for e in events),
        "counts": json.dumps(counts, sort_keys=True, separators=(",", ":")),
        "chain_seq": seq,
        "chain_head": head,
    }
    previous = erasure_head or GENESIS
    digest = chain_hash(previous, erasure_payload(**record))
    erasure_id = uow.privacy.insert_erasure({**record, "prev_hash": previous, "hash": digest})
    uow.privacy.set_erasure_head(tenant_id, n, digest)
    uow.privacy.rewrite_events(
        [
            {
                "id": e.id,
                **erase_event(
                    salt=e.salt,
                    address=e.address,
                    proof=e.proof,
                    idempotency_key=e.idempotency_key,
                    pseudonym=address_key,
                    erasure_id=erasure_id,
                ),
            }
            for e in events
        ]
    )
    uow.privacy.secure_delete(False)
    uow.commit()
    return ErasureReport(mask(plain), address_key, n, False, erased_at=now, **counts)


def _report(plain: str, record: Any, *, already: bool) -> ErasureReport:
    counts = json.loads(record.counts)
    return ErasureReport(
        mask(plain),
        record.address_key,
        record.n,
        already,
        erased_at=from_us(record.erased_us),
        **counts,
    )


def _lapse_consents(
    uow: UnitOfWork,
    tenant_id: int,
    address_key: str,
    channels: list[str],
    seq: int,
    head: str,
    now_us: int,
) -> tuple[int, str, int]:
    """Append a lapse for every opt-in or pending request the erased number held:
    its evidence is gone, so it cannot stand (an opt-out is never touched)."""
    state = uow.store.load_state([(tenant_id, channel, address_key) for channel in channels])
    rows: list[StoredEvent] = []
    for (_, channel, _), projection in state.items():
        seen: set[tuple[str, str, str]] = set()
        for entry in decode(projection.shape, projection.ids, projection.times):
            where = (entry.scope, entry.purpose, entry.topic)
            if entry.code not in ("i", "p") or where in seen:
                continue
            seen.add(where)
            seq += 1
            unsealed = StoredEvent(
                id=0,
                tenant_id=tenant_id,
                seq=seq,
                address=address_key,
                channel=channel,
                action="lapse",
                scope=entry.scope,
                purpose=entry.purpose or None,
                topic=entry.topic or None,
                occurred_us=now_us,
                recorded_us=now_us,
                source="erasure",
                proof=json.dumps({"erasure": "evidence_erased"}),
                idempotency_key=None,
                prev_hash=head,
                hash="",
            )
            head = chain_hash(head, unsealed.payload())
            rows.append(_sealed(unsealed, head))
    if not rows:
        return seq, head, 0
    ids = uow.store.insert_events(rows)
    uow.store.set_chain_head(tenant_id, seq, head)
    before = {k: decode(p.shape, p.ids, p.times) for k, p in state.items()}
    revoke_all_us = uow.store.load_policies()[tenant_id].revoke_all_us
    rollups.count_events(uow, list(zip(rows, ids, strict=True)), before, revoke_all_us)  # C23
    updated = {}
    for key, projection in state.items():
        entries = decode(projection.shape, projection.ids, projection.times)
        for row, event_id in zip(rows, ids, strict=True):
            if row.channel == key[1]:
                insert_entry(
                    entries,
                    Entry(
                        event_id,
                        "l",
                        row.scope,
                        row.purpose or "",
                        row.topic or "",
                        row.occurred_us,
                        row.source,
                    ),
                )
        updated[key] = encode(compact(entries))
    uow.store.save_state(updated)
    return seq, head, len(rows)


def _sealed(event: StoredEvent, digest: str) -> StoredEvent:
    from dataclasses import replace

    return replace(event, hash=digest)


# -- retention -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RetentionItem:
    address: str  # masked ("erased" for an address erased already)
    last_reliance: datetime
    erased: bool


@dataclass(frozen=True, slots=True)
class RetentionReport:
    account: str
    years: int
    cutoff: datetime
    dry_run: bool
    due: tuple[RetentionItem, ...]
    purged: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "years": self.years,
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "due": [
                {
                    "address": i.address,
                    "last_reliance": i.last_reliance.isoformat(),
                    "erased": i.erased,
                }
                for i in self.due
            ],
            "purged": self.purged,
        }


def check_years(years: int) -> int:
    if (
        isinstance(years, bool)
        or not isinstance(years, int)
        or not 1 <= years <= MAX_RETENTION_YEARS
    ):
        raise InvalidInput(
            f"retention must be a whole number of years from 1 to {MAX_RETENTION_YEARS}",
            field="years",
        )
    return years


def set_retention(uow: UnitOfWork, directory: Directory, account: str, years: int | None) -> None:
    tenant_id = directory.account(account).tenant_id
    uow.privacy.set_retention_years(tenant_id, None if years is None else check_years(years))
    uow.commit()


def retention_years(uow: UnitOfWork, directory: Directory, account: str) -> int:
    found = uow.privacy.retention_years(directory.account(account).tenant_id)
    return DEFAULT_RETENTION_YEARS if found is None else found


def past_retention(
    uow: UnitOfWork, directory: Directory, account: str, *, now: datetime
) -> tuple[int, datetime, list[tuple[str, int]]]:
    """(years, cutoff, [(address, last reliance µs)]) of the addresses past retention
    (an address erased already is listed only if it still has evidence: never)."""
    years = retention_years(uow, directory, account)
    tenant_id = directory.account(account).tenant_id
    cutoff_us = to_us(now) - years * _YEAR_US
    due = [
        (address, moment)
        for address, moment in uow.privacy.last_reliance(tenant_id)
        if moment < cutoff_us and not is_erased_address(address)
    ]
    due.sort(key=lambda item: item[1])
    return years, from_us(cutoff_us), due


def retention(
    units: Callable[[], UnitOfWork],
    directory: Directory,
    account: str,
    *,
    key: bytes | None,
    now: datetime,
    dry_run: bool = True,
    limit: int | None = None,
) -> RetentionReport:
    """List (and unless ``dry_run`` purge) what is past retention in ``account``'s
    tenant. Purging erases each address with reason ``retention`` (one transaction
    each): the evidence goes, an opt-out stays."""
    with units() as uow:
        years, cutoff, due = past_retention(uow, directory, account, now=now)
    if limit is not None:
        due = due[:limit]
    purged = 0
    if not dry_run:
        if key is None:
            from consentline.domain.privacy import check_erasure_key

            check_erasure_key(key)
        assert key is not None
        for address, _ in due:
            with units() as uow:
                erase(
                    uow,
                    directory,
                    address=address,
                    account=account,
                    key=key,
                    now=now,
                    reason="retention",
                )
                purged += 1
    items = tuple(RetentionItem(mask(a), from_us(m), not dry_run) for a, m in due)
    return RetentionReport(account, years, cutoff, dry_run, items, purged)
