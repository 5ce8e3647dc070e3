"""Inbound flows (docs/model.md, "Inbound messages"; C8, C12, C17, C24, C27), on both DBs."""

from __future__ import annotations

from datetime import timedelta

import pytest

import consentline as c
from consentline import Consentline
from consentline.services.inbound import InboundMessage
from tests.conftest import Clock, worked_setup

X = "+14155550123"


def inbound(cl: Consentline, text: str, *, to: str = "+18005550101", **kw: object):
    return cl.handle_inbound(from_=X, to=to, text=text, **kw)  # type: ignore[arg-type]


def test_stop_denies_and_queues_one_confirmation(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    r = inbound(cl, "Stop.", provider="twilio", message_id="SM1")
    assert r.classification.intent == "opt_out"
    assert r.event is not None and r.event.action == "opt_out" and r.event.source == "keyword"
    assert r.event.proof["text"] == "Stop."  # the raw body is the evidence, unaltered
    assert r.event.proof["rule"] == r.classification.rule
    assert r.reply is not None and r.reply.kind == "opt_out_confirmation"
    assert r.reply.status == "pending" and r.reply.not_after == r.event.occurred_at + timedelta(
        minutes=5
    )
    assert cl.check(X, from_=w.L3, purpose="marketing").reason == "opted_out"  # reach tree


def test_a_repeated_stop_is_logged_but_gets_no_second_confirmation(cl: Consentline) -> None:
    worked_setup(cl)
    first = inbound(cl, "STOP", message_id="m1")
    second = inbound(cl, "stop", message_id="m2")
    assert first.reply is not None
    assert second.event is not None and second.reply is None  # C27
    assert len(cl.outbox(status="pending")) == 1


def test_a_duplicate_provider_message_id_gives_one_event_and_no_second_reply(
    cl: Consentline,
) -> None:
    worked_setup(cl)
    first = inbound(cl, "STOP", provider="twilio", message_id="SMdup")
    again = inbound(cl, "STOP", provider="twilio", message_id="SMdup")
    assert again.duplicate and not first.duplicate
    assert again.event == first.event and again.reply == first.reply
    assert cl.verify().events == 1
    assert len(cl.outbox()) == 1


def test_a_duplicate_inside_one_batch_is_applied_once(cl: Consentline) -> None:
    worked_setup(cl)
    message = InboundMessage(
        from_=X, to="+18005550101", text="STOP", provider="telnyx", message_id="dup-in-batch"
    )
    results = cl.handle_inbound_many([message, message])
    assert results[1].duplicate and results[1].event == results[0].event
    assert cl.verify().events == 1


def test_start_restores_what_stop_revoked_and_welcomes_back(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    inbound(cl, "STOP", message_id="m1")
    r = inbound(cl, "START", message_id="m2")
    assert r.event is not None and r.event.action == "resume"
    assert r.reply is not None and r.reply.kind == "welcome"
    assert cl.check(X, from_=w.L1, purpose="marketing").reason == "opted_in"


def test_start_on_a_number_that_never_consented_creates_nothing(cl: Consentline) -> None:
    worked_setup(cl)
    r = inbound(cl, "START", message_id="m1")
    assert r.classification.intent == "opt_in"
    assert (r.event, r.reply) == (None, None)  # C12


def test_start_creates_an_opt_in_when_the_account_chooses_so(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.configure_account("t", start_creates_opt_in=True)
    inbound(cl, "STOP", message_id="m1")
    r = inbound(cl, "START", message_id="m2")
    assert [e.action for e in r.events] == ["resume", "opt_in"]
    assert r.events[1].proof["text"] == "START"
    assert cl.check(X, from_=w.L1, purpose="marketing").reason == "opted_in"


def test_stop_then_start_in_one_batch_behaves_as_if_sent_one_by_one(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    results = cl.handle_inbound_many(
        [
            InboundMessage(from_=X, to=w.L1, text="STOP", message_id="b1"),
            InboundMessage(from_=X, to=w.L1, text="STOP", message_id="b2"),
            InboundMessage(from_=X, to=w.L1, text="START", message_id="b3"),
        ]
    )
    assert [r.event.action if r.event else None for r in results] == [
        "opt_out",
        "opt_out",
        "resume",
    ]
    assert [r.reply.kind if r.reply else None for r in results] == [
        "opt_out_confirmation",
        None,
        "welcome",
    ]
    assert cl.check(X, from_=w.L1, purpose="marketing").reason == "opted_in"


def test_help_is_answered_in_the_language_it_was_asked(cl: Consentline) -> None:
    worked_setup(cl)
    cl.configure_account(
        "t", program_name="Acme Alerts", support_contact="1-800-555-0100", frequency="4 msgs/month"
    )
    english = inbound(cl, "HELP", message_id="h1")
    french = inbound(cl, "AIDE", message_id="h2")
    assert english.event is None and english.reply is not None
    assert (
        "Acme Alerts" in english.reply.body and "Msg & data rates may apply" in english.reply.body
    )
    assert "STOP" in english.reply.body and "1-800-555-0100" in english.reply.body
    assert french.reply is not None and french.reply.language == "fr"
    assert "ARRET" in french.reply.body  # C11, CASL: AIDE is answered in French


def test_ambiguous_replies_go_to_review_and_a_reviewer_decides(cl: Consentline) -> None:
    w = worked_setup(cl)
    r = inbound(cl, "cancel my appointment", message_id="amb1")
    assert r.classification.intent == "ambiguous" and r.event is None and r.reply is None
    items = cl.review_list(account="a")
    assert [i.id for i in items] == [r.review_id]
    assert items[0].text == "cancel my appointment"
    item, event = cl.review_decide(
        items[0].id, "opt_out", reviewer="ann@example.com", note="customer called"
    )
    assert item.status == "decided" and item.decision == "opt_out"
    assert event is not None and event.source == "agent"
    assert event.proof["actor"] == "ann@example.com"
    assert event.occurred_at == r_time(cl, r.id)
    assert cl.check(X, from_=w.L1, purpose="transactional").reason == "opted_out"
    assert cl.review_list() == []
    with pytest.raises(c.ReviewDecided):
        cl.review_decide(item.id, "none", reviewer="bob@example.com")


def r_time(cl: Consentline, inbound_id: int):
    return next(i.received_at for i in cl.review_list(status="decided"))


def test_a_reviewer_can_decide_it_was_not_an_opt_out(cl: Consentline) -> None:
    w = worked_setup(cl)
    r = inbound(cl, "NO", message_id="amb2")
    item, event = cl.review_decide(r.review_id or 0, "none", reviewer="ann@example.com")
    assert event is None and item.decision == "none"
    assert cl.check(X, from_=w.L1, purpose="transactional").allowed


def test_review_decisions_validate_their_input(cl: Consentline) -> None:
    worked_setup(cl)
    r = inbound(cl, "don't stop", message_id="amb3")
    with pytest.raises(c.UnknownReviewItem):
        cl.review_decide(999, "none", reviewer="ann")
    with pytest.raises(c.InvalidInput):
        cl.review_decide(r.review_id or 0, "maybe", reviewer="ann")
    with pytest.raises(c.InvalidInput):
        cl.review_decide(r.review_id or 0, "none", reviewer=" ")


def test_a_provider_opt_out_hint_is_honoured_even_if_we_disagree(cl: Consentline) -> None:
    w = worked_setup(cl)
    # The classifier sends this to review (C8); the provider read it as STOP.
    r = inbound(
        cl, "Stopp the car now pls", provider="twilio", message_id="SMh", provider_hint="STOP"
    )
    assert r.decided_by == "provider_hint"
    assert r.event is not None and r.event.proof["provider_hint"] == "STOP"
    assert r.reply is None  # Twilio already replied
    assert cl.check(X, from_=w.L1, purpose="transactional").reason == "opted_out"


def test_a_provider_that_already_replied_suppresses_our_reply(cl: Consentline) -> None:
    worked_setup(cl)
    r = inbound(cl, "STOP", provider="telnyx", message_id="t1", provider_hint="stop")
    assert r.event is not None and r.reply is None
    h = inbound(cl, "HELP", provider="plivo", message_id="p1", provider_hint="help")
    assert h.reply is None


def test_topic_keywords_opt_in_and_stop_topic_opts_out_of_that_topic_only(
    cl: Consentline,
) -> None:
    w = worked_setup(cl)
    cl.configure_account("a", topic_keywords={"VOLUNTEER": "volunteer", "EVENTS": "events"})
    inbound(cl, "VOLUNTEER", message_id="v1")
    inbound(cl, "events", message_id="v2")
    stop = inbound(cl, "STOP VOLUNTEER", message_id="v3")
    assert stop.event is not None and stop.event.topic == "volunteer"
    assert cl.check(X, from_=w.L1, purpose="marketing", topic="volunteer").reason == "opted_out"
    assert cl.check(X, from_=w.L1, purpose="marketing", topic="events").reason == "opted_in"


def test_stop_marketing_opts_out_of_marketing_only(cl: Consentline) -> None:
    w = worked_setup(cl)
    r = inbound(cl, "STOP MARKETING", message_id="s1")
    assert r.event is not None and r.event.purpose == "marketing"
    assert cl.check(X, from_=w.L1, purpose="marketing").reason == "opted_out"
    assert cl.check(X, from_=w.L1, purpose="transactional").reason == "not_opted_out"


def test_a_keyword_reach_override_widens_one_keyword(cl: Consentline) -> None:
    w = worked_setup(cl, a_reach="line")
    cl.configure_account("a", opt_out_keywords=["QUITALL"], keyword_reach={"QUITALL": "tree"})
    inbound(cl, "STOP", message_id="r1")
    assert cl.check(X, from_=w.L2, purpose="transactional").allowed  # reach line
    inbound(cl, "QUITALL", message_id="r2")
    assert cl.check(X, from_=w.L2, purpose="transactional").reason == "opted_out"


def test_yes_confirms_a_pending_double_opt_in_within_the_ttl(cl: Consentline, clock: Clock) -> None:
    w = worked_setup(cl)
    pending = cl.record(
        X,
        "pending",
        line=w.L1,
        purpose="marketing",
        source="web_form",
        proof={"form_url": "https://a.example/join"},
    )
    request = cl.outbox(status="pending")[-1]
    assert request.kind == "double_opt_in_request" and "YES" in request.body
    clock.advance(hours=2)
    r = inbound(cl, "Yes", message_id="y1")
    assert r.event is not None and r.event.action == "opt_in"
    assert r.event.proof["confirms_event"] == pending.id  # links the form and the reply
    assert r.event.proof["text"] == "Yes"
    assert cl.check(X, from_=w.L1, purpose="marketing").reason == "opted_in"


def test_yes_after_the_pending_ttl_confirms_nothing(cl: Consentline, clock: Clock) -> None:
    w = worked_setup(cl)
    cl.set_policy("t", pending_ttl=timedelta(hours=24))
    cl.record(X, "pending", line=w.L1, purpose="marketing", source="web_form")
    clock.advance(hours=25)
    r = inbound(cl, "YES", message_id="y2")
    assert r.event is None
    assert cl.check(X, from_=w.L1, purpose="marketing").reason == "no_consent"


def test_a_pending_consent_on_an_account_without_lines_is_refused(cl: Consentline) -> None:
    worked_setup(cl)
    cl.create_account("empty", parent="t")
    with pytest.raises(c.InvalidInput):
        cl.record(X, "pending", account="empty", purpose="marketing", source="web_form")
    assert cl.verify().events == 0


def test_late_confirmations_are_dropped_never_sent(cl: Consentline, clock: Clock) -> None:
    worked_setup(cl)
    inbound(cl, "STOP", message_id="late1")
    clock.advance(minutes=6)
    assert cl.take_due_replies() == []
    (dropped,) = cl.outbox(status="dropped")
    assert dropped.kind == "opt_out_confirmation"
    # A webhook processed more than 5 minutes after receipt never queues one at all.
    r = cl.handle_inbound(
        from_="+14155550999",
        to="+18005550103",
        text="STOP",
        message_id="late2",
        received_at=clock.now - timedelta(minutes=10),
    )
    assert r.reply is not None and r.reply.status == "dropped"


def test_due_replies_are_handed_out_and_marked(cl: Consentline, clock: Clock) -> None:
    worked_setup(cl)
    inbound(cl, "HELP", message_id="d1")
    due = cl.take_due_replies()
    assert [m.kind for m in due] == ["help"]
    cl.mark_replies([due[0].id], "sent")
    assert cl.outbox(status="sent")[0].id == due[0].id
    with pytest.raises(c.InvalidInput):
        cl.mark_replies([due[0].id], "lost")


def test_inbound_bad_input_is_typed_and_writes_nothing(cl: Consentline) -> None:
    worked_setup(cl)
    with pytest.raises(c.UnknownLine):
        cl.handle_inbound(from_=X, to="+18009999999", text="STOP")
    with pytest.raises(c.InvalidAddress):
        cl.handle_inbound(from_="not a number", to="+18005550101", text="STOP")
    with pytest.raises(c.InvalidInput):
        cl.handle_inbound(from_=X, to="+18005550101", text="x" * 20_000)
    with pytest.raises(c.InvalidConfig):
        cl.handle_inbound(from_=X, to="+18005550101", text="STOP", provider="Bad Provider")
    with pytest.raises(c.InvalidTime):  # naive: no zone, so no instant
        cl.handle_inbound(
            from_=X, to="+18005550101", text="STOP", received_at=cl.now().replace(tzinfo=None)
        )
    batch = [
        InboundMessage(from_=X, to="+18005550101", text="STOP", message_id="ok"),
        InboundMessage(from_="garbage", to="+18005550101", text="STOP"),
    ]
    with pytest.raises(c.InvalidAddress):
        cl.handle_inbound_many(batch)
    assert cl.verify().events == 0 and cl.outbox() == []


def test_an_empty_picture_only_message_is_stored_and_does_nothing(cl: Consentline) -> None:
    worked_setup(cl)
    r = inbound(cl, "", message_id="mms1")
    assert r.classification.intent == "none" and r.event is None and r.reply is None


def test_account_keywords_are_linted_and_inherited(cl: Consentline) -> None:
    w = worked_setup(cl)
    for bad in (
        {"opt_in_keywords": ["STOP"]},
        {"opt_out_keywords": ["OK"]},
        {"opt_out_keywords": ["two words"]},
        {"topic_keywords": {"THANKS": "thanks"}},
    ):
        with pytest.raises(c.InvalidKeyword):
            cl.configure_account("t", **bad)
    warnings = cl.configure_account("t", opt_out_keywords=["QZX"])
    assert any("shorter than 4" in warning for warning in warnings)
    assert "QZX" in cl.account_settings("b").opt_out_keywords  # inherited down the tree
    r = cl.handle_inbound(from_=X, to=w.L3, text="qzx", message_id="k1")
    assert r.classification.intent == "opt_out"


def test_reply_templates_are_linted(cl: Consentline) -> None:
    worked_setup(cl)
    with pytest.raises(c.InvalidConfig):
        cl.configure_account(
            "t",
            templates={
                "en": {
                    "opt_out_confirmation": "Unsubscribed. Get 20% off next time at https://shop.example"
                }
            },
        )
    with pytest.raises(c.InvalidConfig):
        cl.configure_account("t", templates={"en": {"welcome": "{program}: welcome!"}})
    with pytest.raises(c.InvalidConfig):
        cl.configure_account("t", colour="blue")
    warnings = cl.configure_account(
        "t",
        templates={
            "en": {
                "opt_out_confirmation": (
                    "{program}: you have been unsubscribed from all of our text messages and "
                    "you will not receive anything more from us unless you text START to this "
                    "number again later on."
                )
            }
        },
    )
    assert any("segments" in warning for warning in warnings)


def test_the_account_language_decides_words_two_packs_share(cl: Consentline) -> None:
    worked_setup(cl)
    cl.configure_account("a", language="pt")
    r = inbound(cl, "CANCELAR", message_id="pt1")
    assert r.classification.language == "pt"
    assert r.reply is not None and r.reply.language == "pt"


def test_a_reviewed_opt_out_is_confirmed_in_the_language_of_the_message(cl: Consentline) -> None:
    worked_setup(cl)
    r = inbound(cl, "SALIR MARKETING", message_id="es1")
    assert r.classification.intent == "ambiguous" and r.classification.language == "es"
    cl.review_decide(r.review_id or 0, "opt_out", reviewer="ana")
    (reply,) = cl.outbox(status="pending")
    assert reply.language == "es" and reply.kind == "opt_out_confirmation"


def test_listing_arguments_are_validated(cl: Consentline) -> None:
    with pytest.raises(c.InvalidInput):
        cl.outbox(status="lost")
    with pytest.raises(c.InvalidInput):
        cl.outbox(limit=-1)
    with pytest.raises(c.InvalidInput):
        cl.review_list(limit=0)
    with pytest.raises(c.InvalidInput):
        cl.review_list(status="maybe")


def test_inbound_values_of_the_wrong_type_are_typed_errors(cl: Consentline) -> None:
    worked_setup(cl)
    with pytest.raises(c.InvalidInput):
        inbound(cl, "STOP", provider_hint=7)
    with pytest.raises(c.InvalidTime):
        inbound(cl, "STOP", received_at="yesterday")
    with pytest.raises(c.InvalidInput):
        inbound(cl, None)  # type: ignore[arg-type]
    assert cl.verify().events == 0


def test_vonage_first_word_keywords_are_evidence_not_verdicts(cl: Consentline) -> None:
    worked_setup(cl)
    r = inbound(
        cl,
        "Stop the story, I returned it",
        provider="vonage",
        message_id="v-1",
        provider_hint="STOP",
    )
    assert r.decided_by == "classifier" and r.event is None  # not an opt-out
    s = inbound(cl, "STOP", provider="vonage", message_id="v-2", provider_hint="STOP")
    assert s.reply is not None  # Vonage does not auto-reply: we confirm


def test_a_stop_stamped_in_the_future_by_a_fast_provider_clock_still_counts_from_now(
    cl: Consentline, clock: Clock
) -> None:
    w = worked_setup(cl)
    cl.record(X, "opt_in", account="a", purpose="marketing", source="web_form")
    claimed = clock.now + timedelta(hours=2)
    r = inbound(cl, "STOP", provider="twilio", message_id="SM-fast", received_at=claimed)
    assert r.event is not None and r.event.action == "opt_out"
    assert r.event.occurred_at == clock.now  # effective at receipt (C14), not refused
    assert r.event.proof["claimed_received_at"] == claimed.isoformat()
    assert cl.check(X, from_=w.L1, purpose="marketing").reason == "opted_out"


def test_a_received_at_within_the_allowed_skew_is_kept_as_given(
    cl: Consentline, clock: Clock
) -> None:
    worked_setup(cl)
    given = clock.now - timedelta(minutes=1)
    r = inbound(cl, "STOP", provider="twilio", message_id="SM-past", received_at=given)
    assert r.event is not None and r.event.occurred_at == given
    assert "claimed_received_at" not in r.event.proof
