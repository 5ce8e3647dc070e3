"""Classify an inbound SMS as opt-out, opt-in, help, ambiguous or nothing (C1-C13).

:func:`classify` takes the raw body and returns a :class:`Classification` that
says what the message means, which rule decided it, the keyword or phrase that
matched, its language and scope, and what an exact single-word provider matcher
would have done. The stages, first decisive one wins:

1. whole message is a keyword: C2 per-se words, C3 provider-parity words, C4
   language packs, C11 help, C12 opt-in, account keywords and topic keywords;
2. keyword-led message (C5): keywords followed only by courtesy, scope and
   messaging words ("stop please", "STOP MARKETING", "quit texting me");
   several keywords are resolved by C10 precedence (opt_out > help > opt_in);
3. plain-language revocation (C6) in any clause ("take me off your list");
4. typo of an opt-out keyword (C7) when the whole message is one word;
5. ambiguity guard (C8): bare NO, soft declines, an opt-out word inside an
   ordinary sentence, an opt-out emoji alone -> ``ambiguous`` (human review);
6. otherwise ``none``. Words match whole tokens only (C9).

Keyword lists and phrase patterns are data (``packs/*.json``), each keyword with
its source and confidence. Nothing here does I/O beyond reading that package data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, cast

from consentline.domain.errors import InvalidKeyword
from consentline.domain.normalise import normalise

__all__ = [
    "CLASSIFIER_VERSION",
    "DEFAULT_CONFIG",
    "Classification",
    "ClassifierConfig",
    "KeywordScope",
    "classify",
    "lint_keyword",
]

CLASSIFIER_VERSION = "2026.11.1"

Intent = Literal["opt_out", "opt_in", "help", "ambiguous", "none"]
ProviderIntent = Literal["opt_out", "opt_in", "help", "none"]

ALL_LANGUAGES = frozenset({"en", "fr", "es", "pt", "no", "sv", "nl"})

# C13: what Twilio's exact matcher does (trimmed, case-insensitive whole body).
_PROVIDER_EXACT: dict[str, ProviderIntent] = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"), "opt_out"
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "opt_in"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}

# C10: opt_out > help > opt_in.
_PRECEDENCE: dict[str, int] = {"opt_out": 3, "help": 2, "opt_in": 1}

# C8: emoji that mean "stop" but are too vague to act on alone.
_STOP_EMOJI = frozenset("\U0001f6d1\u26d4\U0001f6ab")

# C7: real words one keyboard slip away from an opt-out keyword; never typos.
_REAL_WORDS = frozenset(
    {"shop", "atop", "step", "stow", "slop", "spot", "post", "tops", "pots", "opts", "stoo",
     "quot", "quiz", "suit", "quip", "quid", "cancer", "candle", "camel", "revoked", "arrest"}
)  # fmt: skip

# C7: QWERTY neighbours (including the digit row), used for one-substitution typos.
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, frozenset[str]]:
    """Keys touching each key on a staggered QWERTY layout (row above: same and next
    column; row below: previous and same column)."""
    position = {ch: (r, c) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    touching = {(0, -1), (0, 1), (-1, 0), (-1, 1), (1, -1), (1, 0)}
    return {
        ch: frozenset(o for o, (r2, c2) in position.items() if (r2 - r, c2 - c) in touching)
        for ch, (r, c) in position.items()
    }


_NEIGHBOURS = _keyboard_neighbours()

# Clauses end at these characters; apostrophes vanish ("don't" -> "dont"); any other
# character that is not a letter or digit separates words.
_CLAUSE_ENDS = '.!?;,:()[]\n"'
_CLAUSE_SPLIT = re.compile(f"[{re.escape(_CLAUSE_ENDS)}]+")
_TOKEN = re.compile(r"[^\W_]+")
_ASCII_TABLE = bytes(
    10 if chr(i) in _CLAUSE_ENDS else i if chr(i).isalnum() else 32 for i in range(256)
)


@dataclass(frozen=True, slots=True)
class KeywordScope:
    """What a keyword reply covers (C5, C16).

    ``default`` is the account's configured reach; ``all`` is everything the sender
    sends; ``purpose`` names a purpose (``marketing``); ``topic`` names a topic.
    """

    kind: Literal["default", "all", "purpose", "topic"]
    name: str | None = None


DEFAULT_SCOPE = KeywordScope("default")
ALL_SCOPE = KeywordScope("all")


@dataclass(frozen=True, slots=True)
class Classification:
    """The meaning of one inbound message, with everything needed as evidence (C13)."""

    intent: Intent
    rule: str
    keyword: str | None
    language: str | None
    scope: KeywordScope
    provider_exact: ProviderIntent
    version: str
    normalised: str
    topic: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready, scope as ``{"kind": ..., "name": ...}`` (C13)."""
        return {
            "intent": self.intent,
            "rule": self.rule,
            "keyword": self.keyword,
            "language": self.language,
            "scope": {"kind": self.scope.kind, "name": self.scope.name},
            "provider_exact": self.provider_exact,
            "version": self.version,
            "normalised": self.normalised,
            "topic": self.topic,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Classification:
        """The inverse of :meth:`as_dict` (stored classifications are read back)."""
        return cls(
            intent=data["intent"],
            rule=data["rule"],
            keyword=data["keyword"],
            language=data["language"],
            scope=KeywordScope(data["scope"]["kind"], data["scope"]["name"]),
            provider_exact=data["provider_exact"],
            version=data["version"],
            normalised=data["normalised"],
            topic=data.get("topic"),
        )


@dataclass(frozen=True, slots=True)
class ClassifierConfig:
    """Per-account classifier settings.

    Account keywords are upper-case canonical (``"ARRET"``, not ``"arrêt"``).
    English (C2/C3 are the law and provider parity) is always on; ``languages``
    switches the other packs. ``locale`` ("fr-CA") picks the language recorded
    for words that several packs share (CANCELAR: es/pt; STOPP: no/sv).
    """

    extra_opt_out: frozenset[str] = frozenset()
    extra_opt_in: frozenset[str] = frozenset()
    extra_help: frozenset[str] = frozenset()
    topic_keywords: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    purposes: frozenset[str] = frozenset({"marketing", "transactional", "informational"})
    confirm_keywords: frozenset[str] = frozenset({"YES"})
    typo_tolerance: bool = True
    languages: frozenset[str] = ALL_LANGUAGES
    locale: str | None = None


DEFAULT_CONFIG = ClassifierConfig()


# --------------------------------------------------------------------------- packs


@dataclass(frozen=True, slots=True)
class _Entry:
    """One keyword from a language pack (C4): normalised key plus its metadata."""

    key: str
    keyword: str
    intent: Literal["opt_out", "opt_in", "help"]
    rule: str | None  # None for non-English packs: C4.pack.<language>
    languages: tuple[str, ...]
    whole_message_only: bool
    guard: bool  # C8: does containing it make a message ambiguous?
    typos: bool  # C7: are one-slip variants accepted?
    scope_all: bool


@dataclass(frozen=True, slots=True)
class _Pattern:
    """One C6/C8 phrase pattern from ``packs/phrases_*.json``."""

    id: str
    kind: Literal["lead", "anywhere", "soft"]
    language: str
    regex: re.Pattern[str]
    negators: frozenset[str]
    order: int  # position in the files: earlier patterns are tried first


@dataclass(frozen=True, slots=True)
class _Packs:
    entries: dict[str, _Entry]
    vocab: dict[str, list[tuple[tuple[str, ...], str, str]]]  # first token -> (tokens, kind, value)
    guard_words: dict[str, _Entry]
    guard_keys: frozenset[str]
    guard_phrases: tuple[_Entry, ...]  # multi-word guard keywords ("opt out")
    typo_targets: tuple[_Entry, ...]
    patterns: dict[str, tuple[_Pattern, ...]]  # required word -> patterns needing it
    pattern_words: frozenset[str]


_PACK_FILES = ("en", "fr", "es", "pt", "no_sv", "nl")
_PHRASE_FILES = ("phrases_en", "phrases_es")


def _read_pack(name: str) -> dict[str, Any]:
    text = (resources.files("consentline.domain") / "packs" / f"{name}.json").read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))


