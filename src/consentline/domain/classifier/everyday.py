"""C9 (with C8): an opt-out word used in an unrelated everyday sense.

The C8 guard sends a message to review when it contains an opt-out word inside an
ordinary sentence. Some of those uses cannot be read as a request to stop messages
by any reasonable person: "bus stop", "next stop", "stop by later", "the end of
the month", "week end", "in the end", "can't stop laughing", "end up", "Stop &
Shop". The packs list such contexts (``everyday_sense``: an id, a regular
expression over one clause of normalised words with the keyword written
``<stop>``, why it is safe, and examples the tests check). A message is exempt,
rule ``C9.everyday_sense`` and intent ``none``, only when

- every guarded opt-out word in it sits inside such a context, in the same clause
  ("I'm at the bus stop. STOP" still has a bare STOP, so it stays in review), and
- it has no word about messages or consent at all (``everyday_veto``: text, sms,
  number, list, unsubscribe ...), so "non stop texts" or "at the bus stop, text
  me" stay in review.

Every earlier stage has already run, so a revocation elsewhere in the message
("stop texting me, I'm at the bus stop") is an opt-out before this is asked.
Spanish, Dutch and the Nordic packs list no contexts: their guarded words
(CANCELAR, DETENER, STOPP) showed no such everyday use, and ALTO, SALIR and UIT
count only as the whole message anyway (C4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from consentline.domain.classifier.packs import Packs, enabled, pack_lists
from consentline.domain.classifier.types import ClassifierConfig

__all__ = ["Context", "contexts", "everyday_sense"]

_ANCHOR = re.compile(r"<(\w+)>")


@dataclass(frozen=True, slots=True)
class Context:
    """One everyday context of an opt-out word (C9), from a pack's ``everyday_sense``."""

    id: str
    language: str
    keyword: str  # the normalised opt-out word it covers
    regex: re.Pattern[str]
    examples: tuple[str, ...]


@cache
def contexts() -> tuple[dict[str, tuple[Context, ...]], frozenset[str]]:
    """The contexts by the opt-out word they cover, and the veto words of every pack."""
    by_keyword: dict[str, list[Context]] = {}
    for language, spec in pack_lists("everyday_sense"):
        pattern: str = spec["pattern"]
        anchors = _ANCHOR.findall(pattern)
        if len(anchors) != 1:
            raise ValueError(f"everyday context {spec['id']} must mark one keyword: {pattern}")
        keyword = anchors[0]
        body = pattern.replace(f"<{keyword}>", f"(?P<keyword>{keyword})")
        context = Context(
            spec["id"],
            language,
            keyword,
            re.compile(rf"(?<!\S){body}(?!\S)"),
            tuple(spec["examples"]),
        )
        by_keyword.setdefault(keyword, []).append(context)
    veto = frozenset(word for _, word in pack_lists("everyday_veto"))
    return {word: tuple(found) for word, found in by_keyword.items()}, veto


def everyday_sense(
    clauses: list[str], tokens: list[str], config: ClassifierConfig, packs: Packs
) -> tuple[Context, str] | None:
    """The first context and the words it matched, when every guarded opt-out word of
    the message is inside an everyday context and no word is about messages (C9);
    otherwise ``None``: the C8 guard keeps the message for review.

    Example::

        >>> from consentline.domain.classifier.packs import load_packs
        >>> from consentline.domain.classifier.types import DEFAULT_CONFIG
        >>> found = everyday_sense(["yup next stop"], "yup next stop".split(),
        ...                        DEFAULT_CONFIG, load_packs())
        >>> found[0].id, found[1]
        ('place_stop', 'next stop')
    """
    by_keyword, veto = contexts()
    if not veto.isdisjoint(tokens):
        return None
    first: tuple[Context, str] | None = None
    languages = config.languages | {"en"}
    for clause in clauses:
        offset = 0
        for word in clause.split():
            entry = packs.guard_words.get(word)
            if entry is not None and enabled(entry, config):
                found = _covering(clause, offset, by_keyword.get(word, ()), languages)
                if found is None:
                    return None
                first = first or found
            offset += len(word) + 1
    return first


def _covering(
    clause: str, offset: int, candidates: tuple[Context, ...], languages: frozenset[str]
) -> tuple[Context, str] | None:
    """A context that matches ``clause`` with its keyword at ``offset``."""
    for context in candidates:
        if context.language not in languages:
            continue
        for match in context.regex.finditer(clause):
            if match.start("keyword") == offset:
                return context, match.group(0)
    return None
