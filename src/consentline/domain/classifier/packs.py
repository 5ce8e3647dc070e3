"""The language packs and revocation grammars (C4, C6, C8), loaded once from package data.

Keyword lists and grammars are data (``data/*.json``), each keyword with its source
and confidence, each grammar rule with its id and examples. :func:`load_packs`
reads and indexes them on first use (the grammars compiled by :mod:`.grammar`);
the helpers below answer which entries an account's :class:`ClassifierConfig`
enables. Nothing here does I/O beyond reading that package data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, cast

from consentline.domain.classifier.grammar import classes_of, compile_rule
from consentline.domain.classifier.normalise import normalise
from consentline.domain.classifier.types import ClassifierConfig

__all__ = [
    "TOKEN",
    "Entry",
    "Packs",
    "Pattern",
    "candidates",
    "enabled",
    "key_of",
    "language_of",
    "load_packs",
    "pack_lists",
    "rule_of",
]

# A word: letters and digits (``_`` and everything else separates words).
TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Entry:
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
class Pattern:
    """One compiled rule of a revocation grammar (``data/grammar_*.json``).

    ``rule`` is the id recorded as evidence: ``C6.<language>.<id>`` for a
    revocation form, ``C8.<language>.<id>`` for a soft decline. A ``statement``
    rule ("wrong number") is a claim, not a request: asked as a question it goes
    to review (C8).
    """

    id: str
    kind: Literal["lead", "anywhere", "soft", "review"]
    language: str
    regex: re.Pattern[str]
    negators: frozenset[str]
    order: int  # position in the files: earlier rules are tried first
    rule: str
    statement: bool
    questions: frozenset[str]
    words: frozenset[str]  # one of these is in every clause the rule matches
    required: tuple[frozenset[str], ...]  # ...and one of each of these
    scope_words: Mapping[str, str]  # word -> the purpose it names ("ads" -> marketing)
    general_nouns: frozenset[str]  # nouns that name every message ("texts", "these")


@dataclass(frozen=True, slots=True)
class Packs:
    entries: dict[str, Entry]
    vocab: dict[str, list[tuple[tuple[str, ...], str, str]]]  # first token -> (tokens, kind, value)
    guard_words: dict[str, Entry]
    guard_keys: frozenset[str]
    guard_phrases: tuple[Entry, ...]  # multi-word guard keywords ("opt out")
    typo_targets: tuple[Entry, ...]
    patterns: dict[str, tuple[Pattern, ...]]  # required word -> patterns needing it
    pattern_words: frozenset[str]
    # anchor word -> (pattern, its required word sets that do not hold that word)
    checks: dict[str, tuple[tuple[Pattern, tuple[frozenset[str], ...]], ...]]


_PACK_FILES = ("en", "fr", "es", "pt", "no_sv", "nl")
_GRAMMAR_FILES = ("grammar_en", "grammar_es", "grammar_fr", "grammar_pt")


def _read_pack(name: str) -> dict[str, Any]:
    text = (resources.files("consentline.domain.classifier") / "data" / f"{name}.json").read_text(
        "utf-8"
    )
    return cast(dict[str, Any], json.loads(text))


def key_of(text: str) -> str:
    """The token key of a phrase: normalised, apostrophes dropped, single spaces."""
    return " ".join(TOKEN.findall(normalise(text).replace("'", "")))


def read_grammar(name: str) -> dict[str, Any]:
    """One grammar file as written (the tests check its examples)."""
    return _read_pack(name)


def _compile_grammar(data: dict[str, Any], first: int) -> list[Pattern]:
    """Compile every rule of one grammar file, in file order."""
    classes = classes_of(data["classes"])
    frequent = tuple(data.get("frequent", ()))
    negators = frozenset(data["negators"])
    questions = frozenset(data.get("questions", ()))
    scope_words: Mapping[str, str] = MappingProxyType(dict(data.get("scope_words", {})))
    general_nouns = frozenset(data.get("general_nouns", ()))
    language: str = data["language"]
    compiled: list[Pattern] = []
    for spec in data["rules"]:
        rule = compile_rule(spec, classes, data["prefix"], frequent)
        stage = "C6" if rule.at in ("lead", "anywhere") else "C8"
        compiled.append(
            Pattern(
                id=rule.id,
                kind=rule.at,
                language=language,
                regex=rule.regex,
                negators=negators,
                order=first + len(compiled),
                rule=f"{stage}.{language}.{rule.id}",
                statement=rule.statement,
                questions=questions,
                words=rule.words,
                required=rule.required,
                scope_words=scope_words,
                general_nouns=general_nouns,
            )
        )
    return compiled


@cache
def load_packs() -> Packs:
    entries: dict[str, Entry] = {}
    vocab: dict[str, list[tuple[tuple[str, ...], str, str]]] = {}

    def add_vocab(phrase: str, kind: str, value: str) -> None:
        tokens = tuple(key_of(phrase).split())
        vocab.setdefault(tokens[0], []).append((tokens, kind, value))

    for name in _PACK_FILES:
        pack = _read_pack(name)
        languages = tuple(pack["languages"])
        for raw in pack["keywords"]:
            key = key_of(raw["keyword"])
            known = entries.get(key)
            if known is not None:
                # The same word in two packs (CANCELAR: es and pt) is one entry
                # that records both languages.
                entries[key] = replace(known, languages=known.languages + languages)
                continue
            entries[key] = Entry(
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
    return Packs(
        entries=entries,
        vocab=vocab,
        guard_words={k: e for k, e in entries.items() if e.guard},
        guard_keys=frozenset(k for k, e in entries.items() if e.guard),
        guard_phrases=tuple(e for e in entries.values() if e.guard and " " in e.key),
        typo_targets=tuple(e for e in entries.values() if e.typos),
        patterns=patterns,
        pattern_words=frozenset(patterns),
        checks={
            word: tuple((p, tuple(r for r in p.required if word not in r)) for p in listed)
            for word, listed in patterns.items()
        },
    )


def _index_patterns() -> dict[str, tuple[Pattern, ...]]:
    index: dict[str, list[Pattern]] = {}
    count = 0
    for name in _GRAMMAR_FILES:
        compiled = _compile_grammar(_read_pack(name), count)
        count += len(compiled)
        for pattern in compiled:
            for word in pattern.words:
                index.setdefault(word, []).append(pattern)
    return {word: tuple(patterns) for word, patterns in index.items()}


@cache
def pack_lists(field: str) -> tuple[tuple[str, Any], ...]:
    """Every item of the list ``field`` in the pack files, with the pack's first
    language, in pack order: the data of the keyword stages that :class:`Packs` does
    not index (``pronouns``, ``reference_words``, ``everyday_sense`` ...).

    Example::

        >>> ("fr", "ca") in pack_lists("pronouns")
        True
    """
    return tuple(
        (pack["languages"][0], item)
        for pack in map(_read_pack, _PACK_FILES)
        for item in pack.get(field, ())
    )


def enabled(entry: Entry, config: ClassifierConfig) -> bool:
    """English is always on; other packs follow ``config.languages``; YES needs to be a
    confirm keyword of the account."""
    if entry.rule == "C12.confirm" and entry.keyword not in config.confirm_keywords:
        return False
    return "en" in entry.languages or not config.languages.isdisjoint(entry.languages)


def language_of(entry: Entry, config: ClassifierConfig) -> str:
    enabled = [lang for lang in entry.languages if lang == "en" or lang in config.languages]
    if config.locale and len(enabled) > 1:
        hint = config.locale.replace("_", "-").split("-")[0].lower()
        if hint in enabled:
            return hint
    return enabled[0]


def rule_of(entry: Entry, language: str) -> str:
    return entry.rule or f"C4.pack.{language}"


def candidates(
    hits: Iterable[str], tokens: Iterable[str], config: ClassifierConfig, packs: Packs
) -> list[Pattern]:
    """Grammar rules that could match: anchored on one of ``hits``, with a word of
    every mandatory part among ``tokens``, in an enabled language, in file order."""
    words = list(hits)
    if len(words) == 1:  # the common case: one anchor word, its rules already in order
        ordered = packs.checks[words[0]]
    else:
        found = {p.order: (p, rest) for word in words for p, rest in packs.checks[word]}
        ordered = tuple(found[order] for order in sorted(found))
    present: frozenset[str] | None = None
    chosen: list[Pattern] = []
    for pattern, rest in ordered:
        if pattern.language != "en" and pattern.language not in config.languages:
            continue
        if rest:
            if present is None:
                present = frozenset(tokens)
            for required in rest:  # a loop, not any(): this runs for most messages
                if required.isdisjoint(present):
                    break
            else:
                chosen.append(pattern)
        else:
            chosen.append(pattern)
    return chosen
