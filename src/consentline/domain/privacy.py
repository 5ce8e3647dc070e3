"""Commitments to personal fields, so that erasing them keeps the chain verifiable.

The hash chain (C21) must keep proving that no event was changed, dropped or
reordered even after a data subject's personal data has been erased (C22). So the
chain never hashes a personal field in plain: it hashes a *salted digest* of it.

* Each event carries a random ``salt`` (128 bits, hex).
* The address is committed as ``sha256("address" ‖ salt ‖ address)``; the
  idempotency key (which a client may have built from the number) likewise.
* The proof is committed key by key: a key on :data:`NON_PERSONAL_PROOF_KEYS` is
  digested *without* the salt (so it stays verifiable on its own after erasure),
  every other key *with* it. The proof's commitment is the SHA-256 of the sorted
  ``[key, digest]`` pairs.

Erasing an event (:func:`erase_event`) moves the digests of what it removes into
the event's ``erased`` JSON and deletes the salt: every remaining field is still
checked by recomputing the chain hash, the removed ones are still covered by their
kept digests, and since the salt is gone no digest can be brute-forced back into
a phone number or an IP address.

Everything here is pure (no I/O) so that an exported event can be verified from
its exported fields alone (:func:`consentline.domain.ledger.verify_link`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any, Final

from consentline.domain.errors import InvalidInput

# Proof keys that never identify a person: kept at erasure, digested without salt.
# Everything else in a proof (IP, user agent, names, email, the message text, form
# field values, the legacy field's raw value ...) is removed at erasure (C22).
NON_PERSONAL_PROOF_KEYS: Final = frozenset(
    {
        "legal_basis",
        "jurisdiction",
        "consent_text_version",
        "consent_text_sha256",
        "method",
        "collector",
        "language",
        "double_opt_in",
        "confirms_event",
        "decided_by",
        "classifier",
        "keyword",
        "erasure",
    }
)
ERASED_PREFIX: Final = "erased:"  # an erased address: "erased:" + HMAC-SHA256 hex
SALT_BYTES: Final = 16
PAYLOAD_VERSION: Final = "v2"
MIN_ERASURE_KEY: Final = 32


def new_salt() -> str:
    return secrets.token_hex(SALT_BYTES)


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def address_digest(salt: str, address: str) -> str:
    return _sha("address", salt, address)


def key_digest(salt: str, key: str | None) -> str | None:
    return None if key is None else _sha("idempotency_key", salt, key)


def _value_text(value: Any) -> str:
    if type(value) is str:
        # What json.dumps(ensure_ascii=False) returns for a str, without its
        # per-call encoder (most proof values are strings; this runs per key).
        return str(encode_basestring(value))
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def proof_key_digest(salt: str, key: str, value: Any) -> str:
    """One top-level proof key's digest: salted unless the key is non-personal."""
    if key in NON_PERSONAL_PROOF_KEYS:
        return _sha("proof", key, _value_text(value))
    return _sha("proof", salt, key, _value_text(value))


