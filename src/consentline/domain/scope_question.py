"""The optional scope question of an opt-out confirmation (C17; FCC 47 CFR 64.1200(a)(12)).

The one text that confirms a revocation may also ask which kinds of message the
revocation covers; without an affirmative answer every kind that needs consent
stays revoked. An account that turns the question on lists the categories it
offers (a purpose or a topic, each with a short reply code and a label) and may
word the question itself; the question is appended to the confirmation, so the
handset still gets one message, within five minutes or never (C17).

The revocation is recorded at receipt with its full reach, like any other (C14):
the question never delays or narrows it. What this module decides, with no I/O
and the time passed in:

* :func:`offers` — which of the account's categories this revocation (one that
  did not name its own scope) actually revoked (allowed just before, opted out
  just after, seen from the line it arrived on), and where an opt-in restoring
  each would land. A category that was pending a double opt-in, never consented
  to (restrictive), already opted out, or not checked at all is not offered: an
  answer can only give back what the revocation took.
* :func:`read_answer` — whether a reply is an answer: only offered codes (with
  separators and a few courtesy words: "1", "1, 2", "yes 1 please"), or a
  refusal ("no", "none"). Anything else is not an answer and changes nothing.
* :func:`restorable` — at answer time, the chosen offers whose category is still
  opted out by that very revocation (a later STOP, START or opt-in wins).

>>> q = ScopeQuestion.from_json({"enabled": True, "categories": [
...     {"code": "1", "purpose": "transactional", "label": "order updates"}]})
>>> read_answer("Yes 1 please", q.codes), read_answer("none", q.codes)
(Answer(kind='choose', codes=('1',)), Answer(kind='decline', codes=()))
>>> read_answer("1 stop", q.codes) is None
True
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, Literal, NamedTuple

from consentline.domain.classifier import DEFAULT_CONFIG, classify
from consentline.domain.errors import InvalidConfig
from consentline.domain.ledger import IN, OUT, Entry, fold, widened_entries
from consentline.domain.policy import PurposeRule, TenantPolicy, check_name, decide_state
from consentline.domain.replies import (
    LANGUAGES,
    SINGLE_SEGMENT_GSM,
    confirmation_problems,
    segments,
)
from consentline.domain.scopes import Directory, Line, account_scope, line_scope, parse_scope

# How long an answer counts. A day: people read a confirmation late (at night, at
# work), so minutes would lose real answers; a longer wait weakens the link between
# the question and a bare "1" (the number may be in someone else's hands, the
# person may be answering something else), and every category stays revoked
# meanwhile, which is the safe side. An account may choose 1 to 72 hours.
DEFAULT_WINDOW_HOURS: Final = 24
MIN_WINDOW_HOURS: Final = 1
MAX_WINDOW_HOURS: Final = 72
MAX_CATEGORIES: Final = 9
MAX_LABEL: Final = 40
MAX_WORDING: Final = 320
MAX_ANSWER: Final = 160  # a longer reply is a message, not an answer to a menu

_CODE: Final = re.compile(r"[A-Za-z0-9]{1,3}")
_FIELDS: Final = frozenset({"choices", "program"})
_KEYS: Final = frozenset({"enabled", "categories", "window_hours", "wording"})
_CATEGORY_KEYS: Final = frozenset({"code", "label", "purpose", "topic"})

# The built-in wording (consentline's own), GSM-7 only, one per reply language.
DEFAULT_WORDING: Final[Mapping[str, str]] = {
    "en": "To keep getting some of these, reply {choices}. Otherwise all stay stopped.",
    "fr": "Pour garder certains messages, répondez {choices}. Sinon, tout reste arrêté.",
    "es": "Para seguir recibiendo algunos, responda {choices}. Si no, todo queda cancelado.",
    "pt": "Para continuar recebendo alguns, responda {choices}. Se nao, tudo fica cancelado.",
}
_FOR: Final = {"en": "for", "fr": "pour", "es": "para", "pt": "para"}

# Words an answer may carry besides its codes ("yes 1 please", "1 et 2 merci").
_COURTESY: Final = frozenset(
    {"and", "yes", "yeah", "yep", "ok", "okay", "please", "pls", "plz", "keep", "only", "just"}
    | {"thanks", "thank", "you", "thx", "ty"}
    | {"et", "oui", "merci"}  # fr
    | {"y", "si", "por", "favor", "gracias"}  # es
    | {"e", "sim", "obrigado", "obrigada"}  # pt
)
# A refusal: every category stays revoked, and the question is settled.
_REFUSAL: Final = frozenset(
    {"no", "none", "nothing", "nope", "nah", "neither"}
    | {"non", "aucun", "aucune", "rien"}  # fr
    | {"ninguno", "ninguna", "nada"}  # es
    | {"nao", "nenhum", "nenhuma"}  # pt (accents folded)
)


# -- the setting --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Category:
    """One kind of message the question offers to keep: a purpose or a topic."""

    code: str  # what the handset replies, upper-case ("1", "A")
    label: str  # what the question calls it ("order updates")
    purpose: str | None = None
    topic: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "label": self.label}
        if self.purpose is not None:
            out["purpose"] = self.purpose
        if self.topic is not None:
            out["topic"] = self.topic
        return out

    @property
    def describe(self) -> str:
        return f"purpose {self.purpose}" if self.purpose else f"topic {self.topic}"


@dataclass(frozen=True, slots=True)
class ScopeQuestion:
    """An account's scope question: off unless ``enabled``, with at least one category."""

    enabled: bool = False
    categories: tuple[Category, ...] = ()
    window_hours: int = DEFAULT_WINDOW_HOURS
    wording: Mapping[str, str] = field(default_factory=dict)  # language -> text with {choices}

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_hours)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(c.code for c in self.categories)

    @property
    def version(self) -> str:
        """A short hash of the setting (categories, wording, window): which version asked."""
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "enabled": self.enabled,
            "categories": [c.to_json() for c in self.categories],
            "window_hours": self.window_hours,
        }
        if self.wording:
            out["wording"] = dict(self.wording)
        return out

    @classmethod
    def from_json(cls, data: Any) -> ScopeQuestion:
        """Build and check the setting's shape (:class:`InvalidConfig` for a breach).

        What needs the tenant (its purposes) or the wording rendered is checked by
        :func:`lint`, before the setting is saved.
        """
        if not isinstance(data, Mapping):
            raise InvalidConfig("scope_question must be an object", setting="scope_question")
        unknown = set(data) - _KEYS
        if unknown:
            raise InvalidConfig(
                f"unknown scope_question field(s): {', '.join(sorted(map(str, unknown)))}",
                setting="scope_question",
            )
        enabled = data.get("enabled", False)
        if not isinstance(enabled, bool):
            raise InvalidConfig("scope_question.enabled must be true or false", setting="enabled")
        window = data.get("window_hours", DEFAULT_WINDOW_HOURS)
        if isinstance(window, bool) or not isinstance(window, int):
            raise InvalidConfig("scope_question.window_hours must be a whole number of hours")
        if not MIN_WINDOW_HOURS <= window <= MAX_WINDOW_HOURS:
            raise InvalidConfig(
                f"scope_question.window_hours must be {MIN_WINDOW_HOURS} to {MAX_WINDOW_HOURS}",
                setting="window_hours",
            )
        raw = data.get("categories", [])
        if not isinstance(raw, list | tuple):
            raise InvalidConfig("scope_question.categories must be a list", setting="categories")
        if len(raw) > MAX_CATEGORIES:
            raise InvalidConfig(
                f"scope_question offers at most {MAX_CATEGORIES} categories",
                setting="categories",
            )
        categories = tuple(_category(item) for item in raw)
        codes = [c.code for c in categories]
        if len(set(codes)) != len(codes):
            raise InvalidConfig("scope_question codes must be different", setting="categories")
        kinds = [(c.purpose, c.topic) for c in categories]
        if len(set(kinds)) != len(kinds):
            raise InvalidConfig("a category is offered twice", setting="categories")
        if enabled and not categories:
            raise InvalidConfig(
                "an enabled scope_question needs at least one category", setting="categories"
            )
        wording = data.get("wording", {})
        if not isinstance(wording, Mapping):
            raise InvalidConfig("scope_question.wording must be an object", setting="wording")
        checked: dict[str, str] = {}
        for language, text in wording.items():
            if language not in LANGUAGES:
                raise InvalidConfig(f"no replies in language {language!r}", language=str(language))
            checked[language] = _wording(text)
        return cls(enabled, categories, window, checked)


