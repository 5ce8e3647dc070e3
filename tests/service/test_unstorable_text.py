"""Texts and ids no database can store as they are (issue 8 #2), on both databases.

A STOP holding a NUL (PostgreSQL's text refuses it) or a lone surrogate (no UTF-8
for it: both databases refuse it) is still a STOP: recorded, denied by the gate, and
its exact text kept as evidence (``text_escaped``) beside a display form; the chain
verifies and history serialises. Identifiers holding them are refused with a typed
error and nothing is written. Ordinary texts are stored exactly as before.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from consentline import Consentline, InboundMessage
from consentline.domain.errors import InvalidInput
from consentline.domain.evidence import digest, exact_text, stored_text
from consentline.domain.ledger import MAX_PROOF_BYTES
from consentline.services.inbound import MAX_BODY

LINE = "+18005550100"
ODD = [
    pytest.param("STOP\x00", "STOP\ufffd", id="nul-after"),
    pytest.param("\x00STOP", "\ufffdSTOP", id="nul-before"),
    pytest.param("STOP\ud800", "STOP\ufffd", id="lone-high-surrogate"),
    pytest.param("\udfffSTOP", "\ufffdSTOP", id="lone-low-surrogate"),
    pytest.param("Stop\x00 please \ud83d", "Stop\ufffd please \ufffd", id="both"),
]


@pytest.fixture
def acme(cl: Consentline) -> Consentline:
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    return cl


def count(cl: Consentline, table: str) -> int:
    with cl.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def stored(cl: Consentline, message_id: str) -> tuple[str, str]:
    query = sa.text("SELECT body, classification FROM inbound_messages WHERE message_id = :m")
    with cl.engine.connect() as conn:
        row = conn.execute(query, {"m": message_id}).one()
    return str(row.body), str(row.classification)


def denied(cl: Consentline, number: str) -> bool:
    """Refused for having opted out (a fresh number is refused too, for want of consent)."""
    decision = cl.check(number, from_=LINE, purpose="marketing")
    return not decision.allowed and decision.reason == "opted_out"


@pytest.mark.parametrize(("text", "shown"), ODD)
def test_a_stop_with_unstorable_characters_is_recorded_with_its_exact_text(
    acme: Consentline, text: str, shown: str
) -> None:
    number = "+14155550101"
    result = acme.handle_inbound(
        from_=number, to=LINE, text=text, provider="twilio", message_id="SM1"
    )

    assert result.event is not None and result.event.action == "opt_out"
    assert denied(acme, number)
    proof = result.event.proof
    assert proof["text"] == shown
    assert exact_text(proof) == text  # the evidence round-trips exactly
    assert proof["text_escaped"].isascii()
    body, classification = stored(acme, "SM1")
    assert body == shown and stored_text(body, classification) == text
    # Read back from the database, verified, and serialisable as any JSON answer is.
    [event] = acme.history(number, account="acme")
    assert exact_text(event.proof) == text and event.hash == result.event.hash
    json.dumps(event.as_dict(), ensure_ascii=False).encode()
    json.dumps(result.classification.as_dict(), ensure_ascii=False).encode()
    assert acme.verify().ok


def test_a_retry_of_such_a_stop_is_a_duplicate(acme: Consentline) -> None:
    first = acme.handle_inbound(from_="+14155550101", to=LINE, text="STOP\x00", message_id="SM1")
    again = acme.handle_inbound(from_="+14155550101", to=LINE, text="STOP\x00", message_id="SM1")
    assert again.duplicate and again.event == first.event
    assert count(acme, "events") == 1


@pytest.mark.parametrize(
    "text",
    ["STOP", "Stop please", "STOP\x1b", "STOP\u202e", "\u200fSTOP\u200b", "ARRÊT", "STOP\ufffd"],
)
def test_an_ordinary_text_is_stored_unchanged(acme: Consentline, text: str) -> None:
    result = acme.handle_inbound(from_="+14155550101", to=LINE, text=text, message_id="SM1")
    assert result.event is not None and result.event.action == "opt_out"
    assert result.event.proof["text"] == text
    assert not {"text_escaped", "text_sha256", "text_chars"} & set(result.event.proof)
    assert stored(acme, "SM1")[0] == text
    assert "text_escaped" not in json.loads(stored(acme, "SM1")[1])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("STOP" + "\u200b" * 6000, id="format-characters"),  # 18 KB of UTF-8
        pytest.param("STOP" + "\x01" * 3000, id="control-characters"),  # 18 KB of JSON
        pytest.param("STOP" + "\x00" * (MAX_BODY - 4), id="nuls"),
        pytest.param("STOP " + "\ud800" * (MAX_BODY - 5), id="surrogates"),
    ],
)
def test_a_stop_too_long_for_the_proof_is_still_recorded(acme: Consentline, text: str) -> None:
    """The proof keeps the start and the digest; the inbound record keeps it all."""
    number = "+14155550101"
    result = acme.handle_inbound(from_=number, to=LINE, text=text, message_id="SM1")
    assert result.event is not None and result.event.action == "opt_out"
    assert denied(acme, number)
    proof = result.event.proof
    assert proof["text_chars"] == len(text) and proof["text_sha256"] == digest(text)
    assert proof["text"].startswith("STOP") and exact_text(proof) is None
    canonical = json.dumps(proof, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert len(canonical.encode()) <= MAX_PROOF_BYTES
    assert stored_text(*stored(acme, "SM1")) == text
    assert acme.verify().ok


@pytest.mark.parametrize("message_id", ["SM\x001", "SM\ud8001", "\udc00"])
def test_a_message_id_that_cannot_be_stored_is_refused(acme: Consentline, message_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        acme.handle_inbound(from_="+14155550101", to=LINE, text="STOP", message_id=message_id)
    assert caught.value.data["field"] == "message_id"
    json.dumps(caught.value.to_dict(), ensure_ascii=False).encode()
    assert count(acme, "events") == count(acme, "inbound_messages") == 0


@pytest.mark.parametrize("key", ["k\x00", "k\ud800"])
def test_an_idempotency_key_that_cannot_be_stored_is_refused(acme: Consentline, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        acme.record("+14155550101", "opt_out", via=LINE, source="keyword", idempotency_key=key)
    assert caught.value.data["field"] == "idempotency_key"
    assert count(acme, "events") == 0


@pytest.mark.parametrize("hint", ["STOP\x00", "\ud800"])
def test_a_provider_hint_that_cannot_be_stored_does_not_lose_the_stop(
    acme: Consentline, hint: str
) -> None:
    result = acme.handle_inbound(
        from_="+14155550101", to=LINE, text="STOP", provider="twilio", provider_hint=hint
    )
    assert result.event is not None and denied(acme, "+14155550101")


def test_valid_and_odd_stops_in_one_batch_are_all_recorded(acme: Consentline) -> None:
    texts = ["STOP", "STOP\x00", "STOP", "\ud800STOP", "STOP"]
    messages = [
        InboundMessage(f"+141555501{n:02d}", LINE, text, "twilio", f"SM{n}")
        for n, text in enumerate(texts)
    ]
    results = acme.handle_inbound_many(messages)
    assert [r.event.action if r.event else None for r in results] == ["opt_out"] * 5
    assert all(denied(acme, m.from_) for m in messages)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("cancel my appointment " + "\u200b" * 6000, id="long"),
        pytest.param("cancel my appointment\x00\ud800", id="unstorable"),
    ],
)
def test_a_reviewer_can_record_the_opt_out_of_any_queued_text(acme: Consentline, text: str) -> None:
    result = acme.handle_inbound(from_="+14155550101", to=LINE, text=text, message_id="SM1")
    assert result.review_id is not None
    _item, event = acme.review_decide(result.review_id, "opt_out", reviewer="ann")
    assert event is not None and denied(acme, "+14155550101")
    if "text_sha256" in event.proof:
        assert event.proof["text_sha256"] == digest(text)
    else:
        assert exact_text(event.proof) == text
    assert acme.verify().ok


@pytest.mark.parametrize("sender", ["\ud800" * 20, "+1415\ud8005550101", "a\x00@example.com"])
def test_an_error_about_an_unstorable_value_can_still_be_written_as_json(
    acme: Consentline, sender: str
) -> None:
    channel = "email" if "@" in sender else "sms"
    with pytest.raises(InvalidInput) as caught:
        acme.handle_inbound(from_=sender, to=LINE, text="STOP", channel=channel)
    json.dumps(caught.value.to_dict(), ensure_ascii=False).encode()
    str(caught.value).encode()
