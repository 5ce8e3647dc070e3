"""The ``scope_questions`` table (C17), on SQLite and PostgreSQL: stored, read back with
its reply's status and its answer's message, settled once, found only while open."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import consentline
from consentline import Consentline
from tests.conftest import START

X, Y = "+14155550101", "+14155550102"
T0 = 1_700_000_000_000_000


def setup(cl: Consentline) -> tuple[int, int, int]:
    """acme with a line; an inbound STOP and its confirmation: (tenant, inbound id, reply id)."""
    cl.create_account("acme", default_region="US")
    line = cl.add_line("+18005550100", account="acme")
    with cl.units() as uow:
        (inbound_id,) = uow.inbox.insert_inbound([inbound(line.tenant_id, line.id, "in-1", "STOP")])
        (reply_id,) = uow.inbox.insert_outbox(
            [
                {
                    "tenant_id": line.tenant_id,
                    "kind": "opt_out_confirmation",
                    "channel": "sms",
                    "to_address": X,
                    "from_line": line.number,
                    "body": "Acme: unsubscribed. Reply 1 for order updates.",
                    "language": "en",
                    "created_us": T0,
                    "not_after_us": T0 + 300_000_000,
                    "status": "sent",
                    "attempts": 1,
                    "next_attempt_us": T0,
                    "inbound_id": inbound_id,
                    "event_id": None,
                    "detail": None,
                }
            ]
        )
        uow.commit()
    return line.tenant_id, inbound_id, reply_id


def inbound(tenant_id: int, line_id: int, message_id: str, body: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "account_id": tenant_id,
        "line_id": line_id,
        "provider": "api",
        "message_id": message_id,
        "address": X,
        "channel": "sms",
        "body": body,
        "received_us": T0,
        "classification": "{}",
        "provider_hint": None,
        "event_ids": "",
    }


def question(tenant_id: int, inbound_id: int, reply_id: int, **over: Any) -> dict[str, Any]:
    row = {
        "tenant_id": tenant_id,
        "account_id": tenant_id,
        "line_id": 1,
        "channel": "sms",
        "address": X,
        "revocation_event_id": 1,
        "revocation_hash": "ab" * 32,
        "inbound_id": inbound_id,
        "outbox_id": reply_id,
        "body": "Acme: unsubscribed. Reply 1 for order updates.",
        "body_sha256": "cd" * 32,
        "version": "0123456789abcdef",
        "offered": '[{"code": "1", "label": "order updates", "purpose": "transactional"}]',
        "asked_us": T0,
        "expires_us": T0 + 86_400_000_000,
        "status": "open",
        "answer_inbound_id": None,
        "settled_us": None,
        "event_ids": "",
    }
    return {**row, **over}


def test_a_question_is_stored_and_read_back_with_its_reply_status(cl: Consentline) -> None:
    tenant, inbound_id, reply_id = setup(cl)
    with cl.units() as uow:
        ids = uow.questions.insert_questions(
            [
                question(tenant, inbound_id, reply_id),
                question(tenant, inbound_id, reply_id, address=Y),
                question(tenant, inbound_id, reply_id, status="answered"),
                question(tenant, inbound_id, reply_id, channel="whatsapp"),
            ]
        )
        uow.commit()
    assert ids == sorted(ids) and len(set(ids)) == 4
    with cl.units(write=False) as uow:
        found = uow.questions.open_questions(tenant, "sms", [X, Y, X], lock=False)
        other_tenant = uow.questions.open_questions(tenant + 1, "sms", [X], lock=False)
    assert [(q.id, q.address) for q in found] == [(ids[0], X), (ids[1], Y)]
    assert other_tenant == []
    first = found[0]
    assert (first.reply_status, first.answer_body, first.offered[:9]) == ("sent", None, '[{"code":')
    assert (first.asked_us, first.expires_us, first.event_ids) == (T0, T0 + 86_400_000_000, "")


def test_settling_keeps_the_answer_linked_and_closes_the_question(cl: Consentline) -> None:
    tenant, inbound_id, reply_id = setup(cl)
    with cl.units() as uow:
        (qid,) = uow.questions.insert_questions([question(tenant, inbound_id, reply_id)])
        (answer_id,) = uow.inbox.insert_inbound([inbound(tenant, 1, "in-2", "1 please")])
        uow.questions.settle(
            [
                {
                    "qid": qid,
                    "status": "answered",
                    "answer_inbound_id": answer_id,
                    "settled_us": T0 + 5,
                    "event_ids": "7;8",
                }
            ]
        )
        uow.commit()
    with cl.units(write=False) as uow:
        assert uow.questions.open_questions(tenant, "sms", [X], lock=False) == []
        (record,) = uow.questions.of_address(tenant, X)
        assert uow.questions.of_address(tenant, X, "whatsapp") == []
    assert (record.status, record.event_ids, record.settled_us) == ("answered", "7;8", T0 + 5)
    assert (record.answer_message_id, record.answer_body) == ("in-2", "1 please")


def test_two_answers_at_once_cannot_both_claim_one_question(cl: Consentline) -> None:
    """The read for an answer locks the open question: the second waits, then finds it
    settled (PostgreSQL: FOR UPDATE; SQLite: BEGIN IMMEDIATE serialises writers)."""
    tenant, inbound_id, reply_id = setup(cl)
    with cl.units() as uow:
        uow.questions.insert_questions([question(tenant, inbound_id, reply_id)])
        uow.commit()
    barrier = threading.Barrier(4)

    def claim(n: int) -> bool:
        barrier.wait()
        with cl.units() as uow:
            found = uow.questions.open_questions(tenant, "sms", [X], lock=True)
            if not found:
                return False
            claimed = {"qid": found[0].id, "status": "answered", "settled_us": T0 + n}
            uow.questions.settle([{**claimed, "answer_inbound_id": None, "event_ids": ""}])
            uow.commit()
            return True

    with ThreadPoolExecutor(4) as pool:
        claimed = list(pool.map(claim, range(4)))
    assert claimed.count(True) == 1


def test_the_scope_question_survives_a_reconnect(cl: Consentline, db_url: str) -> None:
    tenant, inbound_id, reply_id = setup(cl)
    with cl.units() as uow:
        uow.questions.insert_questions([question(tenant, inbound_id, reply_id)])
        uow.commit()
    again = consentline.connect(db_url, clock=lambda: START)
    try:
        with again.units(write=False) as uow:
            assert len(uow.questions.open_questions(tenant, "sms", [X], lock=False)) == 1
    finally:
        again.close()
