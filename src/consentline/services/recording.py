"""Use cases: simple values in, plain results out, one unit of work each.

Each function takes a :class:`UnitOfWork` (already entered), the current
:class:`Directory` and the time ``now``; it validates everything before the first
write and commits once, so a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from json.encoder import encode_basestring_ascii
from typing import Any

from consentline.domain.addresses import (
    check_channel,
    normalise_address,
    normalise_line_id,
)
from consentline.domain.contact_refs import ContactRef, parse_contact_refs
from consentline.domain.errors import (
    IdempotencyConflict,
    InvalidInput,
    InvalidTime,
    UnknownAccount,
    UnknownLine,
    UnknownPurpose,
)
from consentline.domain.evidence import check_identifier
from consentline.domain.ledger import (
    ACTION_CODES,
    Entry,
    Event,
    Projection,
    StoredEvent,
    canonical_proof,
    chain_hash,
    check_action,
    compact,
    decode,
    encode,
    insert_entry,
    to_us,
)
from consentline.domain.policy import (
    TenantPolicy,
    check_name,
)
from consentline.domain.privacy import new_salt
from consentline.domain.scopes import (
    Account,
    Directory,
    Line,
    account_scope,
    check_reach,
    line_scope,
    parse_scope,
)
from consentline.services import rollups
from consentline.services.ports import UnitOfWork

MAX_FUTURE_SKEW = timedelta(minutes=5)


# -- recording -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RecordRequest:
    """One consent change to append. Exactly one of ``account``, ``line``, ``via``.

    ``via`` is the line a keyword arrived on: the scope then follows the account's
    reach for opt-outs and resumes (docs/model.md, "reach"), and is the line for others.

    ``within`` names the account whose subtree bounds the write: that of the API
    key it comes through. A scope outside the subtree is refused as if it did not
    exist, and a write that allows sends (opt_in, resume, pending) is kept inside
    it: a resume whose reach lands above ``within`` lands at ``within`` instead,
    so it clears the opt-out on the subtree's own lines (as the handset's START
    would there) and nowhere else. An opt-out may still widen to its full reach.
    ``None`` (the library, a handset's own keyword) leaves the reach as it is.
    """

    address: str
    action: str
    account: str | None = None
    line: str | None = None
    via: str | None = None
    purpose: str | None = None
    topic: str | None = None
    channel: str = "sms"
    source: str = "api"
    proof: Mapping[str, Any] | None = None
    occurred_at: datetime | None = None
    idempotency_key: str | None = None
    reach: str | None = None  # per-keyword reach override (e.g. STOPALL -> tree)
    within: str | None = None  # the writer's account: bounds what the write may allow
    # The external record ids (a CRM's Contact Id) that point at the address:
    # "system:ref" or a bare ref; stored with the address, not in the event.
    contact_ref: str | Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class _Prepared:
    tenant_id: int
    address: str
    channel: str
    action: str
    scope: str
    purpose: str | None
    topic: str | None
    occurred_us: int
    source: str
    proof_text: str
    idempotency_key: str | None
    fingerprint: str
    refs: tuple[ContactRef, ...] = ()
    revoke_all_us: int | None = None  # the tenant's revoke-all date, for compaction (C16)
    # The proof as the object its canonical text was made from, when every key and
    # value is a str (the chain's commitment then skips parsing the text back).
    proof_value: Mapping[str, str] | None = None
    # (salt, recorded_us, the text the event's hash will cover), made ahead of the
    # seal by :func:`preseal` (an import's planner process); used when recorded_us
    # is the seal's own time, else made again.
    sealed: tuple[str, int, str] | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled as its fields in order (an import's planner process sends these):
        # far cheaper to load than a dataclass's default state dict.
        return (type(self), tuple(getattr(self, name) for name in self.__slots__))


# Writes after which a send may be allowed: an API key may make them only inside
# its own subtree (suppression, opt_out and lapse, may reach wider).
ALLOWING = frozenset({"opt_in", "resume", "pending"})


def _resolve_line(directory: Directory, text: str) -> Line:
    found = directory.find_line(text)
    if found is not None:
        return found
    return directory.line(normalise_line_id(text))


def resolve_scope(directory: Directory, request: RecordRequest) -> tuple[Account, str]:
    """The account a request belongs to and the scope key its event lands at.

    The one place that applies reach (for ``via``) and the ``within`` bound: any
    code that predicts where an event will land must ask here.
    """
    action = check_action(request.action)
    home = None if request.within is None else directory.account(request.within)
    if request.account is not None:
        owner = directory.account(request.account)
        if home is not None and not directory.is_within(owner.id, home.id):
            raise UnknownAccount(f"no account {owner.slug!r}", account=owner.slug)
        return owner, account_scope(owner.id)
    line = _resolve_line(directory, request.line or request.via or "")
    if home is not None and not directory.is_within(line.account_id, home.id):
        raise UnknownLine(f"no line {line.number!r}", line=line.number)
    owner = directory.account_by_id(line.account_id)
    if request.via is None or action not in ("opt_out", "resume"):
        return owner, line_scope(line.id)
    scope = directory.reach_scope(line, check_reach(request.reach))
    landing = parse_scope(scope)
    if home is None or action not in ALLOWING or landing.is_line:
        return owner, scope
    if not directory.is_within(landing.id, home.id):  # reach lands above the bound:
        scope = account_scope(home.id)  # the widest scope inside it instead
    return owner, scope


def prepare(
    request: RecordRequest,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    now_us: int,
    *,
    resolved: tuple[Account, str] | None = None,
) -> _Prepared:
    """Validate one request completely (no I/O): every error is raised before writing.

    ``resolved`` is what :func:`resolve_scope` returned for an equal scope (a bulk
    writer whose rows share account, line and ``within``, and have no ``via``)."""
    action = check_action(request.action)
    channel = check_channel(request.channel)
    given = [v for v in (request.account, request.line, request.via) if v is not None]
    if len(given) != 1:
        raise InvalidInput("give exactly one of account=, line= or via= as the scope")
    owner, scope = resolve_scope(directory, request) if resolved is None else resolved
    policy = policies[owner.tenant_id]
    purpose = request.purpose
    if purpose is not None:
        check_name("purpose", purpose)
        if purpose not in policy.purposes:
            raise UnknownPurpose(f"no purpose {purpose!r} in this tenant", purpose=purpose)
    topic = check_name("topic", request.topic) if request.topic is not None else None
    source = check_name("source", request.source)
    address = normalise_address(request.address, channel, owner.default_region)
    if request.occurred_at is None:
        occurred_us = now_us
    else:
        occurred_us = to_us(request.occurred_at)
        if occurred_us > now_us + int(MAX_FUTURE_SKEW.total_seconds() * 1_000_000):
            raise InvalidTime(
                "occurred_at is in the future", occurred_at=request.occurred_at.isoformat()
            )
    proof_text = canonical_proof(request.proof)
    proof = request.proof
    proof_value = (
        dict(proof)
        if type(proof) is dict and all(type(k) is str and type(v) is str for k, v in proof.items())
        else None
    )
    refs = parse_contact_refs(request.contact_ref)
    key = request.idempotency_key
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 255):
        raise InvalidInput("idempotency_key must be 1 to 255 characters", field="idempotency_key")
    if key is not None:
        check_identifier(key, "idempotency_key")
    fingerprint = request_fingerprint(
        (address, channel, action, scope, purpose, topic, source, proof_text),
        None if request.occurred_at is None else occurred_us,
    )
    return _Prepared(
        owner.tenant_id,
        address,
        channel,
        action,
        scope,
        purpose,
        topic,
        occurred_us,
        source,
        proof_text,
        key,
        fingerprint,
        refs,
        policy.revoke_all_us,
        proof_value,
    )


def request_fingerprint(texts: Sequence[str | None], occurred_us: int | None) -> str:
    """What an idempotency key is bound to: the SHA-256 of ``json.dumps`` of the
    request's fields (texts, then the given time), the text built directly (the
    same bytes: ``json.dumps`` costs more than the digest on the bulk paths)."""
    parts = ["null" if text is None else encode_basestring_ascii(text) for text in texts]
    parts.append("null" if occurred_us is None else str(int(occurred_us)))
    return hashlib.sha256(f"[{', '.join(parts)}]".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What became of one :class:`RecordRequest`.

    ``replayed`` is true when the request's idempotency key had already been
    applied (before, or earlier in the same batch): ``event`` is then the original
    and nothing was appended. It is decided under the tenant's chain lock, so of
    any number of concurrent requests with one key exactly one is not a replay.
    """

    event: Event
    replayed: bool


