"""The scope question's pure decisions (C17, FCC 47 CFR 64.1200(a)(12)): the setting,
what a revocation revoked, where a restoring opt-in lands, reading an answer, linting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from consentline.domain.errors import InvalidConfig
from consentline.domain.ledger import Entry
from consentline.domain.policy import PurposeRule, TenantPolicy
from consentline.domain.scope_question import (
    DEFAULT_WINDOW_HOURS,
    Answer,
    Category,
    Offer,
    ScopeQuestion,
    ask,
    lint,
    offers,
    read_answer,
    render,
    restorable,
)
from consentline.domain.scopes import Account, Directory, Line

# T (root, reach tree; line L4) > A (lines L1, L2) > B (line L3).
T = Account(1, "t", 1, None, "tree", False, "US")
A = Account(2, "a", 1, 1, None, False, None)
B = Account(3, "b", 1, 2, None, False, None)
L1, L2 = Line(11, "+18005550101", 2, 1), Line(12, "+18005550102", 2, 1)
L3, L4 = Line(13, "+18005550103", 3, 1), Line(14, "+18005550104", 1, 1)
DIRECTORY = Directory([T, A, B], [L1, L2, L3, L4])
HOUR = 3_600_000_000
STOP_AT = 100 * HOUR

POLICY = TenantPolicy(
    purposes={
        p.name: p
        for p in (
            PurposeRule("marketing", "restrictive"),
            PurposeRule("transactional", "non_restrictive"),
            PurposeRule("fraud", "disabled"),
        )
    }
)
QUESTION = ScopeQuestion.from_json(
    {
        "enabled": True,
        "categories": [
            {"code": "1", "purpose": "transactional", "label": "order updates"},
            {"code": "2", "purpose": "marketing", "label": "offers"},
            {"code": "3", "topic": "volunteer", "label": "volunteer news"},
            {"code": "4", "purpose": "fraud", "label": "fraud alerts"},
        ],
    }
)


def entry(
    ident: int, code: str, scope: str, purpose: str = "", topic: str = "", at: int = 1
) -> Entry:
    return Entry(ident, code, scope, purpose, topic, at * HOUR, "web_form")


def stop(scope: str = "A1", purpose: str = "", topic: str = "", ident: int = 99) -> Entry:
    return Entry(ident, "o", scope, purpose, topic, STOP_AT, "keyword")


def offered(before: list[Entry], revocation: Entry | None = None, **kw: Any) -> dict[str, str]:
    """code -> landing scope of what ``revocation`` (a tree STOP by default) revoked."""
    found = offers(
        QUESTION,
        before,
        revocation or stop(),
        directory=DIRECTORY,
        line=kw.get("line", L1),
        policy=kw.get("policy", POLICY),
    )
    return {o.category.code: o.scope for o in found}


# -- the setting ----------------------------------------------------------------------
def test_the_setting_round_trips_and_is_off_by_default() -> None:
    assert ScopeQuestion().enabled is False
    assert ScopeQuestion.from_json(QUESTION.to_json()) == QUESTION
    assert QUESTION.window == timedelta(hours=DEFAULT_WINDOW_HOURS)
    assert QUESTION.codes == {"1", "2", "3", "4"}


def test_its_version_changes_with_its_wording() -> None:
    worded = ScopeQuestion.from_json(
        {**QUESTION.to_json(), "wording": {"en": "Keep some? Reply {choices}."}}
    )
    assert worded.version != QUESTION.version and len(worded.version) == 16


def test_codes_are_stored_upper_case_and_labels_tidied() -> None:
    q = ScopeQuestion.from_json(
        {"categories": [{"code": " a ", "purpose": "marketing", "label": "  news   and tips "}]}
    )
    assert q.categories == (Category("A", "news and tips", purpose="marketing"),)


GOOD = {"code": "1", "purpose": "transactional", "label": "order updates"}


@pytest.mark.parametrize(
    "data",
    [
        "yes",
        {"enabled": True, "colour": "blue"},
        {"enabled": "yes", "categories": [GOOD]},
        {"enabled": True, "categories": []},
        {"enabled": True},
        {"categories": [GOOD], "window_hours": 0},
        {"categories": [GOOD], "window_hours": 73},
        {"categories": [GOOD], "window_hours": "24"},
        {"categories": [GOOD], "window_hours": True},
        {"categories": [GOOD], "window_hours": 1.5},
        {"categories": GOOD},
        {
            "categories": [
                GOOD,
                *({**GOOD, "code": str(i), "purpose": f"p{i}"} for i in range(2, 11)),
            ]
        },
        {"categories": ["1"]},
        {"categories": [{**GOOD, "code": ""}]},
        {"categories": [{**GOOD, "code": "1234"}]},
        {"categories": [{**GOOD, "code": "1!"}]},
        {"categories": [{**GOOD, "code": 1}]},
        {"categories": [GOOD, {**GOOD, "purpose": "marketing"}]},
        {"categories": [GOOD, {**GOOD, "code": "2"}]},
        {"categories": [{**GOOD, "topic": "volunteer"}]},
        {"categories": [{"code": "1", "label": "order updates"}]},
        {"categories": [{**GOOD, "label": ""}]},
        {"categories": [{**GOOD, "label": "x" * 41}]},
        {"categories": [{**GOOD, "purpose": "Not A Name"}]},
        {"categories": [{**GOOD, "shade": "red"}]},
        {"categories": [GOOD], "wording": "Reply {choices}"},
        {"categories": [GOOD], "wording": {"de": "Antworten Sie {choices}"}},
        {"categories": [GOOD], "wording": {"en": "Reply 1 to keep them."}},
        {"categories": [GOOD], "wording": {"en": "Reply {choices} at {support}."}},
        {"categories": [GOOD], "wording": {"en": "Reply {choices"}},
        {"categories": [GOOD], "wording": {"en": "Reply {choices:>999999999}"}},
        {"categories": [GOOD], "wording": {"en": "Reply {choices!r}"}},
        {"categories": [GOOD], "wording": {"en": "Reply {choices[0]}"}},
        {"categories": [GOOD], "wording": {"en": ""}},
        {"categories": [GOOD], "wording": {"en": "{choices}" + "x" * 320}},
    ],
)
def test_a_malformed_setting_is_refused(data: Any) -> None:
    with pytest.raises(InvalidConfig):
        ScopeQuestion.from_json(data)


def test_the_question_lists_its_choices_in_the_reply_language() -> None:
    cats = QUESTION.categories[:2]
    assert render(QUESTION, cats, "en", "Acme") == (
        "To keep getting some of these, reply 1 for order updates, 2 for offers."
        " Otherwise all stay stopped."
    )
    assert "1 para order updates" in render(QUESTION, cats, "es", "Acme")
    assert render(QUESTION, cats, "xx", "Acme") == render(QUESTION, cats, "en", "Acme")
    worded = ScopeQuestion.from_json(
        {**QUESTION.to_json(), "wording": {"en": "{program}: keep any? Reply {choices}."}}
    )
    assert render(worded, cats[:1], "en", "Acme") == "Acme: keep any? Reply 1 for order updates."


# -- what a revocation revoked -------------------------------------------------------
def test_a_stop_revokes_what_was_allowed_and_offers_only_that() -> None:
    # never consented: transactional was allowed (non-restrictive), marketing was not
    assert offered([]) == {"1": "A2"}
    with_marketing = [entry(1, "i", "A1", "marketing")]
    assert offered(with_marketing) == {"1": "A2", "2": "A2"}


def test_a_pending_double_opt_in_is_not_offered() -> None:
    assert "2" not in offered([entry(1, "p", "A2", "marketing")])


def test_expired_consent_is_not_offered() -> None:
    policy = TenantPolicy(consent_ttl=timedelta(hours=10), purposes=POLICY.purposes)
    assert "2" not in offered([entry(1, "i", "A1", "marketing", at=1)], policy=policy)
    assert "2" in offered([entry(1, "i", "A1", "marketing", at=95)], policy=policy)


def test_what_an_earlier_stop_revoked_is_not_offered_again() -> None:
    earlier = [entry(1, "i", "A1", "marketing"), entry(2, "o", "L11", "marketing", at=2)]
    assert offered(earlier) == {"1": "A2"}


def test_a_disabled_purpose_is_never_offered() -> None:
    assert "4" not in offered([entry(1, "i", "A1", "fraud")])


def test_a_topic_is_offered_only_on_a_live_opt_in_to_it() -> None:
    assert "3" not in offered([])
    assert offered([entry(1, "i", "A2", topic="volunteer")])["3"] == "A2"


def test_a_stop_that_names_its_scope_is_asked_nothing() -> None:
    # "STOP MARKETING" already says what it covers (C16)
    assert offered([entry(1, "i", "A1", "marketing")], stop(purpose="marketing")) == {}
    assert offered([entry(1, "i", "A2", topic="volunteer")], stop(topic="volunteer")) == {}


def test_the_restoring_opt_in_never_lands_above_the_lines_account() -> None:
    # a STOP at the tenant root (reach tree) is given back under A only
    assert offered([entry(1, "i", "A1", "marketing")])["2"] == "A2"
    # a line-reach STOP is given back on the line
    assert offered([entry(1, "i", "A1", "marketing")], stop("L11")) == {"1": "L11", "2": "L11"}
    # from the sub-account's line, the landing is the sub-account
    assert offered([], line=L3) == {"1": "A3"}


def test_the_landing_narrows_to_the_line_when_another_line_differs() -> None:
    # an earlier STOP on L2 must not be undone by an answer on L1
    other_stop = [entry(1, "o", "L12", at=2)]
    assert offered(other_stop) == {"1": "L11"}
    # a double opt-in pending on L3 must not be confirmed by it
    assert offered([entry(1, "i", "A1", "marketing"), entry(2, "p", "L13", "marketing")]) == {
        "1": "A2",
        "2": "L11",
    }
    # an opt-in of the line alone is given back to the line alone
    assert offered([entry(1, "i", "L11", "marketing")])["2"] == "L11"
    # a STOP MARKETING on L2 narrows marketing only; entries outside A narrow nothing
    assert offered([entry(1, "i", "A1", "marketing"), entry(2, "o", "L12", "marketing")]) == {
        "1": "A2",
        "2": "L11",
    }
    assert offered([entry(1, "i", "A1", "marketing"), entry(2, "o", "L14")]) == {
        "1": "A2",
        "2": "A2",
    }


def test_ask_renders_only_what_is_offered() -> None:
    found = offers(QUESTION, [], stop(), directory=DIRECTORY, line=L1, policy=POLICY)
    asked = ask(QUESTION, found, language="en", program="Acme")
    assert asked is not None
    assert "1 for order updates" in asked.text and "offers" not in asked.text
    assert asked.version == QUESTION.version and asked.window_hours == 24
    assert ask(QUESTION, (), language="en", program="Acme") is None
    off = ScopeQuestion(False, QUESTION.categories)
    assert ask(off, found, language="en", program="Acme") is None


# -- reading an answer ---------------------------------------------------------------
CODES = ("1", "2", "A")


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("1", ("1",)),
        (" 1. ", ("1",)),
        ("#2", ("2",)),
        ("1, 2", ("1", "2")),
        ("1,2", ("1", "2")),
        ("2 and 1", ("2", "1")),
        ("1 & 2", ("1", "2")),
        ("1 1 2", ("1", "2")),
        ("Yes 1 please", ("1",)),
        ("ok 2 thanks", ("2",)),
        ("1 et 2 merci", ("1", "2")),
        ("sí, 2 por favor", ("2",)),
        ("\uff11", ("1",)),  # full-width digit
        ("a", ("A",)),
    ],
)
def test_an_answer_names_offered_codes_and_nothing_else(text: str, codes: tuple[str, ...]) -> None:
    assert read_answer(text, CODES) == Answer("choose", codes)


@pytest.mark.parametrize("text", ["no", "None", "nothing.", "No thanks", "non", "nada", "não"])
def test_a_refusal_is_read_as_one(text: str) -> None:
    assert read_answer(text, CODES) == Answer("decline", ())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "3",  # not offered
        "1 3",  # one not offered: the whole reply is unclear
        "12",
        "1 stop",
        "stop",
        "yes",
        "1 no",
        "keep the first one",
        "order updates",
        "1 " * 100,
    ],
)
def test_anything_else_is_not_an_answer(text: str) -> None:
    assert read_answer(text, CODES) is None


# -- answering -----------------------------------------------------------------------
OFFERS = (Offer(QUESTION.categories[0], "A2"), Offer(QUESTION.categories[1], "A2"))
REVOCATION = stop(ident=5)


def still(entries: list[Entry], codes: tuple[str, ...] = ("1", "2")) -> list[str]:
    found = restorable(OFFERS, codes, entries, directory=DIRECTORY, line=L1, revocation_id=5)
    return [o.category.code for o in found]


def test_an_answer_restores_what_the_revocation_still_holds() -> None:
    assert still([entry(1, "i", "A1", "marketing"), REVOCATION]) == ["1", "2"]
    assert still([REVOCATION], ("2",)) == ["2"]


def test_a_later_word_wins_over_the_answer() -> None:
    start = Entry(6, "r", "A1", "", "", STOP_AT + HOUR, "keyword")
    assert still([REVOCATION, start]) == []
    again = Entry(6, "o", "A1", "marketing", "", STOP_AT + HOUR, "keyword")
    assert still([REVOCATION, again]) == ["1"]


# -- linting -------------------------------------------------------------------------
def lint_of(question: ScopeQuestion, **kw: Any) -> list[str]:
    return lint(
        question,
        purposes=POLICY.purposes,
        confirmations=kw.pop("confirmations", {"en": "Acme: unsubscribed."}),
        program="Acme",
        **kw,
    )


def one(category: dict[str, Any], **extra: Any) -> ScopeQuestion:
    return ScopeQuestion.from_json({"enabled": True, "categories": [category], **extra})


def test_a_short_question_lints_clean() -> None:
    assert lint_of(one(GOOD)) == []


def test_the_whole_message_over_one_segment_is_a_warning() -> None:
    (warning,) = lint_of(one(GOOD), confirmations={"en": "Acme: unsubscribed. " + "x" * 120})
    assert "2 SMS segments" in warning


def test_a_topic_without_a_keyword_is_a_warning() -> None:
    question = one({"code": "1", "topic": "volunteer", "label": "volunteer news"})
    assert "volunteer" in lint_of(question)[0]
    assert lint_of(question, topics={"volunteer"}) == []


@pytest.mark.parametrize(
    ("question", "keywords"),
    [
        (one({**GOOD, "purpose": "loyalty"}), ()),  # not a purpose of the tenant
        (one({**GOOD, "purpose": "fraud"}), ()),  # disabled: never revoked
        (one({**GOOD, "code": "END"}), ()),  # an opt-out word
        (one({**GOOD, "code": "YES"}), ()),
        (one({**GOOD, "code": "NO"}), ()),
        (one({**GOOD, "code": "OK"}), ()),
        (one({**GOOD, "code": "JN"}), ("JN",)),  # the account's own keyword
        (one({**GOOD, "label": "free gifts"}), ()),  # C17: never promotional
        (one(GOOD, wording={"en": "Reply {choices} or see acme.com/prefs"}), ()),  # C18: no link
        (one(GOOD, wording={"en": "Reply {choices} for a 20% discount"}), ()),
    ],
)
def test_a_question_that_breaks_a_rule_is_refused(
    question: ScopeQuestion, keywords: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidConfig):
        lint_of(question, keywords=keywords)
