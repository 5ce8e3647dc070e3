"""Every row of the worked-examples table of docs/model.md, on SQLite and PostgreSQL.

Tenant T > account A (lines L1, L2) > sub-account B (line L3). A keyword STOP
"on L1" is recorded ``via=L1`` so that it takes the account's reach.
"""

from __future__ import annotations

from consentline import Consentline
from tests.conftest import worked_setup

WEB_FORM = {
    "form_url": "https://a.example/join",
    "consent_text": "Texts from A",
    "ip": "198.51.100.4",
}


def test_no_history_marketing_is_denied_no_consent(cl: Consentline) -> None:
    w = worked_setup(cl)
    d = cl.check(w.x, from_=w.L1, purpose="marketing")
    assert (d.allowed, d.reason, d.event) == (False, "no_consent", None)


def test_no_history_transactional_is_allowed_not_opted_out(cl: Consentline) -> None:
    w = worked_setup(cl)
    d = cl.check(w.x, from_=w.L1, purpose="transactional")
    assert (d.allowed, d.reason) == (True, "not_opted_out")


def test_web_form_opt_in_on_a_covers_l3_in_sub_account_b(cl: Consentline) -> None:
    w = worked_setup(cl)
    event = cl.record(
        w.x, "opt_in", account="a", purpose="marketing", source="web_form", proof=WEB_FORM
    )
    d = cl.check(w.x, from_=w.L3, purpose="marketing")
    assert (d.allowed, d.reason) == (True, "opted_in")
    assert d.event is not None and d.event.id == event.id


def test_stop_on_l1_with_reach_tree_denies_marketing_from_l3(cl: Consentline) -> None:
    w = worked_setup(cl, a_reach="tree")
    cl.record(w.x, "opt_in", account="a", purpose="marketing", source="web_form", proof=WEB_FORM)
    stop = cl.record(w.x, "opt_out", via=w.L1, source="keyword", proof={"text": "STOP"})
    d = cl.check(w.x, from_=w.L3, purpose="marketing")
    assert (d.allowed, d.reason) == (False, "opted_out")
    assert d.event is not None and d.event.id == stop.id


def test_stop_on_l1_with_reach_line_leaves_transactional_from_l2_allowed(cl: Consentline) -> None:
    w = worked_setup(cl, a_reach="line")
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    assert cl.check(w.x, from_=w.L2, purpose="transactional").allowed
    assert cl.check(w.x, from_=w.L1, purpose="transactional").reason == "opted_out"


def test_stop_on_l3_in_isolated_b_leaves_transactional_from_l1_allowed(cl: Consentline) -> None:
    w = worked_setup(cl, b_isolated=True)
    cl.record(w.x, "opt_out", via=w.L3, source="keyword")
    d = cl.check(w.x, from_=w.L1, purpose="transactional")
    assert (d.allowed, d.reason) == (True, "not_opted_out")
    assert cl.check(w.x, from_=w.L3, purpose="transactional").reason == "opted_out"


def test_opt_in_then_number_change_denies_marketing_no_consent(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", source="web_form", proof=WEB_FORM)
    cl.record(w.x, "lapse", account="t", source="number_change")
    d = cl.check(w.x, from_=w.L1, purpose="marketing")
    assert (d.allowed, d.reason) == (False, "no_consent")


def test_stop_then_number_change_still_denies_transactional_opted_out(cl: Consentline) -> None:
    w = worked_setup(cl)
    stop = cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    cl.record(w.x, "lapse", account="t", source="number_change")
    d = cl.check(w.x, from_=w.L1, purpose="transactional")
    assert (d.allowed, d.reason) == (False, "opted_out")  # a lapse never clears an opt-out
    assert d.event is not None and d.event.id == stop.id


def test_start_restores_the_opt_in_that_stop_revoked(cl: Consentline) -> None:
    w = worked_setup(cl)
    opt_in = cl.record(
        w.x, "opt_in", account="a", purpose="marketing", source="web_form", proof=WEB_FORM
    )
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    cl.record(w.x, "resume", via=w.L1, source="keyword")
    d = cl.check(w.x, from_=w.L1, purpose="marketing")
    assert (d.allowed, d.reason) == (True, "opted_in")
    assert d.event is not None and d.event.id == opt_in.id


def test_start_without_any_earlier_opt_in_creates_no_consent(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    cl.record(w.x, "resume", via=w.L1, source="keyword")
    d = cl.check(w.x, from_=w.L1, purpose="marketing")
    assert (d.allowed, d.reason) == (False, "no_consent")


def test_topic_opt_in_does_not_allow_untopical_marketing(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", topic="volunteer", source="keyword")
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "no_consent"
    assert cl.check(w.x, from_=w.L1, purpose="marketing", topic="volunteer").reason == "opted_in"


def test_untopical_stop_after_topic_opt_in_denies_the_topic(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_in", account="a", purpose="marketing", topic="volunteer", source="keyword")
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    d = cl.check(w.x, from_=w.L1, purpose="marketing", topic="volunteer")
    assert (d.allowed, d.reason) == (False, "opted_out")