def _key(text: str) -> str:
    """The token key of a phrase: normalised, apostrophes dropped, single spaces."""
    return " ".join(_TOKEN.findall(normalise(text).replace("'", "")))


def expand_macros(pattern: str, macros: Mapping[str, str]) -> str:
    """Replace ``{NAME}`` in a phrase pattern with its macro (used by tests too)."""
    return re.sub(r"\{([A-Z]+)\}", lambda m: macros[m.group(1)], pattern)


def _compile_phrases(data: dict[str, Any], first: int) -> list[tuple[list[str], _Pattern]]:
    """Compile each pattern of one phrase file with the words it requires."""
    macros: dict[str, str] = data["macros"]
    prefix: str = data["prefix"]
    negators = frozenset(data["negators"])
    compiled: list[tuple[list[str], _Pattern]] = []
    for kind in ("lead", "anywhere", "soft"):
        for spec in data[kind]:
            body = f"(?P<phrase>{expand_macros(spec['pattern'], macros)})(?!\\w)"
            regex = re.compile(f"(?<!\\w){body}" if kind == "anywhere" else prefix + body)
            pattern = _Pattern(
                spec["id"], kind, data["language"], regex, negators, first + len(compiled)
            )
            compiled.append((spec["requires"], pattern))
    return compiled


