"""The inbound decision rule (domain.inbound_policy), pure: one row per case of the table.

The tenant: root account ``acme`` (#1, reach ``account``) with line #7, and its
sub-account ``shop`` (#2) with line #8. Times are µs; a message arrives at ``NOW``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import pytest

from consentline.domain.classifier import (
    DEFAULT_SCOPE,
    Classification,
    Intent,
    KeywordScope,
    ProviderIntent,
)
from consentline.domain.inbound_policy import Change, InboundDecision, InboundFacts, decide
from consentline.domain.ledger import Entry
from consentline.domain.policy import TenantPolicy
from consentline.domain.scopes import Account, Directory, Line
from consentline.domain.settings import AccountSettings

HOUR = 3_600_000_000
NOW = 100 * HOUR
ACME = Account(1, "acme", 1, None, "account", False, "US")
SHOP = Account(2, "shop", 1, 1, None, False, None)
LINE = Line(7, "+18005550100", 1, 1)
SHOP_LINE = Line(8, "+18005550111", 2, 1)
DIRECTORY = Directory([ACME, SHOP], [LINE, SHOP_LINE])
POLICY = TenantPolicy(pending_ttl=timedelta(hours=48))
CONFIRM = frozenset({"YES"})


def said(
    intent: Intent,
    keyword: str | None,
    *,
    scope: KeywordScope = DEFAULT_SCOPE,
    language: str | None = "en",
    topic: str | None = None,
) -> Classification:
    """What the classifier made of a message (only the fields the rule reads matter)."""
    exact: ProviderIntent = intent if intent in ("opt_out", "opt_in", "help") else "none"
    return Classification(
        intent,
        "test",
        keyword,
        language,
        scope,
        exact,
        "test",
        (keyword or "").lower(),
        topic,
    )


def entry(ident: int, code: str, scope: str = "A1", purpose: str = "", *, hours_ago: int) -> Entry:
    return Entry(ident, code, scope, purpose, "", NOW - hours_ago * HOUR, "keyword")


OPTED_IN = (entry(1, "i", purpose="marketing", hours_ago=50),)
OPTED_OUT = (*OPTED_IN, entry(2, "o", hours_ago=2))
PENDING_REQUEST = (entry(3, "p", purpose="marketing", hours_ago=1),)


@dataclass(frozen=True)
class Case:
    id: str
    said: Classification
    entries: tuple[Entry, ...] = ()
    changes: tuple[Change, ...] = ()
    reply: str | None = None
    review: bool = False
    decided_by: Literal["classifier", "provider_hint"] = "classifier"
    verdict: str | None = None  # the provider's normalised hint
    line: Line = LINE
    within: str | None = None
    settings: AccountSettings = field(default_factory=AccountSettings)
    language: str = "en"


STOP = said("opt_out", "STOP")
START = said("opt_in", "START")
YES = said("opt_in", "YES")
OUT_VIA_LINE = Change("opt_out", via=LINE.number)
RESUME = Change("resume", via=LINE.number)
OPT_IN = Change("opt_in", via=LINE.number)
CREATES = AccountSettings(start_creates_opt_in=True)

CASES = [
    # -- opt-out (C17, C27) --------------------------------------------------------
    Case("stop on an opted-in number", STOP, OPTED_IN, (OUT_VIA_LINE,), "opt_out_confirmation"),
    Case("stop on a never-consented number", STOP, (), (OUT_VIA_LINE,), "opt_out_confirmation"),
    Case("repeated stop: no second confirmation (C27)", STOP, OPTED_OUT, (OUT_VIA_LINE,)),
    Case("stop the provider already answered", STOP, OPTED_IN, (OUT_VIA_LINE,), verdict="opt_out"),
    Case(
        "the provider's STOP verdict overrides the classifier",
        said("none", None),
        OPTED_IN,
        (OUT_VIA_LINE,),
        decided_by="provider_hint",
        verdict="opt_out",
    ),
    Case(
        "the provider's STOP verdict keeps the default reach, not the keyword's scope",
        said("ambiguous", "STOP", scope=KeywordScope("purpose", "marketing")),
        OPTED_IN,
        (OUT_VIA_LINE,),
        decided_by="provider_hint",
        verdict="opt_out",
    ),
    Case(
        "stop for one purpose",
        said("opt_out", "STOP", scope=KeywordScope("purpose", "marketing")),
        OPTED_IN,
        (Change("opt_out", via=LINE.number, purpose="marketing"),),
        "opt_out_confirmation",
    ),
    Case(
        "stop naming a purpose the tenant lacks stops everything",
        said("opt_out", "STOP", scope=KeywordScope("purpose", "raffles")),
        OPTED_IN,
        (OUT_VIA_LINE,),
        "opt_out_confirmation",
    ),
    Case(
        "stop for one topic",
        said("opt_out", "STOP", scope=KeywordScope("topic", "volunteer")),
        OPTED_IN,
        (Change("opt_out", via=LINE.number, topic="volunteer"),),
        "opt_out_confirmation",
    ),
    Case(
        "stop all reaches the whole tree",
        said("opt_out", "STOPALL", scope=KeywordScope("all")),
        OPTED_IN,
        (Change("opt_out", via=LINE.number, reach="tree"),),
        "opt_out_confirmation",
    ),
    Case(
        "an account's per-keyword reach",
        said("opt_out", "QUIT"),
        OPTED_IN,
        (Change("opt_out", via=LINE.number, reach="line"),),
        "opt_out_confirmation",
        settings=AccountSettings(keyword_reach={"QUIT": "line"}),
    ),
    Case(
        "a stop for marketing after a stop for transactional still confirms",
        said("opt_out", "STOP", scope=KeywordScope("purpose", "marketing")),
        (*OPTED_IN, entry(2, "o", "A1", "transactional", hours_ago=2)),
        (Change("opt_out", via=LINE.number, purpose="marketing"),),
        "opt_out_confirmation",
    ),
    # -- opt-in: START restores, never creates (C12) ---------------------------------
    Case("start restores after stop (C12)", START, OPTED_OUT, (RESUME,), "welcome"),
    Case(
        "start restores and subscribes when the account says so",
        START,
        OPTED_OUT,
        (RESUME, OPT_IN),
        "welcome",
        settings=CREATES,
    ),
    Case("start on a never-consented number creates nothing (C12)", START, ()),
    Case("start on an opted-in number changes nothing", START, OPTED_IN),
    Case(
        "start creates an opt-in when the account says so",
        START,
        (),
        (OPT_IN,),
        "welcome",
        settings=CREATES,
    ),
    Case("start the provider answered: no welcome", START, OPTED_OUT, (RESUME,), verdict="opt_in"),
    Case(
        "a topic keyword subscribes to the topic",
        said("opt_in", "VOLUNTEER", topic="volunteer"),
        (),
        (Change("opt_in", account="acme", topic="volunteer"),),
        "welcome",
    ),
    # -- double opt-in (C24) -------------------------------------------------------
    Case(
        "yes confirms a pending request (C24)",
        YES,
        PENDING_REQUEST,
        (Change("opt_in", account="acme", purpose="marketing", confirms=3),),
        "welcome",
    ),
    Case(
        "yes confirms a line's pending request at the line",
        YES,
        (entry(4, "p", "L7", "marketing", hours_ago=1),),
        (Change("opt_in", line=LINE.number, purpose="marketing", confirms=4),),
        "welcome",
    ),
    Case(
        "yes confirms even when the provider answered",
        YES,
        PENDING_REQUEST,
        (Change("opt_in", account="acme", purpose="marketing", confirms=3),),
        "welcome",
        verdict="opt_in",
    ),
    Case(
        "yes after the request expired confirms nothing",
        YES,
        (entry(3, "p", purpose="marketing", hours_ago=48),),
    ),
    Case(
        "yes to a request decided earlier in the same batch confirms nothing",
        YES,
        (entry(-1, "p", purpose="marketing", hours_ago=0),),
    ),
    Case(
        "yes confirms the newest live request",
        YES,
        (entry(3, "p", purpose="marketing", hours_ago=5), entry(5, "p", hours_ago=1)),
        (Change("opt_in", account="acme", confirms=5),),
        "welcome",
    ),
    Case(
        "yes relayed by a sub-account's key does not confirm its parent's request",
        YES,
        PENDING_REQUEST,
        line=SHOP_LINE,
        within="shop",
    ),
    Case(
        "yes relayed by a sub-account's key confirms its own request",
        YES,
        (entry(6, "p", "A2", "marketing", hours_ago=1),),
        (Change("opt_in", account="shop", purpose="marketing", confirms=6),),
        "welcome",
        line=SHOP_LINE,
        within="shop",
    ),
    Case("yes restores after stop", YES, OPTED_OUT, (RESUME,), "welcome"),
    Case(
        "yes never creates an opt-in, even when start would",
        YES,
        (),
        settings=CREATES,
    ),
    Case("yes after stop only restores", YES, OPTED_OUT, (RESUME,), "welcome", settings=CREATES),
    # -- help, review, nothing -----------------------------------------------------
    Case("help is answered (C11)", said("help", "HELP"), OPTED_IN, reply="help"),
    Case("help the provider answered", said("help", "HELP"), OPTED_IN, verdict="help"),
    Case("ambiguous goes to review (C8)", said("ambiguous", "STAHP"), OPTED_IN, review=True),
    Case("an ordinary message does nothing", said("none", None), OPTED_IN),
    Case(
        "a provider's HELP verdict does not override the classifier",
        said("none", None),
        OPTED_IN,
        verdict="help",
    ),
    # -- the reply's language ------------------------------------------------------
    Case(
        "the reply is in the message's language",
        said("opt_out", "ARRET", language="fr"),
        (),
        (OUT_VIA_LINE,),
        "opt_out_confirmation",
        language="fr",
    ),
    Case(
        "a language without replies falls back to the account's",
        said("help", "HJELP", language="no"),
        reply="help",
        settings=AccountSettings(language="es"),
        language="es",
    ),
    Case("and then to English", said("help", "HULP", language="nl"), reply="help"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_decision_table(case: Case) -> None:
    account = DIRECTORY.account_by_id(case.line.account_id)
    facts = InboundFacts(case.line, account, NOW, case.within, case.verdict)
    decision = decide(
        case.said,
        facts,
        list(case.entries),
        directory=DIRECTORY,
        policy=POLICY,
        settings=case.settings,
        confirm_keywords=CONFIRM,
    )
    assert decision == InboundDecision(
        case.changes,
        case.reply,
        case.language,
        case.review,
        case.decided_by,
    )


def test_the_decision_is_the_same_for_the_same_facts() -> None:
    facts = InboundFacts(LINE, ACME, NOW)
    first, again = (
        decide(
            STOP,
            facts,
            list(OPTED_IN),
            directory=DIRECTORY,
            policy=POLICY,
            settings=AccountSettings(),
            confirm_keywords=CONFIRM,
        )
        for _ in range(2)
    )
    assert first == again
    assert hash(first) == hash(again)  # frozen, hashable values