def record(
    uow: UnitOfWork,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    requests: Sequence[RecordRequest],
    *,
    now: datetime,
) -> list[Event]:
    """Append events (one transaction for the whole batch) and commit.

    Every way a revocation arrives (keyword, provider signal, agent, web, API)
    ends here, so it has the same effect whatever its source (C15).

    A request whose idempotency key was already applied returns the original
    event and appends nothing; the same key with a different request is an
    :class:`IdempotencyConflict`. Returns one event per request, in order.
    """
    events = append(uow, directory, policies, requests, now=now)
    uow.commit()
    return events


def append(
    uow: UnitOfWork,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    requests: Sequence[RecordRequest],
    *,
    now: datetime,
) -> list[Event]:
    """Like :func:`record`, inside the caller's transaction (no commit)."""
    return [r.event for r in append_results(uow, directory, policies, requests, now=now)]


def append_results(
    uow: UnitOfWork,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    requests: Sequence[RecordRequest],
    *,
    now: datetime,
) -> list[RecordResult]:
    """Like :func:`append`, saying of each request whether it was a replay."""
    now_us = to_us(now)
    prepared = [prepare(r, directory, policies, now_us) for r in requests]
    return append_prepared(uow, prepared, now_us)


Prepared = _Prepared  # what :func:`prepare` returns (for the bulk paths, e.g. imports)