def _category(item: Any) -> Category:
    if not isinstance(item, Mapping):
        raise InvalidConfig("each scope_question category is an object", setting="categories")
    unknown = set(item) - _CATEGORY_KEYS
    if unknown:
        raise InvalidConfig(
            f"unknown category field(s): {', '.join(sorted(map(str, unknown)))}",
            setting="categories",
        )
    code = item.get("code")
    if not isinstance(code, str) or _CODE.fullmatch(code.strip()) is None:
        raise InvalidConfig(
            "a category code is 1 to 3 letters or digits (e.g. 1, 2, A)", setting="categories"
        )
    label = item.get("label")
    if not isinstance(label, str) or not 1 <= len(label.strip()) <= MAX_LABEL:
        raise InvalidConfig(
            f"a category label is 1 to {MAX_LABEL} characters", setting="categories"
        )
    purpose, topic = item.get("purpose"), item.get("topic")
    if (purpose is None) == (topic is None):
        raise InvalidConfig(
            "a category names exactly one of purpose or topic", setting="categories"
        )
    return Category(
        code.strip().upper(),
        " ".join(label.split()),
        None if purpose is None else check_name("purpose", purpose),
        None if topic is None else check_name("topic", topic),
    )


def _wording(text: Any) -> str:
    if not isinstance(text, str) or not 1 <= len(text.strip()) <= MAX_WORDING:
        raise InvalidConfig(
            f"the scope question wording is 1 to {MAX_WORDING} characters", setting="wording"
        )
    try:
        fields = [f for f in string.Formatter().parse(text) if f[1] is not None]
    except ValueError:
        raise InvalidConfig("the scope question wording has a broken {placeholder}") from None
    if any(spec or conversion for _, _, spec, conversion in fields):
        # "{choices:>99999999}" would render a message of any size: plain fields only
        raise InvalidConfig(
            "placeholders in the scope question take no format: write {choices}",
            setting="wording",
        )
    names = {name for _, name, _, _ in fields if name is not None}
    if names - _FIELDS:
        raise InvalidConfig(
            f"unknown placeholder(s) {', '.join(sorted(names - _FIELDS))} in the scope question;"
            " use {choices} and {program}",
            setting="wording",
        )
    if "choices" not in names:
        raise InvalidConfig(
            "the scope question wording must show the codes: put {choices} in it",
            setting="wording",
        )
    return text.strip()


