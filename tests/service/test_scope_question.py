"""The scope question of an opt-out confirmation, through the inbound service (C14, C17,
C27, C28; FCC 47 CFR 64.1200(a)(12)), on SQLite and PostgreSQL.

Tenant t (reach tree) > a (lines L1, L2) > b (line L3), as in docs/model.md; the
setting is on t and inherited. A confirmation's question can only be answered once
the confirmation was sent: the tests mark it sent, as the reply worker would.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from consentline import Consentline, InvalidConfig
from consentline.services.inbound import InboundMessage, InboundResult
from tests.conftest import Clock, WorkedSetup, worked_setup

X, Y = "+14155550123", "+14155550124"
QUESTION: dict[str, Any] = {
    "enabled": True,
    "categories": [
        {"code": "1", "purpose": "transactional", "label": "order updates"},
        {"code": "2", "purpose": "marketing", "label": "offers"},
        {"code": "3", "topic": "volunteer", "label": "volunteer news"},
    ],
}
ASKED = "To keep getting some of these, reply"


def setup(cl: Consentline, **question: Any) -> WorkedSetup:
    w = worked_setup(cl)
    cl.configure_account(
        "t",
        program_name="Acme",
        topic_keywords={"VOLUNTEER": "volunteer"},
        scope_question={**QUESTION, **question},
    )
    return w


def say(
    cl: Consentline, text: str, message_id: str, *, to: str = "+18005550101", from_: str = X
) -> InboundResult:
    return cl.handle_inbound(from_=from_, to=to, text=text, message_id=message_id)


def stop_and_send(cl: Consentline, message_id: str = "stop-1", **kw: Any) -> InboundResult:
    """A STOP whose confirmation (with its question) the sender then sends."""
    result = say(cl, "STOP", message_id, **kw)
    assert result.reply is not None
    cl.mark_replies([result.reply.id], "sent")
    return result


def reasons(cl: Consentline, line: str = "+18005550101") -> dict[str, str]:
    return {
        p: cl.check(X, from_=line, purpose=p).reason
        for p in ("transactional", "marketing", "informational")
    }


def test_the_question_is_asked_only_when_the_account_turns_it_on(cl: Consentline) -> None:
    worked_setup(cl)
    plain = say(cl, "STOP", "m1")
    assert plain.reply is not None and ASKED not in plain.reply.body
    assert cl.scope_questions(X, account="t") == []
    assert cl.account_settings("t").scope_question is None  # off by default

    cl.configure_account("t", scope_question=QUESTION)
    asked = say(cl, "STOP", "m2", from_=Y)
    assert asked.reply is not None and asked.event is not None
    assert asked.reply.body == (
        "Messages: you are unsubscribed and will get no more messages. Reply START to"
        " resubscribe. To keep getting some of these, reply 1 for order updates."
        " Otherwise all stay stopped."
    )  # still one message (C17); only what this STOP revoked is offered
    (question,) = cl.scope_questions(Y, account="t")
    assert question.status == "open" and question.text == asked.reply.body
    assert (question.revocation_event, question.revocation_hash) == (
        asked.event.id,
        asked.event.hash,
    )
    assert question.expires_at - question.asked_at == timedelta(hours=24)
    assert [o.category.code for o in question.offered] == ["1"]


def test_the_revocation_is_whole_and_at_once_whatever_the_question(cl: Consentline) -> None:
    setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    stop = stop_and_send(cl)
    assert stop.event is not None and stop.event.purpose is None  # the classifier's reach
    assert set(reasons(cl).values()) == {"opted_out"}  # C14: at receipt, every category
    assert "1 for order updates, 2 for offers" in (stop.reply.body if stop.reply else "")


def test_an_answer_restores_only_the_categories_it_names_with_linked_proof(
    cl: Consentline, clock: Clock
) -> None:
    w = setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    stop = stop_and_send(cl)
    clock.advance(hours=3)
    answer = say(cl, "1 please", "ans-1")
    assert answer.decided_by == "scope_answer" and answer.reply is None  # no second text
    (event,) = answer.events
    assert (event.action, event.purpose, event.topic, event.source) == (
        "opt_in",
        "transactional",
        None,
        "scope_answer",
    )
    assert event.scope == f"A{cl.directory().account('a').id}"  # not above the line's account
    assert event.proof["text"] == "1 please" and event.proof["message_id"] == "ans-1"
    assert event.proof["actor"] == "handset"
    linked = event.proof["scope_answer"]
    assert stop.event is not None and stop.reply is not None
    assert (linked["revocation_event"], linked["revocation_hash"]) == (
        stop.event.id,
        stop.event.hash,
    )
    assert linked["question_text"] == stop.reply.body and len(linked["question_sha256"]) == 64
    assert (linked["code"], linked["label"], linked["codes"]) == ("1", "order updates", ["1"])
    assert reasons(cl) == {
        "transactional": "opted_in",
        "marketing": "opted_out",  # not named: stays revoked
        "informational": "opted_out",  # not offered: stays revoked
    }
    assert cl.check(X, from_=w.L3, purpose="transactional").reason == "opted_in"  # b under a
    (question,) = cl.scope_questions(X, account="t")
    assert question.status == "answered" and question.answer is not None
    assert question.answer["text"] == "1 please" and question.answer["events"] == [event.id]
    assert cl.verify().ok


def test_several_codes_restore_several_categories(cl: Consentline, clock: Clock) -> None:
    setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    cl.record(X, "opt_in", account="a", topic="volunteer", source="keyword")
    stop_and_send(cl)
    clock.advance(minutes=20)
    answer = say(cl, "2 and 3", "ans-1")
    assert [(e.purpose, e.topic) for e in answer.events] == [
        ("marketing", None),
        (None, "volunteer"),
    ]
    assert reasons(cl)["marketing"] == "opted_in"
    assert reasons(cl)["transactional"] == "opted_out"
    assert cl.check(X, from_="+18005550101", purpose="marketing", topic="volunteer").allowed


@pytest.mark.parametrize(
    ("reply", "later", "status"),
    [
        ("1", 25, "expired"),  # after the 24-hour window
        ("7", 1, "open"),  # not an offered code
        ("1 3", 1, "open"),  # one code not offered (marketing was never consented to)
        ("what is this?", 1, "open"),  # a message of its own
        ("order updates", 1, "open"),  # a label is not a code
    ],
)
def test_anything_but_an_answer_in_time_changes_nothing(
    cl: Consentline, clock: Clock, reply: str, later: int, status: str
) -> None:
    setup(cl)
    stop_and_send(cl)
    clock.advance(hours=later)
    result = say(cl, reply, "r-1")
    assert result.decided_by == "classifier" and result.events == ()
    assert set(reasons(cl).values()) == {"opted_out"}  # every category stays revoked
    (question,) = cl.scope_questions(X, account="t")
    assert question.status == status and question.answer is None


def test_a_refusal_settles_the_question_and_is_otherwise_handled_as_usual(
    cl: Consentline, clock: Clock
) -> None:
    setup(cl)
    stop_and_send(cl)
    clock.advance(minutes=5)
    no = say(cl, "NO", "r-1")
    assert no.review_id is not None  # C8: a bare NO still goes to a person
    assert say(cl, "1", "r-2").events == ()  # the question is settled
    assert set(reasons(cl).values()) == {"opted_out"}
    (question,) = cl.scope_questions(X, account="t")
    assert question.status == "declined" and question.answer is not None
    assert question.answer["text"] == "NO" and question.answer["events"] == []


def test_a_repeated_stop_asks_nothing_new_and_settles_the_question(
    cl: Consentline, clock: Clock
) -> None:
    setup(cl)
    stop_and_send(cl)
    clock.advance(minutes=2)
    again = say(cl, "STOP", "stop-2")
    assert again.event is not None and again.reply is None  # C27
    assert say(cl, "1", "r-1").events == ()
    assert len(cl.outbox()) == 1
    (question,) = cl.scope_questions(X, account="t")
    assert question.status == "declined"
    assert set(reasons(cl).values()) == {"opted_out"}


def test_a_retry_of_the_answer_records_nothing_new(cl: Consentline, clock: Clock) -> None:
    setup(cl)
    stop_and_send(cl)
    clock.advance(minutes=10)
    first = say(cl, "1", "ans-1")
    again = say(cl, "1", "ans-1")
    assert again.duplicate and again.events == first.events and len(first.events) == 1
    assert again.decided_by == "scope_answer"
    assert cl.verify().events == 2  # the STOP and one opt-in


def test_an_answer_is_used_once(cl: Consentline, clock: Clock) -> None:
    setup(cl)
    stop_and_send(cl)
    clock.advance(minutes=10)
    assert len(say(cl, "1", "ans-1").events) == 1
    cl.record(X, "opt_out", via="+18005550101", purpose="transactional", source="agent")
    second = say(cl, "1", "ans-2")  # a second "1" is an ordinary message
    assert second.decided_by == "classifier" and second.events == ()
    assert reasons(cl)["transactional"] == "opted_out"


def test_two_answers_in_one_batch_use_the_question_once(cl: Consentline, clock: Clock) -> None:
    setup(cl)
    stop_and_send(cl)
    clock.advance(minutes=10)
    results = cl.handle_inbound_many(
        [
            InboundMessage(from_=X, to="+18005550101", text="1", message_id="b-1"),
            InboundMessage(from_=X, to="+18005550101", text="1", message_id="b-2"),
        ]
    )
    assert [len(r.events) for r in results] == [1, 0]


def test_only_that_handset_to_that_line_can_answer(cl: Consentline, clock: Clock) -> None:
    w = setup(cl)
    stop_and_send(cl)
    clock.advance(minutes=10)
    assert say(cl, "1", "r-1", from_=Y).events == ()  # another handset
    assert say(cl, "1", "r-2", to=w.L2).events == ()  # another line of the account
    assert set(reasons(cl).values()) == {"opted_out"}
    assert len(say(cl, "1", "r-3").events) == 1  # still open for the right one


def test_only_what_the_revocation_revoked_and_the_account_offers_comes_back(
    cl: Consentline, clock: Clock
) -> None:
    setup(cl)
    cl.record(X, "pending", line="+18005550101", purpose="marketing", source="web_form")
    stop = stop_and_send(cl)
    assert stop.reply is not None and "offers" not in stop.reply.body  # pending: not offered
    clock.advance(minutes=10)
    assert say(cl, "2", "r-1").events == ()  # so "2" is no answer to it
    assert say(cl, "1", "r-2").events[0].purpose == "transactional"
    assert reasons(cl)["marketing"] == "opted_out"  # the double opt-in was never confirmed
    assert reasons(cl)["informational"] == "opted_out"  # never offered


def test_the_answer_stays_inside_the_lines_account(cl: Consentline, clock: Clock) -> None:
    setup(cl)
    cl.create_account("c", parent="t")
    cl.add_line("+18005550104", account="c")
    cl.record(X, "opt_in", account="t", purpose="marketing", source="web_form")
    stop_and_send(cl)  # reach tree: the opt-out lands on t, covering c too
    clock.advance(minutes=10)
    (event,) = say(cl, "2", "ans-1").events
    assert event.scope == f"A{cl.directory().account('a').id}"
    assert reasons(cl)["marketing"] == "opted_in"
    assert reasons(cl, "+18005550104")["marketing"] == "opted_out"  # outside a


def test_an_earlier_stop_on_another_line_is_not_undone(cl: Consentline, clock: Clock) -> None:
    w = setup(cl)
    cl.update_account("a", reach="line")
    say(cl, "STOP", "stop-l2", to=w.L2)  # a line-reach STOP on L2 first
    cl.update_account("a", reach="account")
    stop_and_send(cl)
    clock.advance(minutes=10)
    (event,) = say(cl, "1", "ans-1").events
    assert event.scope.startswith("L")  # narrowed to L1: L2's own STOP still holds
    assert reasons(cl)["transactional"] == "opted_in"
    assert reasons(cl, w.L2)["transactional"] == "opted_out"


def test_a_later_start_or_stop_wins_over_the_answer(cl: Consentline, clock: Clock) -> None:
    setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    stop_and_send(cl)
    clock.advance(minutes=5)
    cl.record(X, "opt_out", via="+18005550101", purpose="marketing", source="agent")
    clock.advance(minutes=5)
    answer = say(cl, "1 2", "ans-1")  # marketing: decided since by the agent's opt-out
    assert [e.purpose for e in answer.events] == ["transactional"]
    assert reasons(cl)["marketing"] == "opted_out"


def test_no_question_on_a_confirmation_that_is_never_sent_by_us(
    cl: Consentline, clock: Clock
) -> None:
    setup(cl)
    late = cl.handle_inbound(
        from_=X, to="+18005550101", text="STOP", received_at=clock.now - timedelta(minutes=9)
    )
    assert late.reply is not None and late.reply.status == "dropped"  # C17
    answered = cl.handle_inbound(
        from_=Y, to="+18005550101", text="STOP", provider="twilio", provider_hint="STOP"
    )
    assert answered.reply is None  # the provider confirmed it itself
    assert cl.scope_questions(X, account="t") == cl.scope_questions(Y, account="t") == []


def test_a_question_not_yet_sent_cannot_be_answered(cl: Consentline, clock: Clock) -> None:
    setup(cl)
    say(cl, "STOP", "stop-1")  # the confirmation is still pending in the outbox
    clock.advance(minutes=1)
    assert say(cl, "1", "r-1").events == ()
    assert reasons(cl)["transactional"] == "opted_out"


def test_a_new_stop_settles_the_open_question_before_asking_again(
    cl: Consentline, clock: Clock
) -> None:
    setup(cl)
    stop_and_send(cl, "stop-1")
    clock.advance(minutes=5)
    say(cl, "START", "start-1")
    clock.advance(minutes=5)
    stop_and_send(cl, "stop-2")  # a revocation again: it answers the first question "none"
    first, second = cl.scope_questions(X, account="t")
    assert (first.status, second.status) == ("declined", "open")
    clock.advance(minutes=5)
    (event,) = say(cl, "1", "ans-1").events
    assert event.proof["scope_answer"]["question"] == second.id


def test_a_lapsed_question_is_superseded_by_the_next(cl: Consentline, clock: Clock) -> None:
    setup(cl)
    stop_and_send(cl, "stop-1")
    clock.advance(hours=30)
    say(cl, "START", "start-1")
    stop_and_send(cl, "stop-2")
    assert [q.status for q in cl.scope_questions(X, account="t")] == ["superseded", "open"]


def test_a_stop_that_names_its_scope_is_asked_nothing(cl: Consentline) -> None:
    setup(cl)
    result = say(cl, "STOP MARKETING", "m1")
    assert result.reply is not None and ASKED not in result.reply.body
    assert cl.scope_questions(X, account="t") == []


def test_a_sub_account_can_turn_the_inherited_question_off(cl: Consentline) -> None:
    setup(cl)
    cl.configure_account("a", scope_question={"enabled": False})
    result = say(cl, "STOP", "m1")
    assert result.reply is not None and ASKED not in result.reply.body


def test_the_question_speaks_the_reply_language(cl: Consentline) -> None:
    setup(cl, wording={"es": "{program}: para seguir con algunos, responda {choices}."})
    result = say(cl, "BAJA", "m1")
    assert result.reply is not None and result.reply.language == "es"
    assert result.reply.body.endswith(
        "Acme: para seguir con algunos, responda 1 para order updates."
    )


# -- the setting -----------------------------------------------------------------------
CATEGORY = {"code": "1", "purpose": "transactional", "label": "order updates"}


@pytest.mark.parametrize(
    "question",
    [
        {"enabled": True, "categories": [{**CATEGORY, "purpose": "loyalty"}]},  # no such purpose
        {"enabled": True, "categories": [{**CATEGORY, "code": "STOP"}]},
        {"enabled": True, "categories": [{**CATEGORY, "code": "END"}]},  # an opt-out word
        {"enabled": True, "categories": [{**CATEGORY, "code": "JOIN"}]},
        {"enabled": True, "categories": [{**CATEGORY, "label": "exclusive deals"}]},  # C17
        {"enabled": True, "categories": [CATEGORY], "wording": {"en": "See acme.com/ {choices}"}},
        {"enabled": True, "categories": [CATEGORY], "window_hours": 0},
        {"enabled": True, "categories": []},
        {"enabled": True, "categories": [CATEGORY], "colour": "red"},
        ["not", "an", "object"],
    ],
)
def test_a_bad_scope_question_is_refused_and_nothing_is_saved(
    cl: Consentline, question: Any
) -> None:
    worked_setup(cl)
    cl.configure_account("t", program_name="Acme")
    with pytest.raises(InvalidConfig):
        cl.configure_account("t", scope_question=question)
    assert cl.account_settings("t").scope_question is None
    assert cl.account_settings("t").program_name == "Acme"


def test_a_disabled_purpose_cannot_be_offered(cl: Consentline) -> None:
    worked_setup(cl)
    cl.set_purpose("t", "fraud", "disabled")
    with pytest.raises(InvalidConfig, match="never checked"):
        cl.configure_account(
            "t", scope_question={"enabled": True, "categories": [{**CATEGORY, "purpose": "fraud"}]}
        )


def test_the_setting_is_saved_with_its_warnings(cl: Consentline) -> None:
    worked_setup(cl)
    warnings = cl.configure_account("t", scope_question=QUESTION)
    assert any("2 SMS segments" in w for w in warnings)
    assert any("volunteer" in w for w in warnings)  # no topic keyword names it
    saved = cl.account_settings("b").scope_question  # inherited
    assert saved is not None and saved.enabled and saved.window_hours == 24
    assert [c.code for c in saved.categories] == ["1", "2", "3"]
