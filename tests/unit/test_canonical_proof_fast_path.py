"""The flat-proof fast path of ``canonical_proof`` gives byte-identical text to the
general path (``json.dumps`` with the canonical settings), and refuses the same."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentline.domain.errors import InvalidProof
from consentline.domain.ledger import MAX_PROOF_ITEMS, canonical_proof


def reference(proof: dict[str, Any]) -> str:
    return json.dumps(
        proof, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


scalars = st.one_of(
    st.text(),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(st.dictionaries(st.text(), scalars, max_size=30))
def test_flat_proofs_match_the_general_encoding(proof: dict[str, Any]) -> None:
    try:
        expected = reference(proof)
        expected.encode()
    except UnicodeEncodeError:
        with pytest.raises(InvalidProof):
            canonical_proof(proof)
        return
    if len(expected.encode()) > 16_384:
        with pytest.raises(InvalidProof):
            canonical_proof(proof)
        return
    assert canonical_proof(proof) == expected


@pytest.mark.parametrize(
    "proof",
    [
        {},
        {"b": "2", "a": "1"},
        {"consent_text": "Oui, envoyez-moi des offres: « promo » ✓ 🎉", "ip": "198.51.0.1"},
        {"quote": 'a "b" \\ c\n\t\x00\x1f', "url": "https://x.example/?a=1&b=</script>"},
        {"n": 1, "f": 1.5, "t": True, "z": None, "big": 10**30},
        {"ä": "1", "a": "2", "Z": "3", "\u2028": "sep"},
    ],
)
def test_examples_match(proof: dict[str, Any]) -> None:
    assert canonical_proof(proof) == reference(proof)


@pytest.mark.parametrize(
    "proof",
    [
        {"x": math.nan},
        {"x": math.inf},
        {"x": "\ud800"},
        {"x": "y" * 20_000},
        {str(i): "v" for i in range(MAX_PROOF_ITEMS + 1)},
        {1: "int key"},
        {"x": object()},
    ],
)
def test_the_same_refusals(proof: dict[Any, Any]) -> None:
    with pytest.raises(InvalidProof):
        canonical_proof(proof)


def test_nested_proofs_take_the_general_path() -> None:
    proof = {"b": {"y": [1, 2], "x": "é"}, "a": "1"}
    assert canonical_proof(proof) == reference(proof)
