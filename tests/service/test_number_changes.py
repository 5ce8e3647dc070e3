"""A number change lapses what the old number holds, and only that (docs/lifecycle.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consentline import Consentline, InvalidAddress, InvalidInput, UnknownAccount
from tests.conftest import Clock, worked_setup

NEW = "+14155550199"


def test_every_opt_in_and_pending_the_old_number_holds_lapses(cl: Consentline) -> None:
    w = worked_setup(cl)
    given = cl.record(w.x, "opt_in", account="a", purpose="marketing", source="web_form")
    topic = cl.record(w.x, "opt_in", account="b", topic="volunteer")
    asked = cl.record(w.x, "pending", line=w.L2, purpose="marketing")
    result = cl.change_number(w.x, NEW, account="t")
    assert sorted(e.proof["lapsed_event"] for e in result.lapsed) == sorted(
        [given.id, topic.id, asked.id]
    )
    for event in result.lapsed:
        assert (event.action, event.source, event.address) == ("lapse", "number_change", w.x)
        assert event.proof["changed_to"] == NEW
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "no_consent"
    assert cl.check(w.x, from_=w.L3, purpose="marketing", topic="volunteer").reason == "no_consent"
    assert cl.check(w.x, from_=w.L2, purpose="marketing").reason == "no_consent"
    assert cl.verify().ok


def test_opt_outs_stay_with_the_old_number(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing")
    stop = cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    cl.change_number(w.x, NEW, account="t")
    d = cl.check(w.x, from_=w.L1, purpose="transactional")
    assert (d.allowed, d.reason) == (False, "opted_out")
    assert d.event is not None and d.event.id == stop.id


def test_a_masked_opt_in_lapses_so_a_later_start_does_not_bring_it_back(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing")
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    result = cl.change_number(w.x, NEW, account="t")
    assert len(result.lapsed) == 1
    cl.record(w.x, "resume", via=w.L1, source="keyword")  # the new holder texts START
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "no_consent"


def test_nothing_carries_over_to_the_new_number(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing")
    cl.change_number(w.x, NEW, account="t")
    assert cl.history(NEW, account="t") == []
    assert cl.check(NEW, from_=w.L1, purpose="marketing").reason == "no_consent"


def test_running_the_same_change_again_appends_nothing(cl: Consentline, clock: Clock) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing")
    first = cl.change_number(w.x, NEW, account="t")
    clock.advance(minutes=1)
    before = len(cl.history(w.x, account="t"))
    again = cl.change_number(w.x, NEW, account="t")
    assert len(first.lapsed) == 1 and again.lapsed == ()
    assert len(cl.history(w.x, account="t")) == before


def test_a_consent_given_after_the_change_lapses_only_on_a_new_change(
    cl: Consentline, clock: Clock
) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing")
    cl.change_number(w.x, NEW, account="t")
    clock.advance(days=60)
    cl.record(w.x, "opt_in", account="a", purpose="marketing")  # the number's next holder
    assert cl.check(w.x, from_=w.L1, purpose="marketing").allowed
    again = cl.change_number(w.x, "+14155550198", account="t")
    assert len(again.lapsed) == 1


def test_only_the_callers_subtree_is_touched(cl: Consentline) -> None:
    w = worked_setup(cl)
    above = cl.record(w.x, "opt_in", account="a", purpose="marketing")
    inside = cl.record(w.x, "opt_in", line=w.L3, purpose="marketing")
    result = cl.change_number(w.x, NEW, account="b")
    assert [e.proof["lapsed_event"] for e in result.lapsed] == [inside.id]
    d = cl.check(w.x, from_=w.L1, purpose="marketing")
    assert d.allowed and d.event is not None and d.event.id == above.id


def test_an_already_lapsed_consent_is_not_lapsed_again(cl: Consentline, clock: Clock) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing")
    clock.advance(seconds=1)
    cl.record(w.x, "lapse", account="a")
    assert cl.change_number(w.x, NEW, account="t").lapsed == ()


def test_the_whole_change_is_one_transaction(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing")
    cl.record(w.x, "opt_in", account="b", topic="volunteer")
    result = cl.change_number(w.x, NEW, account="t")
    seqs = sorted(e.seq for e in result.lapsed)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert len({e.recorded_at for e in result.lapsed}) == 1


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("not a number", NEW, InvalidAddress),
        ("+14155550123", "12", InvalidAddress),
        ("+14155550123", "(415) 555-0123", InvalidInput),  # the same number, spelt otherwise
    ],
)
def test_bad_numbers_are_refused_before_anything_is_written(
    cl: Consentline, old: str, new: str, error: type[Exception]
) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing")
    with pytest.raises(error):
        cl.change_number(old, new, account="t")
    assert cl.check(w.x, from_=w.L1, purpose="marketing").allowed


def test_an_unknown_account_or_an_email_channel_is_refused(cl: Consentline) -> None:
    w = worked_setup(cl)
    with pytest.raises(UnknownAccount):
        cl.change_number(w.x, NEW, account="nope")
    with pytest.raises(InvalidInput):
        cl.change_number("a@example.com", "b@example.com", account="t", channel="email")


def test_a_check_before_the_change_still_shows_the_consent(cl: Consentline, clock: Clock) -> None:
    w = worked_setup(cl)
    given = cl.record(w.x, "opt_in", account="a", purpose="marketing")
    clock.advance(days=1)
    cl.change_number(w.x, NEW, account="t")
    before = given.occurred_at + timedelta(hours=1)
    assert cl.check(w.x, from_=w.L1, purpose="marketing", at=before).allowed
    assert not cl.check(w.x, from_=w.L1, purpose="marketing").allowed