@cache
def _packs() -> _Packs:
    entries: dict[str, _Entry] = {}
    vocab: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}

    def add_vocab(phrase: str, kind: str, value: str) -> None:
        tokens = tuple(_key(phrase).split())
        vocab.setdefault(tokens[0], []).append((tokens, kind, value))

    for name in _PACK_FILES:
        pack = _read_pack(name)
        languages = tuple(pack["languages"])
        for raw in pack["keywords"]:
            key = _key(raw["keyword"])
            known = entries.get(key)
            if known is not None:
                # The same word in two packs (CANCELAR: es and pt) is one entry
                # that records both languages.
                entries[key] = replace(known, languages=known.languages + languages)
                continue
            entries[key] = _Entry(
                key=key,
                keyword=raw["keyword"],
                intent=raw["intent"],
                rule=raw.get("rule"),
                languages=languages,
                whole_message_only=raw["whole_message_only"],
                guard=raw.get("guard", not raw["whole_message_only"])
                and raw["intent"] == "opt_out",
                typos=raw.get("typos", False),
                scope_all=raw.get("scope") == "all",
            )
            add_vocab(key, "keyword" if not raw["whole_message_only"] else "weak", key)
        for phrase in pack.get("courtesy", ()):
            add_vocab(phrase, "courtesy", "")
        for phrase in pack.get("scope_all", ()):
            add_vocab(phrase, "all", "")
        for phrase, purpose in pack.get("purpose_words", {}).items():
            add_vocab(phrase, "purpose", purpose)
        for phrase in pack.get("objects", ()):
            add_vocab(phrase, "object", "")
    for options in vocab.values():
        options.sort(key=lambda option: -len(option[0]))
    patterns = _index_patterns()
    return _Packs(
        entries=entries,
        vocab=vocab,
        guard_words={k: e for k, e in entries.items() if e.guard},
        guard_keys=frozenset(k for k, e in entries.items() if e.guard),
        guard_phrases=tuple(e for e in entries.values() if e.guard and " " in e.key),
        typo_targets=tuple(e for e in entries.values() if e.typos),
        patterns=patterns,
        pattern_words=frozenset(patterns),
    )


def _index_patterns() -> dict[str, tuple[_Pattern, ...]]:
    index: dict[str, list[_Pattern]] = {}
    count = 0
    for name in _PHRASE_FILES:
        compiled = _compile_phrases(_read_pack(name), count)
        count += len(compiled)
        for requires, pattern in compiled:
            for word in requires:
                index.setdefault(word, []).append(pattern)
    return {word: tuple(patterns) for word, patterns in index.items()}


# ------------------------------------------------------------------------ classify


def _enabled(entry: _Entry, config: ClassifierConfig) -> bool:
    """English is always on; other packs follow ``config.languages``; YES needs to be a
    confirm keyword of the account."""
    if entry.rule == "C12.confirm" and entry.keyword not in config.confirm_keywords:
        return False
    return "en" in entry.languages or not config.languages.isdisjoint(entry.languages)


def _language(entry: _Entry, config: ClassifierConfig) -> str:
    enabled = [lang for lang in entry.languages if lang == "en" or lang in config.languages]
    if config.locale and len(enabled) > 1:
        hint = config.locale.replace("_", "-").split("-")[0].lower()
        if hint in enabled:
            return hint
    return enabled[0]


def _rule(entry: _Entry, language: str) -> str:
    return entry.rule or f"C4.pack.{language}"


class _Verdict(NamedTuple):
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