def append_prepared(
    uow: UnitOfWork, prepared: Sequence[_Prepared], now_us: int
) -> list[RecordResult]:
    """Append requests already validated by :func:`prepare` (the one sealing path:
    chain lock, idempotency, hash chain, projection), in the caller's transaction.

    Per tenant: one chain lock, one idempotency lookup, one insert of the events,
    one of their keys, and one load and save of the projection, whatever the size.
    """
    written, replayed = _seal(uow, prepared, now_us)
    results: list[Event | None] = [None] * len(prepared)
    for i, (row, event_id) in written.items():
        results[i] = row.event(event_id)
    for i, ref in replayed.items():
        if ref < 0:
            results[i] = results[-1 - ref]
    existing = uow.store.events_by_id(v for v in replayed.values() if v >= 0)
    for i, ref in replayed.items():
        if ref >= 0:
            results[i] = existing[ref]
    return [
        RecordResult(event, i in replayed) for i, event in enumerate(results) if event is not None
    ]


StateKey = tuple[int, str, str]  # (tenant, channel, address): a projection row's key


def append_counted(
    uow: UnitOfWork,
    prepared: Sequence[_Prepared],
    now_us: int,
    *,
    known: Mapping[str, tuple[str, int]] | None = None,
    state: Mapping[StateKey, Projection] | None = None,
) -> list[bool]:
    """Like :func:`append_prepared` for bulk writers that need no events back (an
    import): whether each request was a replay, nothing else is read back.

    A writer that already holds the chain lock of the batch's one tenant may pass
    what it read under it: ``known``, :meth:`find_idempotent` of every key of the
    batch, and ``state``, :meth:`load_state` of every address of the batch (so the
    same rows are not read twice)."""
    _, replayed = _seal(uow, prepared, now_us, known=known, state=state)
    return [i in replayed for i in range(len(prepared))]


