"""Consent events, the fold that turns them into a state, and the hash chain.

Consent changes only by appending an event (C21). The *state* of an address for
one send is the fold of the events that cover it (docs/model.md, "The decision" 2–3):

* ``opt_in``  → opted in; clears an opt-out.
* ``opt_out`` → opted out; the state before it is remembered but masked.
* ``resume``  → (START/UNSTOP) clears the opt-out: back to what it masked.
* ``lapse``   → forgets an opt-in or a pending request; never clears an opt-out.
* ``pending`` → a double opt-in is awaiting confirmation (C24); it does not
  displace an existing opt-in and does not clear an opt-out.

The current-state projection keeps, per (tenant, channel, address), the
*entries* an address needs for any future fold, in fold order, as three short
strings (see :func:`encode`). Entries that can no longer change any fold are
compacted away (:func:`compact`), so a check is one indexed row, not a scan of
history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, NamedTuple

from consentline.domain.errors import InvalidAction, InvalidProof, InvalidTime
from consentline.domain.privacy import PAYLOAD_VERSION, committed_fields, new_salt, parse_erased

Action = Literal["opt_in", "opt_out", "resume", "lapse", "pending"]
ACTIONS: Final = ("opt_in", "opt_out", "resume", "lapse", "pending")
ACTION_CODES: Final[dict[str, str]] = {
    "opt_in": "i",
    "opt_out": "o",
    "resume": "r",
    "lapse": "l",
    "pending": "p",
}
CODE_ACTIONS: Final[dict[str, Action]] = {
    "i": "opt_in",
    "o": "opt_out",
    "r": "resume",
    "l": "lapse",
    "p": "pending",
}

# Fold states.
NONE: Final = "none"
IN: Final = "in"
OUT: Final = "out"
PENDING: Final = "pending"

GENESIS: Final = "0" * 64

# Bounds of a proof on write. Proofs are evidence (a form URL, an IP, the consent
# text version), not documents: these leave ample room for that while keeping every
# stored proof readable and serialisable by every edge (JSON encoders recurse, and
# some refuse past ~250 levels, which a 16 KB proof could otherwise reach).
MAX_PROOF_BYTES: Final = 16_384  # canonical UTF-8 text
MAX_PROOF_DEPTH: Final = 16  # nested objects/arrays; {"a": 1} is depth 1
MAX_PROOF_ITEMS: Final = 1_000  # object members + array items, all levels together
# On read, a stored proof nested deeper than this (only possible for rows written
# before the bounds above existed) is replaced by a marker: see load_proof.
MAX_STORED_PROOF_DEPTH: Final = 64


def check_action(action: str) -> Action:
    if action in ACTION_CODES:
        return action  # type: ignore[return-value]
    raise InvalidAction(
        f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}", action=str(action)
    )


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# The instants a ledger accepts: datetime's own range less a day at each end, so
# that every one can be turned back into a datetime and shown in any time zone (an
# offset is under 24 h) without overflowing.
EARLIEST: Final = datetime(1, 1, 2, tzinfo=UTC)
LATEST: Final = datetime(9999, 12, 30, 23, 59, 59, 999_999, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """UTC microseconds since the epoch; naive datetimes are refused.

    So are instants outside :data:`EARLIEST` .. :data:`LATEST` (a day inside the
    ends of ``datetime``'s range): ``0001-01-01T00:00:00+01:00`` is a valid ISO
    time, but no datetime holds it in UTC.
    """
    if not isinstance(moment, datetime):
        raise InvalidTime(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTime("times must be timezone-aware (e.g. datetime.now(UTC))")
    if not EARLIEST <= moment <= LATEST:  # aware comparison: exact, never overflows
        raise InvalidTime(
            f"{moment.isoformat()} is out of range: give a time between 0001-01-02 and"
            " 9999-12-30 (UTC)",
            time=moment.isoformat(),
        )
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int) -> datetime:
    """The aware UTC datetime of :func:`to_us` microseconds (any platform, any sign)."""
    return _EPOCH + timedelta(microseconds=value)


# -- proof -------------------------------------------------------------------------
def _measure(value: object, limit_depth: int, limit_items: int) -> tuple[int, int]:
    """(depth, items) of a JSON-like value, walked without recursion.

    Stops as soon as either limit is passed (so a cyclic or huge structure costs
    no more than the limits allow) and reports the count reached by then.
    """
    depth = items = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, Mapping):
            children: Iterable[object] = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        depth = max(depth, level)
        items += len(node)
        if depth > limit_depth or items > limit_items:
            break
        stack.extend((child, level + 1) for child in children)
    return depth, items


def canonical_proof(proof: Mapping[str, Any] | None) -> str:
    """Proof as canonical JSON text: the exact bytes that are hashed and stored.

    Refused with :class:`InvalidProof`: anything but a JSON object with string keys,
    non-JSON values (NaN, objects), text that is not valid Unicode (a lone
    surrogate such as ``"\\ud800"``), and proofs past the bounds
    :data:`MAX_PROOF_DEPTH`, :data:`MAX_PROOF_ITEMS` and :data:`MAX_PROOF_BYTES`.
    """
    if proof is None:
        return "{}"
    if type(proof) is dict and len(proof) <= MAX_PROOF_ITEMS and _flat(proof):
        # A flat object of scalars (what imports and most callers send): depth 1 and
        # ``len`` items, so the walk is skipped; the same encoder settings as below,
        # so the text is byte-identical to the general path's.
        try:
            text = _CANONICAL.encode(proof)
        except ValueError as exc:  # NaN or infinity
            raise InvalidProof(f"proof is not JSON-serialisable: {exc}", field="proof") from None
        return _checked_size(text)
    if not isinstance(proof, Mapping) or not all(isinstance(k, str) for k in proof):
        raise InvalidProof("proof must be a JSON object with string keys", field="proof")
    depth, items = _measure(proof, MAX_PROOF_DEPTH, MAX_PROOF_ITEMS)
    if depth > MAX_PROOF_DEPTH:
        raise InvalidProof(
            f"proof is nested deeper than {MAX_PROOF_DEPTH} levels",
            field="proof",
            limit=MAX_PROOF_DEPTH,
        )
    if items > MAX_PROOF_ITEMS:
        raise InvalidProof(
            f"proof holds more than {MAX_PROOF_ITEMS} keys and items",
            field="proof",
            limit=MAX_PROOF_ITEMS,
        )
    try:
        text = json.dumps(
            proof, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise InvalidProof(f"proof is not JSON-serialisable: {exc}", field="proof") from None
    return _checked_size(text)


_SCALARS: Final = frozenset({str, int, bool, float, type(None)})
# What ``json.dumps(proof, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
# allow_nan=False)`` builds on each call, built once.
_CANONICAL: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def _flat(proof: dict[Any, Any]) -> bool:
    """Whether every key is a ``str`` and every value a JSON scalar (exact types)."""
    scalars = _SCALARS
    for key, value in proof.items():
        if type(key) is not str or type(value) not in scalars:
            return False
    return True


def _checked_size(text: str) -> str:
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        # A lone surrogate: not storable as UTF-8, and no JSON answer could carry it.
        raise InvalidProof(
            "proof holds text that is not valid Unicode (a lone surrogate)", field="proof"
        ) from None
    if size > MAX_PROOF_BYTES:
        raise InvalidProof(
            f"proof is larger than {MAX_PROOF_BYTES} bytes", field="proof", limit=MAX_PROOF_BYTES
        )
    return text


def load_proof(text: str) -> dict[str, Any]:
    """A stored proof text as a mapping that every edge can serialise again.

    Everything :func:`canonical_proof` accepts comes back as it was. A row that
    somehow holds something else (written before the bounds existed, or edited in
    the database) must not make history or the change feed fail for good, so it
    comes back as ``{"unreadable_proof": {"reason", "sha256", "bytes"}}``: the
    event is still listed, and the stored text, untouched, is identified by its
    hash (``consentline verify`` still checks it against the chain).
    """
    try:
        value = json.loads(text)
    except RecursionError:
        return _unreadable(text, f"nested deeper than {MAX_STORED_PROOF_DEPTH} levels")
    except (TypeError, ValueError):
        return _unreadable(text, "not valid JSON")
    if not isinstance(value, dict):
        return _unreadable(text, "not a JSON object")
    # Fast paths: the bracket count bounds the depth, and only a \uD800-\uDFFF
    # escape can decode to a lone surrogate (stored text itself is valid UTF-8).
    if text.count("{") + text.count("[") > MAX_STORED_PROOF_DEPTH:
        depth, _ = _measure(value, MAX_STORED_PROOF_DEPTH, len(text))
        if depth > MAX_STORED_PROOF_DEPTH:
            return _unreadable(text, f"nested deeper than {MAX_STORED_PROOF_DEPTH} levels")
    if "\\ud" in text or "\\uD" in text:
        try:
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            return _unreadable(text, "holds a lone surrogate")
    return value


def _unreadable(text: str, reason: str) -> dict[str, Any]:
    raw = text.encode("utf-8", "surrogatepass")
    return {
        "unreadable_proof": {
            "reason": reason,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "bytes": len(raw),
        }
    }


@dataclass(frozen=True, slots=True)
class Event:
    """One ledger entry, as stored (proof included, hash-chained per tenant).

    What a consent record must carry (C20): the address and channel, the sender
    scope, purpose and topic, the UTC time, how it was captured (``source``), and
    in ``proof`` the evidence: legal basis, jurisdiction, disclosure text and its
    version, collector, a pointer to the form or message.
    """

    id: int
    tenant_id: int
    seq: int
    address: str
    channel: str
    action: Action
    scope: str  # "L<line id>" or "A<account id>"
    purpose: str | None
    topic: str | None
    occurred_at: datetime
    recorded_at: datetime
    source: str
    proof: Mapping[str, Any]
    idempotency_key: str | None
    prev_hash: str
    hash: str
    # What the chain commits personal fields through (docs/privacy.md, C21/C22): the
    # event's salt ("" once erased), the digests of what an erasure removed, and the
    # hash the event had before the chain's re-anchoring (None for events since).
    salt: str = ""
    erased: Mapping[str, Any] | None = None
    v1_hash: str | None = None

    def as_dict(self, where: str | None = None) -> dict[str, Any]:
        """JSON-ready, proof and chain links included; ``where`` describes the scope."""
        out: dict[str, Any] = {
            "id": self.id,
            "seq": self.seq,
            "address": self.address,
            "channel": self.channel,
            "action": self.action,
            "scope": self.scope,
        }
        if where is not None:
            out["where"] = where
        out.update(
            purpose=self.purpose,
            topic=self.topic,
            occurred_at=self.occurred_at.astimezone(UTC).isoformat(),
            recorded_at=self.recorded_at.astimezone(UTC).isoformat(),
            source=self.source,
            proof=dict(self.proof),
            idempotency_key=self.idempotency_key,
            prev_hash=self.prev_hash,
            hash=self.hash,
            salt=self.salt,
            erased=None if self.erased is None else dict(self.erased),
            v1_hash=self.v1_hash,
        )
        return out

    def entry(self) -> Entry:
        return Entry(
            self.id,
            ACTION_CODES[self.action],
            self.scope,
            self.purpose or "",
            self.topic or "",
            to_us(self.occurred_at),
            self.source,
        )


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the ledger stores it: times in microseconds, the proof as its
    canonical text (what the chain hash covers), the action as written.

    The one list of an event's fields: the ``events`` table's columns, the chain
    payload (:data:`CHAINED`), the repositories' row mapping and :class:`Event` all
    follow it, and a test fails if one of them drifts.
    """

    id: int
    tenant_id: int
    seq: int
    address: str
    channel: str
    action: str
    scope: str
    purpose: str | None
    topic: str | None
    occurred_us: int
    recorded_us: int
    source: str
    proof: str
    idempotency_key: str | None
    prev_hash: str
    hash: str
    salt: str = field(default_factory=new_salt)  # random per event; "" once erased
    erased: str | None = None  # JSON: digests of the fields an erasure removed
    v1_hash: str | None = None  # the hash under the v1 chain (re-anchored events only)

    def payload(self) -> str:
        """The text the chain hash covers (recomputed from the stored fields)."""
        return chain_payload(**{name: getattr(self, name) for name in CHAINED})

    def sealing_payload(self, proof_value: Mapping[str, Any] | None) -> str:
        """:meth:`payload` of a new event whose proof text the writer made itself
        from ``proof_value`` (then not parsed back), the same text either way."""
        fields = {name: getattr(self, name) for name in CHAINED}
        return chain_payload(**fields, proof_value=proof_value)

    def entry(self) -> Entry:
        return Entry(
            self.id,
            ACTION_CODES.get(self.action, "?"),
            self.scope,
            self.purpose or "",
            self.topic or "",
            self.occurred_us,
            self.source,
        )

    def event(self, event_id: int | None = None) -> Event:
        """The library's :class:`Event`; ``event_id`` for a record made before its
        insert assigned one."""
        return Event(
            id=self.id if event_id is None else event_id,
            tenant_id=self.tenant_id,
            seq=self.seq,
            address=self.address,
            channel=self.channel,
            action=check_action(self.action),
            scope=self.scope,
            purpose=self.purpose,
            topic=self.topic,
            occurred_at=from_us(self.occurred_us),
            recorded_at=from_us(self.recorded_us),
            source=self.source,
            proof=load_proof(self.proof),
            idempotency_key=self.idempotency_key,
            prev_hash=self.prev_hash,
            hash=self.hash,
            salt=self.salt,
            erased=parse_erased(self.erased),
            v1_hash=self.v1_hash,
        )


EVENT_FIELDS: Final = tuple(f.name for f in fields(StoredEvent))
# What the chain does not cover: the row id, the position, and the links themselves.
UNCHAINED: Final = frozenset({"id", "seq", "prev_hash", "hash"})
CHAINED: Final = tuple(name for name in EVENT_FIELDS if name not in UNCHAINED)


class EventRef(NamedTuple):
    """The event a decision cites: what, where (scope), when and how (source)."""

    id: int
    action: Action
    scope: str
    purpose: str | None
    topic: str | None
    occurred_at: datetime
    source: str


class Entry(NamedTuple):
    """One event as the projection keeps it (no proof, no address)."""

    id: int
    code: str  # action code: i o r l p
    scope: str
    purpose: str  # "" = all purposes
    topic: str  # "" = no topic
    occurred_us: int
    source: str

    def ref(self) -> EventRef:
        return EventRef(
            self.id,
            CODE_ACTIONS[self.code],
            self.scope,
            self.purpose or None,
            self.topic or None,
            from_us(self.occurred_us),
            self.source,
        )


# -- chain -----------------------------------------------------------------------
def chain_payload(
    *,
    tenant_id: int,
    address: str,
    channel: str,
    action: str,
    scope: str,
    purpose: str | None,
    topic: str | None,
    occurred_us: int,
    recorded_us: int,
    source: str,
    proof: str,
    idempotency_key: str | None,
    salt: str,
    erased: str | None,
    v1_hash: str | None,
    proof_value: Mapping[str, Any] | None = None,
) -> str:
    """The canonical text of an event that the chain hash covers (C21), version 2.

    Its parameters are :data:`CHAINED`, in that order (a test holds them together),
    then ``proof_value``: the object ``proof`` was made from, when the writer made it
    canonical itself (then not parsed back; the text is the same either way). CHAINED is
    every stored field but the id, the sequence number and the links themselves.
    Personal fields (the address, the idempotency key, the proof's personal keys)
    are covered through salted digests (:mod:`consentline.domain.privacy`), so that
    an erasure can remove them and keep their digests: the hash still holds, and
    every field that remains is still checked (C22).
    """
    committed = committed_fields(
        salt=salt,
        address=address,
        proof=proof,
        idempotency_key=idempotency_key,
        erased=erased,
        proof_value=proof_value,
    )
    return _payload_text(
        committed, tenant_id, channel, action, scope, purpose, topic, occurred_us, recorded_us,
        source, v1_hash,
    )  # fmt: skip


def _payload_text(
    committed: tuple[str, str, str | None, Any],
    tenant_id: int,
    channel: str,
    action: str,
    scope: str,
    purpose: str | None,
    topic: str | None,
    occurred_us: int,
    recorded_us: int,
    source: str,
    v1_hash: str | None,
) -> str:
    address_d, proof_d, key_d, marker = committed
    body: list[Any] = [
        PAYLOAD_VERSION,
        tenant_id,
        address_d,
        channel,
        action,
        scope,
        purpose,
        topic,
        occurred_us,
        recorded_us,
        source,
        proof_d,
        key_d,
        v1_hash,
    ]
    if marker is not None:  # an erased event whose remaining fields were tampered with
        body.append(marker)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def chain_payload_v1(
    *,
    tenant_id: int,
    address: str,
    channel: str,
    action: str,
    scope: str,
    purpose: str | None,
    topic: str | None,
    occurred_us: int,
    recorded_us: int,
    source: str,
    proof: str,
    idempotency_key: str | None,
) -> str:
    """The payload of the first chain (plain address and proof), before migration 0010.

    Kept to check the ``v1_hash`` of re-anchored events that were not erased since.
    """
    return json.dumps(
        [
            tenant_id,
            address,
            channel,
            action,
            scope,
            purpose,
            topic,
            occurred_us,
            recorded_us,
            source,
            proof,
            idempotency_key,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )


V1_FIELDS: Final = tuple(CHAINED[:12])


def payload_v1(event: StoredEvent) -> str:
    return chain_payload_v1(**{name: getattr(event, name) for name in V1_FIELDS})


def verify_link(prev_hash: str, event: StoredEvent) -> bool:
    """Does ``event`` hash to its stated ``hash`` after ``prev_hash``? Pure: no
    database, so an exported event can be checked from its exported fields alone.

    Erased events verify too: their removed fields are covered by the digests kept
    in ``erased``. (A whole chain is verified by also checking that each event's
    ``prev_hash`` is the previous event's ``hash``.)
    """
    return event.prev_hash == prev_hash and chain_hash(prev_hash, event.payload()) == event.hash


def chain_hash(prev_hash: str, payload: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


# -- projection encoding -----------------------------------------------------------
class Projection(NamedTuple):
    """The stored form of an address's live entries: three parallel strings."""

    shape: str  # "o,L7,,,keyword;i,A1,marketing,,web_form"
    ids: str  # "12;15"
    times: str  # "1732252800000000;1732339200000000"
    max_us: int


def encode(entries: Sequence[Entry]) -> Projection:
    shape = ";".join(f"{e.code},{e.scope},{e.purpose},{e.topic},{e.source}" for e in entries)
    ids = ";".join(str(e.id) for e in entries)
    times = ";".join(str(e.occurred_us) for e in entries)
    return Projection(shape, ids, times, max((e.occurred_us for e in entries), default=0))


def decode(shape: str, ids: str, times: str) -> list[Entry]:
    if not shape:
        return []
    out: list[Entry] = []
    for part, ident, moment in zip(shape.split(";"), ids.split(";"), times.split(";"), strict=True):
        code, scope, purpose, topic, source = part.split(",")
        out.append(Entry(int(ident), code, scope, purpose, topic, int(moment), source))
    return out


def merge_rows(first: Sequence[Any], second: Sequence[Any]) -> tuple[str, str, str, int]:
    """Two projection rows ``(address, shape, ids, times, max_us)`` of one address as
    one (shape, ids, times, max_us), entries in fold order (an erased address whose
    rows were found under both keys: never written so, but read safely)."""
    entries = decode(first[1], first[2], first[3])
    for entry in decode(second[1], second[2], second[3]):
        insert_entry(entries, entry)
    merged = encode(entries)
    return merged.shape, merged.ids, merged.times, merged.max_us


def parse_shape(shape: str) -> tuple[tuple[str, ...], ...]:
    """Shape string -> tuples of (code, scope, purpose, topic, source), for the fold."""
    if not shape:
        return ()
    return tuple(tuple(part.split(",")) for part in shape.split(";"))


def entry_at(shape: str, ids: str, times: str, index: int) -> Entry:
    code, scope, purpose, topic, source = shape.split(";")[index].split(",")
    return Entry(
        int(ids.split(";")[index]),
        code,
        scope,
        purpose,
        topic,
        int(times.split(";")[index]),
        source,
    )


def insert_entry(entries: list[Entry], entry: Entry) -> None:
    """Insert in fold order: ``occurred_at``, then ledger order (id)."""
    key = (entry.occurred_us, entry.id)
    position = len(entries)
    while position > 0 and (entries[position - 1].occurred_us, entries[position - 1].id) > key:
        position -= 1
    entries.insert(position, entry)


def _dominates(later: Entry, earlier: Entry, revoke_all_us: int | None = None) -> bool:
    """True when ``later`` makes ``earlier`` irrelevant to every possible fold.

    Only an opt-in resets the fold whatever came before, so ``earlier`` can go
    when every send it covers is also covered by ``later``: the same scope, a
    purpose at least as wide, and the same topic (an untopical opt-out covers
    topic sends that an untopical opt-in does not, so it stays). A scoped opt-out
    from the revoke-all date on (C16) covers every purpose and topic, which no
    single opt-in does: it always stays.
    """
    if later.code != "i" or later.scope != earlier.scope:
        return False
    if (
        revoke_all_us is not None
        and earlier.code == "o"
        and earlier.occurred_us >= revoke_all_us
        and (earlier.purpose or earlier.topic)
    ):
        return False
    if later.purpose and later.purpose != earlier.purpose:
        return False
    if earlier.code in ("i", "p"):
        return earlier.topic == later.topic
    return bool(earlier.topic) and earlier.topic == later.topic


def compact(entries: Sequence[Entry], revoke_all_us: int | None = None) -> list[Entry]:
    """Drop the entries no future fold can depend on (they stay in the ledger).

    ``revoke_all_us`` is the tenant's revoke-all instant (C16; None: off), which
    decides which scoped opt-outs cover everything and so must stay.
    """
    kept: list[Entry] = []
    opt_ins: list[Entry] = []
    for entry in reversed(entries):
        if any(_dominates(later, entry, revoke_all_us) for later in opt_ins):
            continue
        kept.append(entry)
        if entry.code == "i":
            opt_ins.append(entry)
    kept.reverse()
    return kept


# -- fold ------------------------------------------------------------------------
def scoped_opt_outs(items: Iterable[Sequence[str]]) -> tuple[int, ...]:
    """Indexes of the opt-outs that name a purpose or a topic ("STOP MARKETING")."""
    return tuple(i for i, item in enumerate(items) if item[0] == "o" and (item[2] or item[3]))


def revoking_all(
    scoped: Iterable[int], times: Sequence[int], from_us: int | None
) -> frozenset[int]:
    """Of the ``scoped`` opt-out indexes, those that revoke everything at their scope.

    The revoke-all rule (C16): from ``from_us`` on (the tenant's ``revoke_all_from``;
    None: the rule is off), a revocation that names a purpose or a topic covers every
    purpose and topic at its scope. ``times`` are the entries' ``occurred_us``, so an
    event keeps the scope it had when it happened: one before the date stays scoped.
    """
    if from_us is None:
        return frozenset()
    return frozenset(i for i in scoped if times[i] >= from_us)


def widened_entries(entries: Sequence[Entry], from_us: int | None) -> frozenset[int]:
    """:func:`revoking_all` for a list of entries."""
    if from_us is None:
        return frozenset()
    return frozenset(
        i
        for i, e in enumerate(entries)
        if e.code == "o" and (e.purpose or e.topic) and e.occurred_us >= from_us
    )


def fold(
    items: Iterable[Sequence[str]],
    scopes: frozenset[str],
    purpose: str,
    topic: str,
    widened: Container[int] = (),
) -> tuple[str, int]:
    """Fold the covering entries; returns (state, index of the deciding entry or -1).

    ``items`` are (code, scope, purpose, topic, ...) in fold order; ``purpose``
    and ``topic`` describe the send ("" for no topic). Covering (docs/model.md, "The decision" 2):
    scope in ``scopes``; purpose empty or equal; for opt-outs, resumes and lapses
    topic empty or equal; for opt-ins and pending requests topic equal.

    ``widened`` holds the indexes of opt-outs that revoke every purpose and topic at
    their scope (C16's revoke-all rule, see :func:`revoking_all`): they cover the
    send whatever purpose and topic they name. The caller leaves it empty for a
    purpose whose model is ``disabled`` (the rule never reaches those).
    """
    state, index = NONE, -1
    prior_state, prior_index = NONE, -1
    for i, item in enumerate(items):
        code, scope, item_purpose, item_topic = item[0], item[1], item[2], item[3]
        if scope not in scopes:
            continue
        if widened and code == "o" and i in widened:
            pass  # C16: from the revoke-all date a scoped revocation covers everything
        elif item_purpose and item_purpose != purpose:
            continue
        elif code == "i" or code == "p":
            if item_topic != topic:
                continue
        elif item_topic and item_topic != topic:
            continue
        if code == "i":
            state, index = IN, i
        elif code == "o":
            if state != OUT:
                prior_state, prior_index = state, index
            state, index = OUT, i
        elif code == "r":
            if state == OUT:
                state, index = prior_state, prior_index
        elif code == "l":
            # A lapse forgets consent; it never clears an opt-out.
            if state == OUT:
                if prior_state != NONE:
                    prior_state, prior_index = NONE, i
            elif state != NONE:
                state, index = NONE, i
        elif state == OUT:  # pending while opted out: remembered under the opt-out
            if prior_state != IN:
                prior_state, prior_index = PENDING, i
        elif state != IN:
            state, index = PENDING, i
    return state, index