def _parse_object(text: str) -> dict[str, Any] | None:
    """``text`` as a dict when it is exactly a canonical JSON object, else None."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    try:
        if _value_text(value) != text:
            return None
    except (ValueError, RecursionError):
        return None
    return value


def proof_commitment(
    salt: str,
    proof: str,
    erased: Mapping[str, str] | None = None,
    *,
    parsed: Mapping[str, Any] | None = None,
) -> str:
    """The digest the chain covers for a proof text (and its erased keys' digests).

    A proof that is not canonical JSON (only rows edited by hand, or written before
    the bounds) is committed as a whole, salted. ``parsed`` is the object ``proof``
    was made from, when the caller made it canonical itself (a write sealing its
    own events): the text is then not parsed and re-encoded to prove it canonical.
    """
    value = _parse_object(proof) if parsed is None else parsed
    if value is None:
        return _sha("proof-raw", salt, proof)
    pairs = {key: proof_key_digest(salt, key, item) for key, item in value.items()}
    for key, digest in (erased or {}).items():
        if key in pairs:  # a key both kept and erased: never written so
            # str(): a tampered ``erased`` may hold a non-string; it must fail verify, not raise
            pairs[key] = _sha("conflict", key, str(digest), pairs[key])
        else:
            pairs[key] = digest
    items = sorted(pairs.items())
    if all(type(digest) is str for _, digest in items):
        # What json.dumps(items, separators=(",", ":")) returns for str pairs, built
        # directly (the same bytes; json.dumps costs more than the digests).
        listed = ",".join(
            f"[{encode_basestring_ascii(key)},{encode_basestring_ascii(digest)}]"
            for key, digest in items
        )
        return _sha("proof-v2", f"[{listed}]")
    return _sha("proof-v2", json.dumps(items, separators=(",", ":")))


def parse_erased(erased: str | None) -> dict[str, Any] | None:
    """The ``erased`` column as a mapping; a malformed one as ``{"invalid": text}``
    (it then commits to something no honest erasure produces, so verify fails)."""
    if erased is None:
        return None
    try:
        value = json.loads(erased)
    except ValueError:
        return {"invalid": erased}
    return value if isinstance(value, dict) else {"invalid": erased}


def committed_fields(
    *,
    salt: str,
    address: str,
    proof: str,
    idempotency_key: str | None,
    erased: str | None,
    proof_value: Mapping[str, Any] | None = None,
) -> tuple[str, str, str | None, Any]:
    """(address digest, proof commitment, key digest, tamper marker) of an event,
    computed from its plain fields or, for an erased event, from its kept digests.
    ``proof_value`` as for :func:`proof_commitment` (``parsed``)."""
    done = parse_erased(erased)
    if done is None:
        return (
            address_digest(salt, address),
            proof_commitment(salt, proof, parsed=proof_value),
            key_digest(salt, idempotency_key),
            None,
        )
    if "invalid" in done:
        return ("", "", None, ["invalid", done["invalid"]])
    proof_digests = done.get("proof") or {}
    if not isinstance(proof_digests, dict):
        return ("", "", None, ["invalid", erased])
    # Fields still present on an erased event must be the non-personal ones only,
    # and the salt must be gone: anything else is reported as tampering.
    marker = None
    if salt or idempotency_key is not None or not address.startswith(ERASED_PREFIX):
        marker = ["not-erased", salt, address, idempotency_key]
    kept = _parse_object(proof)
    if kept is None or any(k not in NON_PERSONAL_PROOF_KEYS for k in kept):
        marker = ["not-erased-proof", proof]
    if done.get("raw_proof"):
        commitment = str(proof_digests.get("*", "")) if proof == "{}" else ""
    else:
        commitment = proof_commitment(salt, proof, proof_digests)
    return (
        str(done.get("address", "")),
        commitment,
        done.get("idempotency_key"),
        marker,
    )


# -- erasure ---------------------------------------------------------------------------
def check_erasure_key(key: bytes | str | None) -> bytes:
    """The installation's erasure key as bytes; refused when absent or short."""
    from consentline.domain.errors import ErasureKeyMissing

    if key is None or key == "" or key == b"":
        raise ErasureKeyMissing(
            "erasure needs an installation secret: set CONSENTLINE_ERASURE_KEY"
            " (or pass erasure_key= to connect)"
        )
    raw = key.encode() if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_ERASURE_KEY:
        raise ErasureKeyMissing(f"the erasure key must be at least {MIN_ERASURE_KEY} bytes long")
    return raw


def keyed_address(key: bytes, tenant_id: int, address: str) -> str:
    """The pseudonym that replaces an erased address (C22): an HMAC with a secret that
    is not in the database, so the digest cannot be reversed by guessing numbers."""
    mac = hmac.new(key, f"{tenant_id}\x1f{address}".encode(), hashlib.sha256).hexdigest()
    return ERASED_PREFIX + mac


def is_erased_address(address: str) -> bool:
    return address.startswith(ERASED_PREFIX)


def erase_event(
    *,
    salt: str,
    address: str,
    proof: str,
    idempotency_key: str | None,
    pseudonym: str,
    erasure_id: int,
) -> dict[str, Any]:
    """New values of an event's personal columns after erasure.

    Returns ``address``, ``proof``, ``idempotency_key``, ``salt`` and ``erased`` (the
    JSON text of the digests of what was removed, and the erasure record's id).
    """
    if not salt:
        raise InvalidInput("this event was already erased")
    value = _parse_object(proof)
    if value is None:
        removed = {"*": _sha("proof-raw", salt, proof)}  # a raw proof goes whole
        kept: dict[str, Any] = {}
        commitment_override = True
    else:
        kept = {k: v for k, v in value.items() if k in NON_PERSONAL_PROOF_KEYS}
        removed = {
            k: proof_key_digest(salt, k, v)
            for k, v in value.items()
            if k not in NON_PERSONAL_PROOF_KEYS
        }
        commitment_override = False
    erased: dict[str, Any] = {
        "address": address_digest(salt, address),
        "idempotency_key": key_digest(salt, idempotency_key),
        "proof": removed,
        "erasure": erasure_id,
    }
    if commitment_override:
        erased["raw_proof"] = True
    return {
        "address": pseudonym,
        "proof": _value_text(kept),
        "idempotency_key": None,
        "salt": "",
        "erased": _value_text(erased),
    }


def erasure_payload(
    *,
    tenant_id: int,
    n: int,
    address_key: str,
    reason: str,
    erased_us: int,
    event_seqs: str,
    counts: str,
    chain_seq: int,
    chain_head: str,
) -> str:
    """What an erasure record's hash covers: everything it stores but its links.

    ``chain_seq``/``chain_head`` anchor it to the ledger's head at the time, so an
    erasure record cannot be moved to another point of the tenant's history.
    """
    return json.dumps(
        [
            "erasure-v1",
            tenant_id,
            n,
            address_key,
            reason,
            erased_us,
            event_seqs,
            counts,
            chain_seq,
            chain_head,
        ],
        separators=(",", ":"),
    )