def _seal(
    uow: UnitOfWork,
    prepared: Sequence[_Prepared],
    now_us: int,
    *,
    known: Mapping[str, tuple[str, int]] | None = None,
    state: Mapping[StateKey, Projection] | None = None,
) -> tuple[dict[int, tuple[StoredEvent, int]], dict[int, int]]:
    """Append and seal: each fresh request's stored row and id, and each replay's
    original event id (or ``-1 - index`` of an earlier request of the batch).

    ``known`` and ``state`` as for :func:`append_counted` (one tenant only)."""
    by_tenant: dict[int, list[int]] = {}
    for index, item in enumerate(prepared):
        by_tenant.setdefault(item.tenant_id, []).append(index)

    written: dict[int, tuple[StoredEvent, int]] = {}
    replayed: dict[int, int] = {}  # request index -> existing event id
    add_refs(uow, prepared, now_us)
    if len(by_tenant) > 1:  # what was read ahead is for a batch of one tenant
        known = state = None
    for tenant_id in sorted(by_tenant):  # a fixed lock order: no deadlock between batches
        indexes = by_tenant[tenant_id]
        seq, head = uow.store.lock_chain(tenant_id)
        found = known
        if found is None:
            keys = [prepared[i].idempotency_key for i in indexes if prepared[i].idempotency_key]
            found = uow.store.find_idempotent(tenant_id, [k for k in keys if k])
        fresh: list[int] = []
        batch_keys: dict[str, int] = {}
        for i in indexes:
            item = prepared[i]
            key = item.idempotency_key
            if key is None:
                fresh.append(i)
                continue
            earlier = found.get(key)
            if earlier is not None:
                if earlier[0] != item.fingerprint:
                    raise IdempotencyConflict(
                        "this idempotency key was already used for a different request",
                        idempotency_key=key,
                    )
                replayed[i] = earlier[1]
            elif key in batch_keys:
                first = prepared[batch_keys[key]]
                if first.fingerprint != item.fingerprint:
                    raise IdempotencyConflict(
                        "this idempotency key appears twice in the batch with different requests",
                        idempotency_key=key,
                    )
                replayed[i] = -1 - batch_keys[key]  # resolved after insert
            else:
                batch_keys[key] = i
                fresh.append(i)

        rows: list[StoredEvent] = []
        for i in fresh:
            item = prepared[i]
            seq += 1
            sealed = item.sealed
            if sealed is not None and sealed[1] == now_us:
                unsealed = _unsealed(item, seq, now_us, head, sealed[0])
                text = sealed[2]
            else:
                unsealed = _unsealed(item, seq, now_us, head, new_salt())
                text = unsealed.sealing_payload(item.proof_value)
            # The hash covers exactly the fields the one list marks as chained (C21).
            digest = chain_hash(head, text)
            # Sealed in place (a copy per event cost more than its hash): the row
            # is not shared before this point.
            object.__setattr__(unsealed, "hash", digest)
            rows.append(unsealed)
            head = digest
        if not rows:
            continue
        ids = uow.store.insert_events(rows)
        uow.store.set_chain_head(tenant_id, seq, head)
        uow.store.insert_idempotency(
            [
                {
                    "tenant_id": tenant_id,
                    "key": prepared[i].idempotency_key,
                    "fingerprint": prepared[i].fingerprint,
                    "event_id": event_id,
                    "created_us": now_us,
                }
                for i, event_id in zip(fresh, ids, strict=True)
                if prepared[i].idempotency_key is not None
            ]
        )
        _project(
            uow,
            [(rows[n], ids[n]) for n in range(len(rows))],
            prepared[indexes[0]].revoke_all_us,
            state,
        )
        for n, i in enumerate(fresh):
            written[i] = (rows[n], ids[n])
    return written, replayed


def _unsealed(item: _Prepared, seq: int, recorded_us: int, head: str, salt: str) -> StoredEvent:
    """The event ``item`` appends, before its hash: the one construction of a new
    row, for the seal and for :func:`preseal` alike."""
    return StoredEvent(
        id=0,  # assigned by the insert
        tenant_id=item.tenant_id,
        seq=seq,
        address=item.address,
        channel=item.channel,
        action=item.action,
        scope=item.scope,
        purpose=item.purpose,
        topic=item.topic,
        occurred_us=item.occurred_us,
        recorded_us=recorded_us,
        source=item.source,
        proof=item.proof_text,
        idempotency_key=item.idempotency_key,
        prev_hash=head,
        hash="",
        salt=salt,
    )


