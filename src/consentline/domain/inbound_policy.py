"""What one classified inbound message does to the ledger: the decision rule, with no I/O.

Given the message's classification, where it arrived (line, account, the relaying
API key's account), the address's current ledger entries and the account's
settings, :func:`decide` says which consent changes to record, which reply to
queue and whether a person must review the message. The inbound service
(``services.inbound``) resolves the message, asks here, and writes the answer in
one unit of work; time is the message's receipt, passed in.

The rule, keyword by keyword:

* an opt-out (STOP, or the provider's own STOP verdict) records an opt-out at the
  keyword's reach and a confirmation reply — unless the address was already
  opted out there (C27: no second confirmation) or the provider replied itself
  (C17);
* an opt-in (START, YES): a topic keyword opts in to that topic; a confirm keyword
  (YES) confirms the newest live double opt-in request covering the line (C24);
  otherwise it resumes what an opt-out revoked (C12) and, when the account says
  so, also records an opt-in; on a number that never consented it creates
  nothing (C12);
* HELP queues the help reply (C11);
* an ambiguous message goes to the review queue, never dropped (C8).

>>> from consentline.domain.classifier import Classification, KeywordScope
>>> acme = Account(1, "acme", 1, None, "account", False, "US")
>>> line = Line(7, "+18005550100", 1, 1)
>>> directory = Directory([acme], [line])
>>> stop = Classification("opt_out", "exact", "STOP", "en", KeywordScope("default"),
...                       "opt_out", "v1", "stop")
>>> plan = decide(stop, InboundFacts(line, acme, received_us=0), [], directory=directory,
...               policy=TenantPolicy(), settings=AccountSettings(),
...               confirm_keywords=frozenset({"YES"}))
>>> [c.action for c in plan.changes], plan.reply
(['opt_out'], 'opt_out_confirmation')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from consentline.domain.classifier import Classification, KeywordScope
from consentline.domain.ledger import OUT, PENDING, Entry, fold, widened_entries
from consentline.domain.policy import TenantPolicy
from consentline.domain.replies import LANGUAGES
from consentline.domain.scopes import Account, Directory, Line
from consentline.domain.settings import AccountSettings

# A provider's own keyword verdict, normalised (``providers.hints``).
Verdict = Literal["opt_out", "opt_in", "help"]


@dataclass(frozen=True, slots=True)
class InboundFacts:
    """Where and when one message arrived, as the decision needs it."""

    line: Line
    account: Account
    received_us: int
    # The account of the API key that relayed the message (None for a signed
    # webhook): a YES it relays confirms only requests inside that subtree.
    within: str | None = None
    # The provider's verdict on the keyword (Twilio ``OptOutType``, ...), None when it
    # gave none: a verdict also means the provider already auto-replied.
    provider_verdict: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One consent change to record. Exactly one of ``via``, ``account``, ``line``.

    ``via`` is the line the keyword arrived on (the scope then follows the account's
    reach for opt-outs and resumes); ``confirms`` is the id of the double opt-in
    request this opt-in confirms (C24).
    """

    action: Literal["opt_in", "opt_out", "resume"]
    via: str | None = None
    account: str | None = None
    line: str | None = None
    purpose: str | None = None
    topic: str | None = None
    reach: str | None = None
    confirms: int | None = None


@dataclass(frozen=True, slots=True)
class InboundDecision:
    """What to do with one message: changes in order, at most one reply, or a review."""

    changes: tuple[Change, ...] = ()
    reply: str | None = None  # a reply kind of ``domain.replies``
    language: str = "en"
    review: bool = False
    decided_by: Literal["classifier", "provider_hint"] = "classifier"


