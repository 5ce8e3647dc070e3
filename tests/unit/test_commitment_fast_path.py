"""The sealing shortcuts of the chain commitment (C21, C22) give the same text and
digests as the general path, for any proof: a string value's encoding, the pairs'
encoding, and a proof committed from the object it was made from instead of from
its parsed text."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from consentline.domain import privacy
from consentline.domain.ledger import StoredEvent, canonical_proof
from consentline.services.recording import request_fingerprint

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
proofs = st.dictionaries(texts, texts, max_size=8)


def _general_commitment(salt: str, proof: str, erased: dict[str, Any] | None = None) -> str:
    """proof_commitment as it was before the shortcuts: json.dumps everywhere."""
    value = json.loads(proof)
    pairs = {
        key: (
            privacy._sha(
                "proof",
                key,
                json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
            )
            if key in privacy.NON_PERSONAL_PROOF_KEYS
            else privacy._sha(
                "proof",
                salt,
                key,
                json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
            )
        )
        for key, item in value.items()
    }
    for key, digest in (erased or {}).items():
        pairs[key] = (
            privacy._sha("conflict", key, str(digest), pairs[key]) if key in pairs else digest
        )
    return privacy._sha("proof-v2", json.dumps(sorted(pairs.items()), separators=(",", ":")))


@settings(max_examples=200, deadline=None)
@given(st.one_of(texts, st.integers(), st.booleans(), st.none(), st.lists(texts, max_size=3)))
def test_a_value_is_encoded_as_json_dumps_encodes_it(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert privacy._value_text(value) == expected


@settings(max_examples=200, deadline=None)
@given(proofs, st.dictionaries(texts, texts | st.integers(), max_size=3))
def test_the_commitment_is_the_general_one(proof: dict[str, str], erased: dict[str, Any]) -> None:
    salt = privacy.new_salt()
    text = canonical_proof(proof)
    expected = _general_commitment(salt, text, erased)
    assert privacy.proof_commitment(salt, text, erased) == expected
    assert privacy.proof_commitment(salt, text, parsed=proof) == _general_commitment(salt, text)


@settings(max_examples=100, deadline=None)
@given(proofs, st.one_of(st.none(), texts.filter(bool)))
def test_an_event_sealed_from_its_proof_object_has_its_stored_payload(
    proof: dict[str, str], key: str | None
) -> None:
    event = StoredEvent(
        id=0,
        tenant_id=3,
        seq=1,
        address="+14155550123",
        channel="sms",
        action="opt_in",
        scope="a:1",
        purpose=None,
        topic=None,
        occurred_us=1,
        recorded_us=2,
        source="import",
        proof=canonical_proof(proof),
        idempotency_key=key,
        prev_hash="0" * 64,
        hash="",
    )
    assert event.sealing_payload(proof) == event.payload()
    assert event.sealing_payload(None) == event.payload()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), texts), min_size=8, max_size=8),
    st.one_of(st.none(), st.integers()),
)
def test_a_request_fingerprint_is_the_digest_of_its_json(
    texts_: list[str | None], occurred_us: int | None
) -> None:
    expected = hashlib.sha256(json.dumps([*texts_, occurred_us]).encode()).hexdigest()
    assert request_fingerprint(texts_, occurred_us) == expected