def preseal(item: _Prepared, recorded_us: int) -> _Prepared:
    """``item`` with the text its event's hash will cover, made now: that text
    leaves out the sequence number and the links (:data:`CHAINED`), so it can be
    made before the chain lock, in another process; the seal then only links it.
    ``recorded_us`` must be the time the seal will be given (else it is made again)."""
    salt = new_salt()
    text = _unsealed(item, 0, recorded_us, "", salt).sealing_payload(item.proof_value)
    return replace(item, sealed=(salt, recorded_us, text), proof_value=None)


def add_refs(uow: UnitOfWork, prepared: Sequence[_Prepared], now_us: int) -> None:
    """Store the contact references the requests carry (those already known are kept)."""
    rows = [
        {
            "tenant_id": item.tenant_id,
            "channel": item.channel,
            "address": item.address,
            "system": ref.system,
            "ref": ref.ref,
            "created_us": now_us,
        }
        for item in prepared
        for ref in item.refs
    ]
    if rows:
        uow.refs.add(rows)


def _project(
    uow: UnitOfWork,
    written: Sequence[tuple[StoredEvent, int]],
    revoke_all_us: int | None,
    state: Mapping[StateKey, Projection] | None = None,
) -> None:
    """Fold new events into the projection rows of their addresses (same transaction).

    ``written`` are of one tenant, whose revoke-all instant (C16) says which scoped
    opt-outs compaction must keep. ``state``: those addresses' rows, already read
    under the chain lock (a key absent from it has no row)."""
    keys = [(r.tenant_id, r.channel, r.address) for r, _ in written]
    current = uow.store.load_state(keys) if state is None else state
    entries: dict[tuple[int, str, str], list[Entry]] = {}
    for key in dict.fromkeys(keys):
        found = current.get(key)
        entries[key] = decode(found.shape, found.ids, found.times) if found else []
    rollups.count_events(uow, written, entries, revoke_all_us)  # C23: report counters
    for (row, event_id), key in zip(written, keys, strict=True):
        insert_entry(
            entries[key],
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
    updated: dict[tuple[int, str, str], Projection] = {
        key: encode(compact(items, revoke_all_us)) for key, items in entries.items()
    }
    uow.store.save_state(updated)


def rebuild_projection(
    uow: UnitOfWork, tenant_id: int, key_of: Callable[[int, str], str] | None = None
) -> int:
    """Recompute a tenant's projection from the ledger (after a restore, say).

    ``key_of`` (the installation's keyed hash, C22) puts the later events of an
    erased number in the row of its erased ones, where every reader looks.
    """
    count = rebuild_state(uow, tenant_id, key_of)
    uow.commit()
    return count


def rebuild_state(
    uow: UnitOfWork, tenant_id: int, key_of: Callable[[int, str], str] | None = None
) -> int:
    """:func:`rebuild_projection` inside the caller's transaction (no commit)."""
    revoke_all_us = uow.store.load_policies()[tenant_id].revoke_all_us  # C16
    uow.store.delete_state(tenant_id)
    entries: dict[tuple[int, str, str], list[Entry]] = {}
    erased = {r.address_key for r in uow.privacy.erasures(tenant_id)} if key_of else set()
    for row in uow.store.chain_rows(tenant_id):
        address = row.address
        if erased and key_of is not None and key_of(tenant_id, address) in erased:
            address = key_of(tenant_id, address)
        key = (tenant_id, row.channel, address)
        insert_entry(entries.setdefault(key, []), row.entry())
    uow.store.save_state(
        {key: encode(compact(items, revoke_all_us)) for key, items in entries.items()}
    )
    # The report counters follow the projection (C23): recomputed the same way.
    rollups.rebuild(uow.store, uow.rollups, tenant_id, address_of=key_of, erased=erased)
    return len(entries)