# -- asking -------------------------------------------------------------------------
class Offer(NamedTuple):
    """A category a revocation revoked, and the scope an opt-in restoring it lands at."""

    category: Category
    scope: str

    def to_json(self) -> dict[str, Any]:
        return {**self.category.to_json(), "scope": self.scope}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Offer:
        category = Category(data["code"], data["label"], data.get("purpose"), data.get("topic"))
        return cls(category, str(data["scope"]))


@dataclass(frozen=True, slots=True)
class Ask:
    """The question one confirmation will carry: its text and what it offers."""

    text: str  # the question part, rendered in the reply's language
    offers: tuple[Offer, ...]
    window_hours: int
    version: str


def render(
    question: ScopeQuestion,
    categories: Sequence[Category],
    language: str,
    program: str,
) -> str:
    """The question as the handset reads it ("... reply 1 for order updates, ...")."""
    lang = language if language in LANGUAGES else "en"
    template = question.wording.get(lang) or DEFAULT_WORDING[lang]
    choices = ", ".join(f"{c.code} {_FOR[lang]} {c.label}" for c in categories)
    return template.format(choices=choices, program=program)


def _items(entries: Sequence[Entry]) -> list[tuple[str, str, str, str]]:
    return [(e.code, e.scope, e.purpose, e.topic) for e in entries]


def _fold(
    entries: Sequence[Entry],
    scopes: frozenset[str],
    category: Category,
    revoke_all_us: int | None = None,
) -> tuple[str, int]:
    # A purpose is an untopical send of that purpose; a topic, a send of that topic
    # (of no particular purpose: topic opt-ins are recorded without one). Scoped
    # opt-outs on or after ``revoke_all_us`` cover every category (C16).
    widened = widened_entries(entries, revoke_all_us)
    return fold(_items(entries), scopes, category.purpose or "", category.topic or "", widened)


