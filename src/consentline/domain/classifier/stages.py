"""Classification stages 1-3: whole-message keyword, keyword-led message, phrase.

Each stage returns a :class:`Verdict` when it decides, or ``None`` to let the next
stage look; :func:`~consentline.domain.classifier.pipeline.classify` runs them in
order and the first decisive one wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from consentline.domain.classifier.packs import (
    Entry,
    Packs,
    Pattern,
    enabled,
    key_of,
    language_of,
    rule_of,
)
from consentline.domain.classifier.types import (
    ALL_SCOPE,
    DEFAULT_SCOPE,
    ClassifierConfig,
    Intent,
    KeywordScope,
)

__all__ = ["Verdict", "keyword_led", "plain_phrase", "whole_message"]


# C10: opt_out > help > opt_in.
_PRECEDENCE: dict[str, int] = {"opt_out": 3, "help": 2, "opt_in": 1}


class Verdict(NamedTuple):
    """What a stage decided; :func:`classify` adds the fields common to every result."""

    intent: Intent
    rule: str
    keyword: str | None = None
    language: str | None = None
    scope: KeywordScope = DEFAULT_SCOPE
    topic: str | None = None


def _topic_of(token: str, config: ClassifierConfig) -> str | None:
    if not config.topic_keywords:
        return None
    topic = config.topic_keywords.get(token.upper())
    if topic is None and token in {name.lower() for name in config.topic_keywords.values()}:
        topic = token
    return topic


def whole_message(key: str, config: ClassifierConfig, packs: Packs) -> Verdict | None:
    """Stage 1: the whole normalised message is one keyword (C2, C3, C4, C11, C12)."""
    entry = packs.entries.get(key)
    if entry is not None and enabled(entry, config):
        language = language_of(entry, config)
        scope = ALL_SCOPE if entry.scope_all else DEFAULT_SCOPE
        return Verdict(entry.intent, rule_of(entry, language), entry.keyword, language, scope)
    upper = key.upper()
    # Account keywords, in C10 precedence order.
    if upper in config.extra_opt_out:
        return Verdict("opt_out", "account.opt_out", upper)
    if upper in config.extra_help:
        return Verdict("help", "account.help", upper)
    if upper in config.extra_opt_in:
        return Verdict("opt_in", "account.opt_in", upper)
    if upper in config.confirm_keywords:
        return Verdict("opt_in", "C12.confirm", upper)
    topic = _topic_of(key, config) if " " not in key else None
    if topic is not None:
        return Verdict(
            "opt_in", "C12.topic", upper, scope=KeywordScope("topic", topic), topic=topic
        )
    return None


def _has_account_words(config: ClassifierConfig) -> bool:
    return bool(
        config.extra_opt_out
        or config.extra_opt_in
        or config.extra_help
        or config.topic_keywords
        or config.confirm_keywords - {"YES"}
        or config.purposes - {"marketing", "transactional", "informational"}
    )


def _account_keyword(token: str, config: ClassifierConfig) -> tuple[Intent, str] | None:
    upper = token.upper()
    if upper in config.extra_opt_out:
        return "opt_out", "account.opt_out"
    if upper in config.extra_help:
        return "help", "account.help"
    if upper in config.extra_opt_in:
        return "opt_in", "account.opt_in"
    if upper in config.confirm_keywords:
        return "opt_in", "C12.confirm"
    return None


def keyword_led(tokens: list[str], config: ClassifierConfig, packs: Packs) -> Verdict | None:
    """Stage 2 (C5, C10): keywords followed only by courtesy, scope and messaging words.

    What may follow the verb is the whole point: "stop please", "STOP MARKETING",
    "quit texting me" are requests; "Stop the story." and "cancel my appointment"
    are not, and fall through to the C8 guard.
    """
    if tokens[0] not in packs.vocab and not _has_account_words(config):
        return None  # fast exit for ordinary sentences
    found: list[tuple[Intent, str, str, str | None]] = []  # intent, rule, keyword, language
    weak: Entry | None = None
    scopes: set[KeywordScope] = set()
    topics: list[str] = []
    scope_all = has_object = False
    i, n = 0, len(tokens)
    while i < n:
        token = tokens[i]
        step = 0
        for words, kind, value in packs.vocab.get(token, ()):
            size = len(words)
            if size > 1 and tuple(tokens[i : i + size]) != words:
                continue
            if kind == "keyword":
                entry = packs.entries[value]
                if not enabled(entry, config):
                    continue
                language = language_of(entry, config)
                found.append((entry.intent, rule_of(entry, language), entry.keyword, language))
                scope_all = scope_all or entry.scope_all
            elif kind == "courtesy":
                pass
            elif kind == "weak":
                # C4: ALTO, UIT, SALIR count only as the whole message; led by one
                # and followed by courtesy ("alto por favor"), a person decides (C8).
                entry = packs.entries[value]
                if found or not enabled(entry, config) or entry.intent != "opt_out":
                    return None
                weak = entry
            elif not found:
                return None  # scope and messaging words only after the keyword
            elif kind == "all":
                scope_all = True
            elif kind == "purpose":
                if value not in config.purposes:
                    continue
                scopes.add(KeywordScope("purpose", value))
            else:
                has_object = True
            step = size
            break
        if step:
            i += step
            continue
        account = _account_keyword(token, config)
        topic = _topic_of(token, config)
        if account is not None:
            found.append((account[0], account[1], token.upper(), None))
        elif topic is not None:
            if found:
                scopes.add(KeywordScope("topic", topic))
            topics.append(topic)
        elif token in config.purposes and found:
            scopes.add(KeywordScope("purpose", token))
        else:
            return None
        i += 1
    if weak is not None:
        if found or topics or scopes or has_object or scope_all:
            return None
        # C4: not a keyword here; the grammar may still read it as plain language
        # ("alto por favor"), and otherwise the C8 guard sends it to review.
        return None
    if not found:
        if len(topics) == 1:  # "VOLUNTEER please"
            topic = topics[0]
            return Verdict(
                "opt_in", "C12.topic", topic.upper(), None, KeywordScope("topic", topic), topic
            )
        return None
    if topics and not scopes:
        return None  # a topic before the keyword: "VOLUNTEER STOP" is not a clear request
    intent = max((f[0] for f in found), key=_PRECEDENCE.__getitem__)
    if has_object and intent == "opt_in":
        return None
    winner = next(f for f in found if f[0] == intent)
    if len({f[0] for f in found}) > 1:
        rule = "C10.precedence"
    elif intent == "opt_out":
        rule = "C5.keyword_led"
    elif intent == "opt_in" and len(scopes) == 1 and topics:
        rule = "C12.topic"
    else:
        rule = winner[1]
    if len(scopes) == 1 and not (intent == "opt_out" and _names_every_message(tokens, packs)):
        scope = next(iter(scopes))
    elif scope_all and len(scopes) <= 1:
        scope = ALL_SCOPE
    else:
        # None named, several, or every message named beside a purpose ("stop sending
        # me texts and promos"): the account's whole reach is safest (C16).
        scope = DEFAULT_SCOPE
    topic = scope.name if scope.kind == "topic" and intent == "opt_in" else None
    return Verdict(intent, rule, winner[2], winner[3], scope, topic)


# C16: nouns that name every message, unless a purpose word qualifies them
# ("marketing texts" is marketing; "texts and promos" is everything).
_GENERAL_NOUNS = frozenset(
    {"texts", "text", "txts", "txt", "messages", "message", "msgs", "msg", "sms", "smss",
     "alerts", "notifications", "updates", "reminders", "everything"}
)  # fmt: skip


def _names_every_message(tokens: list[str], packs: Packs) -> bool:
    """Does a general noun stand on its own, not qualified by a purpose word before it?"""
    for i, token in enumerate(tokens):
        if token in _GENERAL_NOUNS and not (i and _is_purpose_word(tokens[i - 1], packs)):
            return True
    return False


def _is_purpose_word(token: str, packs: Packs) -> bool:
    return any(
        kind == "purpose" and len(words) == 1 for words, kind, _ in packs.vocab.get(token, ())
    )


def plain_phrase(
    text: str, clauses: list[str], rules: Sequence[Pattern], config: ClassifierConfig
) -> Verdict | None:
    """Stage 3 (C6): a plain-language revocation in any clause, by the grammar.

    'lead' rules must open a clause (after request words such as "please", "can
    you"); 'anywhere' rules may start later, unless a negation or question word
    comes first in the clause ("I don't want to unsubscribe", "why did you stop
    texting me"): those go to review (C8). A statement rule ("wrong number")
    asked as a question ("is this the wrong number?") goes to review too, and so
    does a match of a 'review' rule ("how do I get off this list").
    ``rules`` are the grammar rules whose anchor words the message contains, in
    file order. A revocation that names only one purpose's messages ("no more
    promos") is scoped to that purpose when the account has it (C16); one that
    names messages in general ("stop these texts") covers the default reach.
    """
    if not rules:
        return None
    # Every clause followed by a space, one clause per line: one regex call per rule.
    lines = " \n".join(clauses) + " "
    doubtful: Verdict | None = None
    for pattern in rules:
        if pattern.kind == "lead":
            match = pattern.regex.search(lines)
            if match is not None:
                verdict = _decided(pattern, match, lines, text, config)
                if verdict.intent == "opt_out":
                    return verdict
                doubtful = doubtful or verdict
    for pattern in rules:
        if pattern.kind == "review":
            # C8: a form that asks about leaving ("how do I get off this list?").
            match = pattern.regex.search(lines)
            if match is not None and doubtful is None:
                phrase = match["phrase"].strip().upper()
                doubtful = Verdict("ambiguous", pattern.rule, phrase, pattern.language)
            continue
        if pattern.kind != "anywhere":
            continue
        for match in pattern.regex.finditer(lines):
            start = lines.rfind("\n", 0, match.start()) + 1
            if pattern.negators.isdisjoint(lines[start : match.start()].split()):
                verdict = _decided(pattern, match, lines, text, config)
                if verdict.intent == "opt_out":
                    return verdict
            else:
                # C8: a revocation form under a negation or question is for a person.
                phrase = match["phrase"].strip().upper()
                verdict = Verdict("ambiguous", "C8.negated_phrase", phrase, pattern.language)
            doubtful = doubtful or verdict
    return doubtful


def _decided(
    pattern: Pattern, match: re.Match[str], lines: str, text: str, config: ClassifierConfig
) -> Verdict:
    """The verdict of one grammar match: opt_out, or review for a questioned claim."""
    keyword = match["phrase"].strip().upper()
    start = lines.rfind("\n", 0, match.start()) + 1
    end = lines.find("\n", match.start())
    clause = lines[start : end if end >= 0 else len(lines)].strip()
    if pattern.statement and _asked(clause, text, pattern.questions):
        return Verdict("ambiguous", "C8.question", keyword, pattern.language)
    scope = _scope_of(match["phrase"].split(), pattern, config)
    return Verdict("opt_out", pattern.rule, keyword, pattern.language, scope)


def _scope_of(words: list[str], pattern: Pattern, config: ClassifierConfig) -> KeywordScope:
    """C16: the one configured purpose the matched words name, else the default reach.

    A purpose word counts ("ads", "promos"; "promotional texts", where it
    qualifies the noun after it); a general noun on its own ("texts", "these",
    "everything") means every message, and so does naming two purposes.
    """
    if not pattern.scope_words:
        return DEFAULT_SCOPE
    named: set[str] = set()
    for i, word in enumerate(words):
        purpose = pattern.scope_words.get(word)
        if purpose is not None:
            named.add(purpose)
        elif word in pattern.general_nouns and not (i and words[i - 1] in pattern.scope_words):
            return DEFAULT_SCOPE
    if len(named) == 1:
        purpose = named.pop()
        if purpose in config.purposes:
            return KeywordScope("purpose", purpose)
    return DEFAULT_SCOPE


def _asked(clause: str, text: str, questions: frozenset[str]) -> bool:
    """Is ``clause`` a question: ending in '?' in the raw text, or opening with a
    question word ("is this the wrong number")?"""
    words = clause.split()
    if words[0] in questions or " ".join(words[:2]) in questions:
        return True
    if "?" not in text:
        return False
    return clause in question_clauses(text)


_CLAUSE_PARTS = re.compile(r"([.!?;,:()\[\]\n\"]+)")


def question_clauses(text: str) -> frozenset[str]:
    """The clauses of ``text`` (as :func:`key_of` writes them) that end in '?'."""
    parts = _CLAUSE_PARTS.split(text)
    return frozenset(
        key_of(part) for part, end in zip(parts[::2], [*parts[1::2], ""], strict=True) if "?" in end
    )
