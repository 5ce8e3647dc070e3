"""The revoke-all date (C16): from it, a scoped revocation covers every purpose and topic.

The tenant's date is set a few days before the test clock's "now"; events are
dated on either side of it with ``occurred_at``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from consentline import Consentline, InvalidConfig
from consentline.services import gate
from tests.conftest import START, WorkedSetup, worked_setup

SWITCH = date(2026, 2, 20)  # the tenant's revoke_all_from in these tests
AT_SWITCH = datetime(2026, 2, 20, tzinfo=START.tzinfo)
BEFORE = AT_SWITCH - timedelta(days=5)
AFTER = AT_SWITCH + timedelta(days=2)


@pytest.fixture
def w(cl: Consentline) -> WorkedSetup:
    setup = worked_setup(cl, a_reach="account")
    cl.set_policy("t", revoke_all_from=SWITCH)
    cl.set_purpose("t", "fraud", "disabled")
    return setup


def reason(cl: Consentline, w: WorkedSetup, purpose: str, **kw: object) -> str:
    return cl.check(w.x, from_=kw.pop("from_", w.L1), purpose=purpose, **kw).reason  # type: ignore[arg-type]


def test_the_default_date_is_the_fccs_and_it_can_be_moved_or_turned_off(cl: Consentline) -> None:
    worked_setup(cl)
    assert cl.policy("t").revoke_all_from == date(2027, 1, 31)
    assert cl.set_policy("t", revoke_all_from="2026-06-01").revoke_all_from == date(2026, 6, 1)
    assert cl.set_policy("t", revoke_all_from=None).revoke_all_from is None
    assert cl.policy("a").revoke_all_from is None  # tenant-wide
    for bad in ("soon", "2026-02-30", datetime(2026, 1, 1, tzinfo=START.tzinfo), 20260101):
        with pytest.raises(InvalidConfig):
            cl.set_policy("t", revoke_all_from=bad)


def test_a_scoped_stop_before_the_date_keeps_its_scope(cl: Consentline, w: WorkedSetup) -> None:
    cl.record(w.x, "opt_out", via=w.L1, purpose="marketing", source="keyword", occurred_at=BEFORE)
    assert reason(cl, w, "marketing") == "opted_out"
    assert reason(cl, w, "transactional") == "not_opted_out"


def test_a_scoped_stop_from_the_date_covers_every_purpose_and_topic(
    cl: Consentline, w: WorkedSetup
) -> None:
    cl.record(w.x, "opt_in", account="a", topic="volunteer", occurred_at=BEFORE)
    stop = cl.record(
        w.x, "opt_out", via=w.L1, purpose="marketing", source="keyword", occurred_at=AFTER
    )
    for purpose, topic in (
        ("transactional", None),
        ("informational", None),
        ("marketing", "volunteer"),
    ):
        d = cl.check(w.x, from_=w.L1, purpose=purpose, topic=topic)
        assert (d.allowed, d.reason) == (False, "opted_out"), (purpose, topic)
        assert d.event is not None and d.event.id == stop.id
    assert reason(cl, w, "fraud") == "enforcement_disabled"  # never reached by the rule


def test_a_topic_stop_from_the_date_covers_the_purposes_too(
    cl: Consentline, w: WorkedSetup
) -> None:
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    cl.record(w.x, "opt_out", via=w.L1, topic="volunteer", source="keyword", occurred_at=AFTER)
    assert reason(cl, w, "marketing") == "opted_out"
    assert reason(cl, w, "transactional") == "opted_out"


def test_the_widened_stop_stays_at_its_own_reach(cl: Consentline, w: WorkedSetup) -> None:
    # Reach "account": a STOP on L1 lands at account a, which covers L1, L2 and b's L3;
    # a line-scoped revocation covers only its line.
    cl.record(w.x, "opt_out", line=w.L2, purpose="marketing", occurred_at=AFTER)
    assert reason(cl, w, "transactional", from_=w.L2) == "opted_out"
    assert reason(cl, w, "transactional", from_=w.L1) == "not_opted_out"


def test_check_at_a_moment_on_each_side_of_the_date_shows_each_rule(
    cl: Consentline, w: WorkedSetup
) -> None:
    cl.record(w.x, "opt_out", via=w.L1, purpose="marketing", occurred_at=BEFORE)
    cl.record(w.x, "opt_out", via=w.L1, topic="volunteer", occurred_at=AFTER)
    just_before = AT_SWITCH + timedelta(days=1)  # after the first STOP, before the second
    assert reason(cl, w, "transactional", at=just_before) == "not_opted_out"
    assert reason(cl, w, "marketing", at=just_before) == "opted_out"
    assert reason(cl, w, "transactional", at=AFTER + timedelta(hours=1)) == "opted_out"
    assert reason(cl, w, "transactional") == "opted_out"
    # The same STOP MARKETING, but one dated on or after the date, and one before.
    y = "+14155550124"
    cl.record(y, "opt_out", via=w.L1, purpose="marketing", occurred_at=AT_SWITCH)
    assert cl.check(y, from_=w.L1, purpose="transactional").reason == "opted_out"
    z = "+14155550125"
    cl.record(
        z,
        "opt_out",
        via=w.L1,
        purpose="marketing",
        occurred_at=AT_SWITCH - timedelta(microseconds=1),
    )
    assert cl.check(z, from_=w.L1, purpose="transactional").reason == "not_opted_out"


def test_with_the_rule_off_a_scoped_stop_keeps_its_scope(cl: Consentline, w: WorkedSetup) -> None:
    cl.set_policy("t", revoke_all_from=None)
    cl.record(w.x, "opt_out", via=w.L1, purpose="marketing", occurred_at=AFTER)
    assert reason(cl, w, "transactional") == "not_opted_out"


def test_start_after_a_revoke_all_stop_gives_back_what_held_before(
    cl: Consentline, w: WorkedSetup
) -> None:
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    cl.record(w.x, "opt_out", via=w.L1, purpose="marketing", occurred_at=AFTER)
    cl.record(w.x, "resume", via=w.L1, source="keyword")  # START: names no purpose
    assert reason(cl, w, "marketing") == "opted_in"  # the earlier opt-in, as after any STOP
    assert reason(cl, w, "transactional") == "not_opted_out"


def test_a_scoped_resume_or_opt_in_gives_back_only_what_it_names(
    cl: Consentline, w: WorkedSetup
) -> None:
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    cl.record(w.x, "opt_out", via=w.L1, purpose="marketing", occurred_at=AFTER)
    cl.record(w.x, "resume", via=w.L1, purpose="marketing")
    assert reason(cl, w, "marketing") == "opted_in"
    assert reason(cl, w, "transactional") == "opted_out"  # still revoked: not named
    cl.record(w.x, "opt_in", account="a", topic="volunteer")
    assert reason(cl, w, "marketing", topic="volunteer") == "opted_in"
    assert reason(cl, w, "informational") == "opted_out"


def test_a_topic_opt_in_after_a_revoke_all_stop_keeps_it_in_the_projection(
    cl: Consentline, w: WorkedSetup
) -> None:
    # Compaction drops a topic opt-out that a later opt-in to the topic makes
    # irrelevant; one that revokes everything is never irrelevant.
    cl.record(w.x, "opt_out", account="a", topic="volunteer", occurred_at=AFTER)
    cl.record(w.x, "opt_in", account="a", topic="volunteer")
    assert reason(cl, w, "marketing", topic="volunteer") == "opted_in"
    assert reason(cl, w, "transactional") == "opted_out"
    assert cl.verify().ok


def test_moving_the_date_rebuilds_the_projection_and_every_check_follows(
    cl: Consentline, w: WorkedSetup
) -> None:
    cl.record(w.x, "opt_out", account="a", topic="volunteer", occurred_at=AFTER)
    cl.record(w.x, "opt_in", account="a", topic="volunteer")
    cl.set_policy("t", revoke_all_from=None)
    assert reason(cl, w, "transactional") == "not_opted_out"
    assert cl.verify().ok
    cl.set_policy("t", revoke_all_from=SWITCH)
    assert reason(cl, w, "transactional") == "opted_out"
    assert cl.verify().ok


@pytest.mark.parametrize("scan", [False, True], ids=["lookups", "scan"])
def test_the_bulk_check_agrees_with_the_single_check(
    cl: Consentline, w: WorkedSetup, monkeypatch: pytest.MonkeyPatch, scan: bool
) -> None:
    if scan:
        monkeypatch.setattr(gate, "SCAN_MIN", 1)
    numbers = [f"+141555502{n:02d}" for n in range(12)]
    for n, number in enumerate(numbers):
        when = BEFORE if n % 3 == 0 else AFTER
        if n % 4 == 0:
            cl.record(number, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
        if n % 2 == 0:
            cl.record(number, "opt_out", via=w.L1, purpose="marketing", occurred_at=when)
        elif n % 5 == 1:
            cl.record(number, "opt_out", via=w.L1, topic="volunteer", occurred_at=when)
    for purpose, topic in (
        ("transactional", None),
        ("marketing", None),
        ("marketing", "volunteer"),
    ):
        for at in (None, AT_SWITCH + timedelta(days=1)):
            single = [cl.check(n, from_=w.L1, purpose=purpose, topic=topic, at=at) for n in numbers]
            bulk = list(cl.check_many(numbers, from_=w.L1, purpose=purpose, topic=topic, at=at))
            assert bulk == single, (purpose, topic, at)
    assert sum(d.reason == "opted_out" for d in single) > 0


def test_an_inbound_stop_marketing_from_the_date_revokes_everything(
    cl: Consentline, w: WorkedSetup
) -> None:
    cl.record(w.x, "opt_in", account="a", purpose="marketing", occurred_at=BEFORE)
    result = cl.handle_inbound(from_=w.x, to=w.L1, text="STOP MARKETING")
    assert [e.purpose for e in result.events] == ["marketing"]
    assert reason(cl, w, "transactional") == "opted_out"
    again = cl.handle_inbound(from_=w.x, to=w.L1, text="STOP")  # already out: no 2nd reply
    assert again.reply is None