def _revoke_all(policy: TenantPolicy, category: Category) -> int | None:
    rule = policy.purposes.get(category.purpose) if category.purpose else None
    return policy.revoke_all_us if rule is None else policy.revoke_all_for(rule)


def _was_allowed(
    category: Category,
    state: str,
    decided: Entry | None,
    policy: TenantPolicy,
    at_us: int,
) -> bool:
    """Would a send of ``category`` have been allowed just before the revocation?"""
    decided_us = None if decided is None else decided.occurred_us
    if category.purpose is not None:
        rule = policy.purposes.get(category.purpose)
        if rule is None or rule.model == "disabled":
            return False  # never checked, so never revoked
        return decide_state(state, decided_us, rule, policy, at_us)[0]
    # A topic is allowed only on a live opt-in to it (a consent to restore).
    return (
        state == IN
        and decide_state(state, decided_us, PurposeRule("topic", "restrictive"), policy, at_us)[0]
    )


def _covers(entry: Entry, category: Category) -> bool:
    """Can ``entry`` take part in a fold about ``category`` (scope aside)?"""
    if entry.purpose and entry.purpose != (category.purpose or ""):
        return False
    topic = category.topic or ""
    if entry.code in ("i", "p"):
        return entry.topic == topic
    return entry.topic in ("", topic)


def _landing(
    category: Category,
    before: Sequence[Entry],
    *,
    directory: Directory,
    line: Line,
    revocation_scope: str,
) -> str:
    """Where an opt-in giving ``category`` back lands: the line's account, or the line.

    Never above the line's account (an answer to one account's question speaks for
    that account, not for its parents or siblings). The account only when every line
    under it would get back exactly what this line gets back: no entry about the
    category sits on the line itself or anywhere inside the account's subtree below
    the account, where it could make another line's history differ (an earlier STOP
    on another line, a pending double opt-in there, an opt-in of the line alone).
    Otherwise the line alone: it cannot give anything to anyone else.
    """
    own = line_scope(line.id)
    if parse_scope(revocation_scope).is_line:
        return own
    home = account_scope(line.account_id)
    for entry in before:
        if entry.scope == home or not _covers(entry, category):
            continue
        if entry.scope == own or directory.is_within(
            directory.scope_account(entry.scope), line.account_id
        ):
            return own
    return home


def offers(
    question: ScopeQuestion,
    before: Sequence[Entry],
    revocation: Entry,
    *,
    directory: Directory,
    line: Line,
    policy: TenantPolicy,
) -> tuple[Offer, ...]:
    """The categories ``revocation`` revoked, seen from ``line``, with their landings.

    ``before`` are the address's entries before it, in fold order. A category is
    offered when a send of it from the line was allowed at the revocation's receipt
    and is opted out once the revocation is folded in. A revocation that named its
    own scope ("STOP MARKETING", C16) has said what it covers: nothing is offered.
    """
    if revocation.purpose or revocation.topic:
        return ()
    scopes = directory.covering_scopes(line)
    after = [*before, revocation]
    at_us = revocation.occurred_us
    found: list[Offer] = []
    for category in question.categories:
        revoke_all_us = _revoke_all(policy, category)
        if _fold(after, scopes, category, revoke_all_us)[0] != OUT:
            continue
        state, index = _fold(before, scopes, category, revoke_all_us)
        decided = before[index] if index >= 0 else None
        if state == OUT or not _was_allowed(category, state, decided, policy, at_us):
            continue
        landing = _landing(
            category, before, directory=directory, line=line, revocation_scope=revocation.scope
        )
        found.append(Offer(category, landing))
    return tuple(found)


def ask(
    question: ScopeQuestion,
    offered: Sequence[Offer],
    *,
    language: str,
    program: str,
) -> Ask | None:
    """The question to append, or None when the revocation revoked nothing offered."""
    if not question.enabled or not offered:
        return None
    text = render(question, [o.category for o in offered], language, program)
    return Ask(text, tuple(offered), question.window_hours, question.version)


# -- answering ----------------------------------------------------------------------
class Answer(NamedTuple):
    """A reply read as an answer: the codes it chose, or a refusal."""

    kind: Literal["choose", "decline"]
    codes: tuple[str, ...]


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", " ", plain).split()