def decide(
    cls: Classification,
    facts: InboundFacts,
    entries: Sequence[Entry],
    *,
    directory: Directory,
    policy: TenantPolicy,
    settings: AccountSettings,
    confirm_keywords: frozenset[str],
) -> InboundDecision:
    """The decision for one message (``settings`` are the account's effective ones).

    ``entries`` are the address's projection entries in fold order (an entry with a
    negative id is one decided earlier in the same batch, not yet written).
    """
    language = reply_language(cls, settings)
    provider_replied = facts.provider_verdict is not None
    intent: str = cls.intent
    decided_by: Literal["classifier", "provider_hint"] = "classifier"
    if facts.provider_verdict == "opt_out" and intent != "opt_out":
        intent, decided_by = "opt_out", "provider_hint"  # honour the provider's STOP

    def plan(*changes: Change, reply: str | None = None, review: bool = False) -> InboundDecision:
        return InboundDecision(changes, reply, language, review, decided_by)

    line_number = facts.line.number
    if intent == "opt_out":
        scope = cls.scope if decided_by == "classifier" else KeywordScope("default")
        purpose = scope.name if scope.kind == "purpose" else None
        if purpose is not None and purpose not in policy.purposes:
            purpose = None
        topic = scope.name if scope.kind == "topic" else None
        reach = "tree" if scope.kind == "all" else settings.keyword_reach.get(cls.keyword or "")
        repeated = opted_out(
            directory,
            facts.line,
            entries,
            purpose or "",
            topic or "",
            _revoke_all(policy, purpose),
        )
        stop = Change("opt_out", via=line_number, purpose=purpose, topic=topic, reach=reach)
        if repeated or provider_replied:  # C17 / C27
            return plan(stop)
        return plan(stop, reply="opt_out_confirmation")
    if intent == "opt_in":
        welcome = None if provider_replied else "welcome"
        if cls.topic is not None:
            subscribe = Change("opt_in", account=facts.account.slug, topic=cls.topic)
            return plan(subscribe, reply=welcome)
        confirm = (cls.keyword or "").upper() in confirm_keywords
        request = pending(directory, policy, facts, entries) if confirm else None
        if request is not None:
            line = None
            if request.scope.startswith("L"):
                line = directory.line_by_id(int(request.scope[1:])).number
            account = None if line else directory.account_by_id(int(request.scope[1:])).slug
            confirmed = Change(
                "opt_in",
                account=account,
                line=line,
                purpose=request.purpose or None,
                topic=request.topic or None,
                confirms=request.id,
            )
            return plan(confirmed, reply="welcome")
        start = Change("opt_in", via=line_number)
        if opted_out_anywhere(directory, policy, facts.line, entries):
            if settings.start_creates_opt_in and not confirm:
                return plan(Change("resume", via=line_number), start, reply=welcome)
            return plan(Change("resume", via=line_number), reply=welcome)
        if settings.start_creates_opt_in and not confirm:
            return plan(start, reply=welcome)
        return plan()  # C12: START/YES on a number that never consented creates nothing
    if intent == "help":
        return plan(reply=None if provider_replied else "help")
    if intent == "ambiguous":
        return plan(review=True)  # C8: a person decides; never dropped
    return plan()


def reply_language(cls: Classification, settings: AccountSettings) -> str:
    """The language to answer in: the message's own if we have replies in it."""
    if cls.language in LANGUAGES:
        return cls.language or "en"
    return settings.language or "en"


def _items(entries: Sequence[Entry]) -> list[tuple[str, str, str, str]]:
    return [(e.code, e.scope, e.purpose, e.topic) for e in entries]


def _revoke_all(policy: TenantPolicy, purpose: str | None) -> int | None:
    """The revoke-all instant (C16) for sends of ``purpose`` (None: off or disabled)."""
    rule = policy.purposes.get(purpose) if purpose else None
    return policy.revoke_all_us if rule is None else policy.revoke_all_for(rule)


def opted_out(
    directory: Directory,
    line: Line,
    entries: Sequence[Entry],
    purpose: str,
    topic: str,
    revoke_all_us: int | None = None,
) -> bool:
    """Whether sends of ``purpose`` / ``topic`` from ``line`` are opted out; scoped
    opt-outs on or after ``revoke_all_us`` cover every purpose and topic (C16)."""
    scopes = directory.covering_scopes(line)
    widened = widened_entries(entries, revoke_all_us)
    return fold(_items(entries), scopes, purpose, topic, widened)[0] == OUT


def opted_out_anywhere(
    directory: Directory, policy: TenantPolicy, line: Line, entries: Sequence[Entry]
) -> bool:
    """Whether any purpose (or all of them) is opted out for sends from ``line``."""
    return any(
        opted_out(directory, line, entries, p, "", _revoke_all(policy, p))
        for p in ["", *policy.purposes]
    )


def pending(
    directory: Directory, policy: TenantPolicy, facts: InboundFacts, entries: Sequence[Entry]
) -> Entry | None:
    """The newest live double opt-in request covering the line (C24).

    A message relayed by an API key confirms only requests inside the key's subtree:
    confirming one above it would allow sends from lines the key does not reach.
    A request decided earlier in the same batch (negative id) is not yet one to confirm.
    """
    scopes = directory.covering_scopes(facts.line)
    if facts.within is not None:
        home = directory.account(facts.within)
        scopes = frozenset(
            s for s in scopes if directory.is_within(directory.scope_account(s), home.id)
        )
    ttl_us = int(policy.pending_ttl.total_seconds() * 1_000_000)
    items = _items(entries)
    for index in range(len(entries) - 1, -1, -1):
        entry = entries[index]
        if entry.code != "p" or entry.scope not in scopes or entry.id < 0:
            continue
        if facts.received_us - entry.occurred_us >= ttl_us:
            return None
        purpose = entry.purpose or next(iter(policy.purposes), "")
        widened = widened_entries(entries, _revoke_all(policy, purpose))  # C16
        state, decided = fold(items, scopes, purpose, entry.topic, widened)
        if state == PENDING and decided == index:
            return entry
    return None
