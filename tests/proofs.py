"""Proofs at and past the bounds of ``domain.ledger`` (shared by the suites)."""

from __future__ import annotations

from typing import Any

from consentline.domain.ledger import (
    MAX_PROOF_BYTES,
    MAX_PROOF_DEPTH,
    MAX_PROOF_ITEMS,
    canonical_proof,
)


def nested(depth: int, leaf: Any = "end") -> dict[str, Any]:
    """``{"d": {"d": ... leaf}}``: ``depth`` objects inside one another."""
    value: Any = leaf
    for _ in range(depth):
        value = {"d": value}
    assert isinstance(value, dict)
    return value


def largest_allowed_proof() -> dict[str, Any]:
    """A proof at every bound at once: deepest, most items, exactly the byte limit.

    It also carries text that is awkward on some database or encoder: accents, an
    emoji (4 UTF-8 bytes), a NUL and other control characters (stored escaped).
    """
    proof: dict[str, Any] = {"chain": nested(MAX_PROOF_DEPTH - 1)}  # depth 16: 16 members
    proof["text"] = "STOP\x00 \x1b\u00e9\U0001f600 \u200b"
    proof["list"] = list(range(10))  # 1 member + 10 items
    used = MAX_PROOF_DEPTH + 1 + 11 + 1  # chain, text, list, and "pad" below
    for n in range(MAX_PROOF_ITEMS - used):
        proof[f"k{n:03d}"] = n
    proof["pad"] = ""
    padding = MAX_PROOF_BYTES - len(canonical_proof(proof).encode())
    assert padding > 0
    proof["pad"] = "x" * padding
    return proof