def read_answer(text: str, codes: Collection[str]) -> Answer | None:
    """``text`` as an answer to a question offering ``codes``, or None if it is not one.

    An answer chooses: one or more offered codes, with nothing else but separators
    and courtesy words. Or it refuses: "no", "none", "nothing" (in the four reply
    languages). A reply that mixes a code with anything else, names a code not
    offered, or is a message of its own is not an answer: it changes nothing.
    """
    if not isinstance(text, str) or len(text) > MAX_ANSWER:
        return None
    offered = {c.casefold(): c for c in codes}
    chosen: list[str] = []
    refused = False
    for word in _words(text):
        if word in offered:
            chosen.append(offered[word])
        elif word in _REFUSAL:
            refused = True
        elif word not in _COURTESY:
            return None
    if chosen and not refused:
        return Answer("choose", tuple(dict.fromkeys(chosen)))
    if refused and not chosen:
        return Answer("decline", ())
    return None


def restorable(
    offered: Sequence[Offer],
    codes: Collection[str],
    entries: Sequence[Entry],
    *,
    directory: Directory,
    line: Line,
    revocation_id: int,
    revoke_all_us: int | None = None,
) -> tuple[Offer, ...]:
    """The chosen offers still opted out by the revocation itself, seen from ``line``.

    If anything decided a category since (a later STOP, a START, an opt-in), the
    answer leaves it alone: the newer word of the handset or the business wins
    (a later scoped STOP too, once it revokes everything: ``revoke_all_us``, C16).
    """
    scopes = directory.covering_scopes(line)
    chosen = set(codes)
    found: list[Offer] = []
    for offer in offered:
        if offer.category.code not in chosen:
            continue
        state, index = _fold(entries, scopes, offer.category, revoke_all_us)
        if state == OUT and index >= 0 and entries[index].id == revocation_id:
            found.append(offer)
    return tuple(found)


# -- linting ------------------------------------------------------------------------
def lint(
    question: ScopeQuestion,
    *,
    purposes: Mapping[str, PurposeRule],
    confirmations: Mapping[str, str],
    program: str,
    keywords: Collection[str] = (),
    topics: Collection[str] = (),
) -> list[str]:
    """Check a scope question before it is saved; raise InvalidConfig, return warnings.

    ``confirmations`` are the account's opt-out confirmations as they will be sent,
    by language: the question is checked as part of that one message (C17, C18:
    never promotional, no link; more than one segment is a warning). ``keywords``
    are the account's own keywords: a code may be none of them, nor any word the
    classifier reads as an opt-out, opt-in or help (a code must never be mistaken
    for anything but a choice). A topic the account has no keyword for is a warning.
    """
    warnings: list[str] = []
    taken = {k.casefold() for k in keywords}
    for category in question.categories:
        if category.purpose is not None:
            rule = purposes.get(category.purpose)
            if rule is None:
                raise InvalidConfig(
                    f"scope_question offers purpose {category.purpose!r}, which this tenant"
                    " does not have",
                    purpose=category.purpose,
                )
            if rule.model == "disabled":
                raise InvalidConfig(
                    f"purpose {category.purpose!r} is never checked (disabled), so no"
                    " revocation revokes it: it cannot be offered",
                    purpose=category.purpose,
                )
        elif category.topic not in topics:
            warnings.append(
                f"scope_question offers topic {category.topic!r}, which no topic keyword of"
                " this account names"
            )
        code = category.code.casefold()
        if (
            code in taken
            or code in _COURTESY
            or code in _REFUSAL
            or classify(category.code, DEFAULT_CONFIG).intent != "none"
        ):
            raise InvalidConfig(
                f"code {category.code!r} could be read as something else than a choice;"
                " use digits (1, 2, ...)",
                code=category.code,
            )
        problems = confirmation_problems(category.label)
        if problems:
            raise InvalidConfig(
                f"category label {category.label!r} rejected: " + "; ".join(problems),
                setting="categories",
            )
    for language, confirmation in confirmations.items():
        text = f"{confirmation} {render(question, question.categories, language, program)}"
        problems = confirmation_problems(text)
        if problems:
            raise InvalidConfig(
                f"scope question ({language}) rejected: " + "; ".join(problems),
                language=language,
            )
        count = segments(text)
        if count > 1:
            warnings.append(
                f"the opt-out confirmation with its scope question ({language}) takes {count}"
                f" SMS segments ({len(text)} characters; one segment is {SINGLE_SEGMENT_GSM})"
            )
    return warnings
