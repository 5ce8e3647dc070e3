"""Proofs are bounded on write, and whatever is stored reads back and serialises.

A proof nested 253 levels deep used to be accepted and then break the number's
history and the tenant's whole change feed for good (JSON encoders give up past
~250 levels); a lone surrogate could not be stored at all. Both are now refused
with ``InvalidProof`` before anything is written, and a row that holds such a
proof anyway (written before the bounds) still reads back, as a marker.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import sqlalchemy as sa

import consentline
from consentline import Consentline
from consentline.domain import ledger
from consentline.domain.errors import InvalidProof
from consentline.domain.ledger import (
    MAX_PROOF_BYTES,
    MAX_PROOF_DEPTH,
    MAX_PROOF_ITEMS,
    canonical_proof,
    load_proof,
)
from tests.conftest import worked_setup
from tests.proofs import largest_allowed_proof, nested


def test_the_largest_allowed_proof_is_at_every_bound() -> None:
    proof = largest_allowed_proof()
    text = canonical_proof(proof)
    assert len(text.encode()) == MAX_PROOF_BYTES
    assert ledger._measure(proof, 100, 10_000) == (MAX_PROOF_DEPTH, MAX_PROOF_ITEMS)


def _record(cl: Consentline, proof: Any) -> consentline.Event:
    w = worked_setup(cl)
    return cl.record(w.x, "opt_in", account="a", purpose="marketing", proof=proof)


def test_the_largest_allowed_proof_reads_back_exactly(cl: Consentline) -> None:
    proof = largest_allowed_proof()
    event = _record(cl, proof)
    (stored,) = cl.history(event.address, account="a")
    assert stored.proof == proof == event.proof
    assert json.loads(json.dumps(stored.as_dict())) == event.as_dict()
    assert cl.verify().ok


@pytest.mark.parametrize(
    ("proof", "problem"),
    [
        (nested(MAX_PROOF_DEPTH + 1), "nested deeper than 16 levels"),
        (nested(253), "nested deeper than 16 levels"),
        (nested(5000), "nested deeper than 16 levels"),  # past the encoder's recursion
        ({"a": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}, "nested deeper than 16 levels"),
        ({f"k{n}": n for n in range(MAX_PROOF_ITEMS + 1)}, "more than 1000 keys and items"),
        ({"list": list(range(MAX_PROOF_ITEMS))}, "more than 1000 keys and items"),
        ({"blob": "x" * MAX_PROOF_BYTES}, f"larger than {MAX_PROOF_BYTES} bytes"),
        ({"text": "STOP\ud800"}, "lone surrogate"),
        ({"\udfff": "key"}, "lone surrogate"),
        ({"a": {"b": ["\ud83d"]}}, "lone surrogate"),
        ({"n": float("nan")}, "not JSON-serialisable"),
        ({"ip": object()}, "not JSON-serialisable"),
        ({1: "x"}, "string keys"),
        (["not", "an", "object"], "string keys"),
    ],
    ids=[
        "17 deep",
        "253 deep",
        "5000 deep",
        "deep array",
        "1001 keys",
        "1001 items",
        "16 KB",
        "surrogate value",
        "surrogate key",
        "nested surrogate",
        "nan",
        "object",
        "int key",
        "list",
    ],
)
def test_a_proof_past_the_bounds_is_refused_and_nothing_is_written(
    cl: Consentline, proof: Any, problem: str
) -> None:
    with pytest.raises(InvalidProof) as info:
        _record(cl, proof)
    assert problem in info.value.message
    body = info.value.to_dict()
    assert (body["code"], body["field"]) == ("invalid_proof", "proof")
    assert isinstance(info.value, consentline.InvalidInput)  # a 4xx at every edge
    assert cl.verify().events == 0


def test_a_cyclic_proof_is_refused_not_walked_forever(cl: Consentline) -> None:
    proof: dict[str, Any] = {}
    proof["self"] = proof
    with pytest.raises(InvalidProof):
        _record(cl, proof)


def test_a_lone_surrogate_in_an_idempotency_key_is_refused(cl: Consentline) -> None:
    w = worked_setup(cl)
    with pytest.raises(consentline.InvalidInput) as info:
        cl.record(w.x, "opt_in", account="a", purpose="marketing", idempotency_key="k\ud800")
    assert info.value.data["field"] == "idempotency_key"
    assert cl.verify().events == 0


# -- reading rows written before the bounds ---------------------------------------------
def _permissive(proof: Any) -> str:
    """canonical_proof as it was before the bounds (no depth or item limit)."""
    return json.dumps(proof, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_an_old_over_deep_proof_reads_back_as_a_marker_and_the_rest_is_intact(
    cl: Consentline, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = worked_setup(cl)
    with monkeypatch.context() as patched:
        patched.setattr("consentline.services.recording.canonical_proof", _permissive)
        old = cl.record(w.x, "opt_in", account="a", purpose="marketing", proof=nested(300))
    later = cl.record(w.x, "opt_out", via=w.L1, source="keyword", proof={"text": "STOP"})
    first, second = cl.history(w.x, account="a")
    text = _permissive(nested(300))
    assert first.id == old.id
    assert first.proof == {
        "unreadable_proof": {
            "reason": "nested deeper than 64 levels",
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "bytes": len(text.encode()),
        }
    }
    assert (second.id, second.proof) == (later.id, {"text": "STOP"})
    assert cl.verify().ok  # the stored text is untouched: the chain still checks
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "opted_out"


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('["an", "array"]', "not a JSON object"),
        ('{"a": "\\ud800"}', "holds a lone surrogate"),
        ('{"a": ["\\uDFFF"]}', "holds a lone surrogate"),
        ("[" * 3000 + "]" * 3000, "nested deeper than 64 levels"),
        (json.dumps(nested(65)), "nested deeper than 64 levels"),
    ],
)
def test_an_edited_proof_row_reads_back_as_a_marker(
    cl: Consentline, stored: str, reason: str
) -> None:
    event = _record(cl, {"form_url": "https://a.example/join"})
    with cl.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE events SET proof = :p WHERE id = :id"), {"p": stored, "id": event.id}
        )
    (found,) = cl.history(event.address, account="a")
    assert found.proof["unreadable_proof"]["reason"] == reason
    json.dumps(found.as_dict(), ensure_ascii=False).encode()  # serialisable
    assert [p.kind for p in cl.verify().problems] == ["modified"]


def test_load_proof_returns_every_acceptable_proof_unchanged() -> None:
    for proof in ({}, {"a": 1}, nested(MAX_PROOF_DEPTH), largest_allowed_proof()):
        assert load_proof(canonical_proof(proof)) == proof
    # deeper than the write bound but within the read bound: shown as stored
    assert load_proof(json.dumps(nested(64))) == nested(64)