def _whole_message(key: str, config: ClassifierConfig, packs: _Packs) -> _Verdict | None:
    """Stage 1: the whole normalised message is one keyword (C2, C3, C4, C11, C12)."""
    entry = packs.entries.get(key)
    if entry is not None and _enabled(entry, config):
        language = _language(entry, config)
        scope = ALL_SCOPE if entry.scope_all else DEFAULT_SCOPE
        return _Verdict(entry.intent, _rule(entry, language), entry.keyword, language, scope)
    upper = key.upper()
    # Account keywords, in C10 precedence order.
    if upper in config.extra_opt_out:
        return _Verdict("opt_out", "account.opt_out", upper)
    if upper in config.extra_help:
        return _Verdict("help", "account.help", upper)
    if upper in config.extra_opt_in:
        return _Verdict("opt_in", "account.opt_in", upper)
    if upper in config.confirm_keywords:
        return _Verdict("opt_in", "C12.confirm", upper)
    topic = _topic_of(key, config) if " " not in key else None
    if topic is not None:
        return _Verdict(
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


def _keyword_led(tokens: list[str], config: ClassifierConfig, packs: _Packs) -> _Verdict | None:
    """Stage 2 (C5, C10): keywords followed only by courtesy, scope and messaging words.

    What may follow the verb is the whole point: "stop please", "STOP MARKETING",
    "quit texting me" are requests; "Stop the story." and "cancel my appointment"
    are not, and fall through to the C8 guard.
    """
    if tokens[0] not in packs.vocab and not _has_account_words(config):
        return None  # fast exit for ordinary sentences
    found: list[tuple[Intent, str, str, str | None]] = []  # intent, rule, keyword, language
    weak: _Entry | None = None
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
                if not _enabled(entry, config):
                    continue
                language = _language(entry, config)
                found.append((entry.intent, _rule(entry, language), entry.keyword, language))
                scope_all = scope_all or entry.scope_all
            elif kind == "courtesy":
                pass
            elif kind == "weak":
                # C4: ALTO, UIT, SALIR count only as the whole message; led by one
                # and followed by courtesy ("alto por favor"), a person decides (C8).
                entry = packs.entries[value]
                if found or not _enabled(entry, config) or entry.intent != "opt_out":
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
        language = _language(weak, config)
        return _Verdict("ambiguous", "C8.ordinary_word_led", weak.keyword, language)
    if not found:
        if len(topics) == 1:  # "VOLUNTEER please"
            topic = topics[0]
            return _Verdict(
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
    if len(scopes) == 1:
        scope = next(iter(scopes))
    elif not scopes and scope_all:
        scope = ALL_SCOPE
    else:
        scope = DEFAULT_SCOPE  # none named, or several: the account's whole reach is safest
    topic = scope.name if scope.kind == "topic" and intent == "opt_in" else None
    return _Verdict(intent, rule, winner[2], winner[3], scope, topic)


def _candidates(
    hits: Iterable[str], kind: str, config: ClassifierConfig, packs: _Packs
) -> list[_Pattern]:
    """Phrase patterns of ``kind`` requiring one of ``hits``, in file order."""
    found: dict[int, _Pattern] = {}
    for word in hits:
        for pattern in packs.patterns[word]:
            if pattern.kind == kind and (
                pattern.language == "en" or pattern.language in config.languages
            ):
                found[pattern.order] = pattern
    return [found[order] for order in sorted(found)]


def _phrase(
    clauses: list[str], hits: frozenset[str], config: ClassifierConfig, packs: _Packs
) -> _Verdict | None:
    """Stage 3 (C6): a plain-language revocation in any clause.

    'lead' patterns must open a clause (after courtesy such as "please", "can you");
    'anywhere' patterns may start later, unless a negation or question word comes
    first in the clause ("I don't want to unsubscribe", "why did you stop texting me").
    ``hits`` are the message's words that some pattern requires.
    """
    if not hits:
        return None
    for pattern in _candidates(hits, "lead", config, packs):
        for clause in clauses:
            match = pattern.regex.match(clause)
            if match is not None:
                return _Verdict("opt_out", "C6.phrase", match["phrase"].upper(), pattern.language)
    negated: _Verdict | None = None
    for pattern in _candidates(hits, "anywhere", config, packs):
        for clause in clauses:
            for match in pattern.regex.finditer(clause):
                phrase = match["phrase"].upper()
                if pattern.negators.isdisjoint(clause[: match.start()].split()):
                    return _Verdict("opt_out", "C6.phrase", phrase, pattern.language)
                if negated is None:
                    # C8: a revocation phrase under a negation or question is for a person.
                    negated = _Verdict("ambiguous", "C8.negated_phrase", phrase, pattern.language)
    return negated


def _one_slip(word: str, keyword: str) -> bool:
    """C7: one adjacent transposition or one keyboard-neighbour substitution."""
    if len(word) != len(keyword) or word == keyword:
        return False
    diffs = [i for i, (a, b) in enumerate(zip(word, keyword, strict=True)) if a != b]
    if len(diffs) == 1:
        i = diffs[0]
        return word[i] in _NEIGHBOURS.get(keyword[i], frozenset())
    if len(diffs) == 2:
        i, j = diffs
        return j == i + 1 and word[i] == keyword[j] and word[j] == keyword[i]
    return False


def _typo(tokens: list[str], config: ClassifierConfig, packs: _Packs) -> _Verdict | None:
    """Stage 4 (C7): a single word of 4+ letters one slip away from an opt-out keyword."""
    if not config.typo_tolerance or len(tokens) != 1:
        return None
    word = tokens[0]
    if len(word) < 4 or word in _REAL_WORDS:
        return None
    for entry in packs.typo_targets:
        if _enabled(entry, config) and _one_slip(word, entry.key):
            return _Verdict("opt_out", "C7.typo", entry.keyword, _language(entry, config))
    return None


def _guard(
    text: str,
    key: str,
    tokens: list[str],
    hits: frozenset[str],
    config: ClassifierConfig,
    packs: _Packs,
) -> _Verdict | None:
    """Stage 5 (C8): not an opt-out, but a person should look at it."""
    if key == "no":
        return _Verdict("ambiguous", "C8.bare_no", "NO")
    for pattern in _candidates(hits, "soft", config, packs):
        match = pattern.regex.match(key)
        if match is not None:
            phrase = match["phrase"].upper()
            return _Verdict("ambiguous", "C8.soft_decline", phrase, pattern.language)
    guarded = not packs.guard_keys.isdisjoint(tokens)
    for token in tokens if guarded else ():
        entry = packs.guard_words.get(token)
        if entry is not None and _enabled(entry, config):
            return _Verdict(
                "ambiguous", "C8.contains_opt_out_word", entry.keyword, _language(entry, config)
            )
    for entry in packs.guard_phrases:
        if entry.key in key and f" {entry.key} " in f" {key} " and _enabled(entry, config):
            return _Verdict(
                "ambiguous", "C8.contains_opt_out_word", entry.keyword, _language(entry, config)
            )
    emoji = _stop_emoji(text)
    if emoji is not None:
        return _Verdict("ambiguous", "C8.emoji", emoji)
    return None


def _stop_emoji(text: str) -> str | None:
    """The first stop emoji in ``text`` (C8: never acted on alone, always reviewed)."""
    if text.isascii():
        return None
    return next((c for c in text if c in _STOP_EMOJI), None)


def _clauses(normalised: str) -> list[str]:
    """Split normalised text into clauses of single-spaced words (C6 works per clause)."""
    if normalised.isascii():
        # Fast path: one byte-table translation instead of two regular expressions.
        cut = normalised.encode("ascii").translate(_ASCII_TABLE, b"'").decode("ascii")
        if "\n" not in cut:
            clause = " ".join(cut.split())
            return [clause] if clause else []
        parts = cut.split("\n")
    else:
        parts = _CLAUSE_SPLIT.split(normalised.replace("'", ""))
        parts = [" ".join(_TOKEN.findall(part)) for part in parts]
    return [clause for clause in (" ".join(part.split()) for part in parts) if clause]


def classify(text: str, config: ClassifierConfig = DEFAULT_CONFIG) -> Classification:
    """Classify one inbound message body (C1-C13).

    Example::

        >>> classify("Stop please").intent
        'opt_out'
        >>> c = classify("STOP MARKETING")
        >>> (c.rule, c.scope)
        ('C5.keyword_led', KeywordScope(kind='purpose', name='marketing'))
        >>> classify("ARRÊT").language, classify("ARRÊT").provider_exact
        ('fr', 'none')
        >>> classify("cancel my appointment").intent
        'ambiguous'
    """
    provider = _PROVIDER_EXACT.get(text.strip().upper(), "none")
    normalised = normalise(text)
    clauses = _clauses(normalised)
    key = " ".join(clauses)
    tokens = key.split()
    verdict: _Verdict | None
    if not tokens:
        emoji = _stop_emoji(text)
        verdict = (
            _Verdict("ambiguous", "C8.emoji", emoji) if emoji else _Verdict("none", "none.empty")
        )
    else:
        packs = _packs()
        hits = packs.pattern_words.intersection(tokens)
        verdict = (
            _whole_message(key, config, packs)
            or _keyword_led(tokens, config, packs)
            or _phrase(clauses, hits, config, packs)
            or _typo(tokens, config, packs)
            or _guard(text, key, tokens, hits, config, packs)
            or _Verdict("none", "none")
        )
    return Classification(
        intent=verdict.intent,
        rule=verdict.rule,
        keyword=verdict.keyword,
        language=verdict.language,
        scope=verdict.scope,
        provider_exact=provider,
        version=CLASSIFIER_VERSION,
        normalised=normalised,
        topic=verdict.topic,
    )


# -------------------------------------------------------------------------- lint

# Words people send by accident or in passing; as account keywords they would
# subscribe or unsubscribe people who were only answering a question.
_EVERYDAY_WORDS = frozenset(
    {"YES", "Y", "YEAH", "YEP", "YUP", "YA", "N", "NO", "NOPE", "NAH", "OK", "OKAY", "K", "KK",
     "THANKS", "THANK", "THX", "TY", "HI", "HELLO", "HEY", "SURE", "FINE", "GOOD", "GREAT",
     "COOL", "LOL", "PLEASE", "PLS", "MAYBE", "LATER", "NOW", "WHAT", "WHO", "WHY", "HOW",
     "WHEN", "WHERE", "OUI", "NON", "SI", "SIM", "NAO", "JA", "NEE", "NEI", "NEJ", "GRACIAS",
     "MERCI", "OBRIGADO", "DONE", "AND", "THE", "ME", "YOU"}
)  # fmt: skip

_KIND_INTENT = {"opt_out": "opt_out", "opt_in": "opt_in", "help": "help", "topic": "topic"}


def lint_keyword(keyword: str, kind: Literal["opt_out", "opt_in", "help", "topic"]) -> list[str]:
    """Check an account keyword before it is saved; return warnings, raise on errors.

    Raises :class:`~consentline.domain.errors.InvalidKeyword` when the keyword is
    not letters and digits, is an everyday word (YES, OK, NO, THANKS, ...), or is a
    built-in keyword of a different intent (an opt-in keyword ``STOP`` would
    contradict C2). Warns when it is shorter than 4 characters, is already built
    in with the same intent, or is one slip from an opt-out keyword (C7 would treat
    it as an opt-out before the account keyword is looked at).

    Example::

        >>> lint_keyword("VOLUNTEER", "topic")
        []
        >>> lint_keyword("GO", "opt_in")
        ['GO is shorter than 4 characters: short keywords are often sent by accident']
    """
    canonical = keyword.strip().upper()
    if not canonical or not _TOKEN.fullmatch(canonical):
        raise InvalidKeyword(
            f"keyword {keyword!r} must be one word of letters and digits", keyword=keyword
        )
    if canonical in _EVERYDAY_WORDS:
        raise InvalidKeyword(
            f"{canonical} is an everyday word people send by accident; choose a distinctive one",
            keyword=keyword,
        )
    intent = _KIND_INTENT[kind]
    packs = _packs()
    key = _key(canonical)
    warnings: list[str] = []
    entry = packs.entries.get(key)
    if entry is not None:
        if entry.intent != intent:
            raise InvalidKeyword(
                f"{canonical} is a built-in {entry.intent} keyword ({', '.join(entry.languages)})"
                f" and cannot be used as a {kind} keyword",
                keyword=keyword,
                built_in_intent=entry.intent,
            )
        warnings.append(f"{canonical} is already a built-in {entry.intent} keyword")
    elif intent != "opt_out" and any(_one_slip(key, e.key) for e in packs.typo_targets):
        warnings.append(
            f"{canonical} is one typo away from an opt-out keyword: senders may mean to opt out"
        )
    if len(canonical) < 4:
        warnings.append(
            f"{canonical} is shorter than 4 characters: short keywords are often sent by accident"
        )
    if canonical.isdigit():
        warnings.append(f"{canonical} is only digits: people may send it as part of a number")
    return warnings
