"""Stage 2b (C2, C5): a per-se keyword followed by a pronoun, a reference, a name or a
signature.

The FCC rule (C2, 47 CFR 64.1200(a)(10)) makes a reply containing a per-se word a
revocation. Stage 2 accepts only courtesy, scope and messaging words after the
keyword, so "STOP it", "STOP 4471", "CANCEL #55123", "Stop John" and
"stop now pls - Dave" went to review. The keyword must lead (after courtesy) and be
one the C8 guard watches: a per-se word or a pack word like ARRET or STOPP, not
REMOVE or TERMINATE, which are everyday verbs ("remove it"); BAJA counts when it
leads ("BAJA 7720"). This stage
strips from what follows the keyword, and only from there:

- a pronoun ("it", "that", "them"; ``pronouns`` in the packs);
- a number or reference code: all digits ("4471", "#55123"), or letters and at
  least two digits or in capitals ("A12B"), optionally after a reference word
  (``reference_words``: ref, order, account, id, code, no ...). Times and dates
  ("10:30", "12/5", "10am") and SMS spellings with one digit ("2day", "gr8") are
  not references;
- a name at the end: one to three capitalised words as the raw body writes them
  ("John", "Mary Jane", "Kelly Ann Marsh"), or in capitals after a dash, comma or new line
  ("STOP - DAVE"); never a word ending in -ing, a word of the keyword stages, or
  one of ``not_names`` (weekdays, months, "appointment": "Cancel Tuesday" is not
  signed by Tuesday);
- a signature line that ends the message ("Sent from my iPhone"; ``signatures``).

What is left must be what stage 2 accepts; then the message is an opt-out with rule
``C5.keyword_trailer``. Anything else after the keyword ("Stop the story.",
"stop laughing", "stop 2 buy milk", "cancel my appointment", "quit it's fine":
"it's" is "it is", the start of a sentence, not a pronoun object) leaves the
message to the C8 guard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from consentline.domain.classifier.packs import (
    TOKEN,
    Packs,
    enabled,
    key_of,
    load_packs,
    pack_lists,
)
from consentline.domain.classifier.stages import Verdict, keyword_led
from consentline.domain.classifier.types import ClassifierConfig

__all__ = ["keyword_trailer"]

# Keywords the C8 guard ignores inside sentences that still lead a trailer.
_LEADING_KEYWORDS = frozenset({"baja"})
# Characters that set a signature apart from what comes before it ("STOP - Dave").
_SEPARATORS = frozenset("-\u2013\u2014,\n~|")
# Between two numbers, these make a time or a date ("10:30", "12/5", "10.30").
_TIME_JOINS = frozenset(":/.")
# A number with a unit or an ordinal: a quantity, not a reference.
_QUANTITY = re.compile(
    r"\d+(?:am|pm|h|hr|hrs|min|mins|m|s|sec|secs|st|nd|rd|th|k|km|kg|lb|lbs|x|p|mb|gb)"
)
# Apostrophes vanish before matching (C1), in the raw text too, so words line up.
_APOSTROPHES = str.maketrans(dict.fromkeys("'\u2018\u2019\u201b\u02bc\u02bb\u00b4\uff07"))
_LEAD_WORDS = 6  # the keyword is looked for among the first words only (fast exit)
_SIGNATURE_WORDS = 10  # at most this many words from the start of a signature to the end


@dataclass(frozen=True, slots=True)
class _Lists:
    pronouns: dict[tuple[str, ...], frozenset[str]]  # pronoun tokens -> languages
    longest_pronoun: int
    references: frozenset[str]
    pronoun_words: frozenset[str]
    signatures: tuple[tuple[str, ...], ...]
    signature_starts: frozenset[str]
    not_names: frozenset[str]
    lead_words: frozenset[str]  # first words of the keywords this stage reads


@cache
def _lists() -> _Lists:
    pronouns: dict[tuple[str, ...], frozenset[str]] = {}
    for language, phrase in pack_lists("pronouns"):
        tokens = tuple(key_of(phrase).split())
        pronouns[tokens] = pronouns.get(tokens, frozenset()) | {language}
    signatures = tuple(tuple(key_of(s).split()) for _, s in pack_lists("signatures"))
    return _Lists(
        pronouns=pronouns,
        longest_pronoun=max(len(tokens) for tokens in pronouns),
        references=frozenset(key_of(word) for _, word in pack_lists("reference_words")),
        pronoun_words=frozenset(word for tokens in pronouns for word in tokens),
        signatures=signatures,
        signature_starts=frozenset(signature[0] for signature in signatures),
        not_names=frozenset(key_of(word) for _, word in pack_lists("not_names")),
        lead_words=frozenset(key.split()[0] for key in load_packs().guard_words)
        | _LEADING_KEYWORDS,
    )


def _raw_words(text: str | None, tokens: list[str]) -> list[tuple[str, str]] | None:
    """Each token as the raw body writes it, with the characters before it; ``None``
    when there is no raw body or normalisation changed the word count (spelled-out
    letters, format characters inside a word) and the raw words cannot be lined up."""
    if text is None:
        return None
    raw = text.translate(_APOSTROPHES)
    words: list[tuple[str, str]] = []
    end = 0
    for match in TOKEN.finditer(raw):
        words.append((match.group(), raw[end : match.start()]))
        end = match.end()
    if len(words) != len(tokens):
        return None
    if raw.isascii() and any(w[0].lower() != t[0] for (w, _), t in zip(words, tokens, strict=True)):
        return None
    return words


def _lead_end(tokens: list[str], config: ClassifierConfig, packs: Packs) -> int | None:
    """Where the leading opt-out keyword ends, after optional courtesy ("please stop")."""
    i = 0
    while i < len(tokens):
        step = 0
        for words, kind, value in packs.vocab.get(tokens[i], ()):
            if tuple(tokens[i : i + len(words)]) != words:
                continue
            if kind == "keyword":
                # C2: the per-se words and the packs' words like them; not REMOVE or
                # TERMINATE, everyday verbs that the C8 guard ignores too. BAJA is
                # ignored inside sentences ("la temperatura baja") but leading a
                # reply it is the Spanish keyword ("BAJA 7720", "Baja - Lucía").
                entry = packs.entries[value]
                if (entry.guard or value in _LEADING_KEYWORDS) and enabled(entry, config):
                    return i + len(words)
                return None
            if kind == "courtesy":
                step = len(words)
                break
        if not step:
            return None
        i += step
    return None


def _is_reference(
    i: int, tokens: list[str], raw: list[tuple[str, str]] | None, *, after_word: bool
) -> bool:
    """C2: is ``tokens[i]`` a number or reference code (not a time, date or quantity)?"""
    token = tokens[i]
    if not any(c.isdigit() for c in token):
        return False
    if token.isdigit():
        # "10:30", "12/5": two numbers joined by a time or date character.
        for j in (i - 1, i + 1):
            if 0 <= j < len(tokens) and tokens[j].isdigit():
                between = (raw[max(i, j)][1] if raw is not None else "").strip()
                if raw is None or (len(between) == 1 and between in _TIME_JOINS):
                    return False
        return True
    if _QUANTITY.fullmatch(token):
        return False
    hashed = raw is not None and "#" in raw[i][1]
    capitals = raw is not None and raw[i][0].isupper()
    return after_word or hashed or capitals or sum(c.isdigit() for c in token) >= 2


def _name_word(raw_word: str, token: str, separated: bool, lists: _Lists, packs: Packs) -> bool:
    if not token.isalpha() or token.endswith("ing") or token in lists.not_names:
        return False
    if token in packs.vocab or token in lists.references or (token,) in lists.pronouns:
        return False
    if len(raw_word) == 1:
        return raw_word.isupper()  # an initial; see _name_span
    title = raw_word[0].isupper() and raw_word[1:].islower()
    return title or (separated and raw_word.isupper())


def _courtesy_word(token: str, packs: Packs) -> bool:
    return any(kind == "courtesy" and len(w) == 1 for w, kind, _ in packs.vocab.get(token, ()))


def _pronoun_size(i: int, end: int, tokens: list[str], languages: frozenset[str]) -> int:
    """How many tokens from ``i`` form a pronoun of an enabled language (0: none)."""
    lists = _lists()
    for size in range(min(lists.longest_pronoun, end - i), 0, -1):
        if not lists.pronouns.get(tuple(tokens[i : i + size]), frozenset()).isdisjoint(languages):
            return size
    return 0


def _name_span(
    start: int, end: int, tokens: list[str], raw: list[tuple[str, str]], packs: Packs
) -> tuple[int, int] | None:
    """C2: the one to three words of a name or signature ending at ``end`` (trailing
    courtesy such as "x" or "thanks" aside), after the keyword at ``start``."""
    lists = _lists()
    stop = end
    while stop > start and _courtesy_word(tokens[stop - 1], packs):
        stop -= 1
    for size in (3, 2, 1):
        first = stop - size
        if first < start:
            continue
        separated = any(c in _SEPARATORS for c in raw[first][1])
        words = range(first, stop)
        if not all(_name_word(raw[k][0], tokens[k], separated, lists, packs) for k in words):
            continue
        if all(len(raw[k][0]) == 1 for k in words):
            continue  # initials alone are not a name
        return first, stop
    return None


def _may_follow(token: str, config: ClassifierConfig, lists: _Lists, packs: Packs) -> bool:
    """Could ``token`` be left after the keyword: a stage-2 word, part of a pronoun or
    reference, a word that may be a name, or one of the account's own words?"""
    if token in packs.vocab or token in lists.pronoun_words or token in lists.references:
        return True
    if token.isalpha():
        if not token.endswith("ing") and token not in lists.not_names:
            return True  # perhaps a name: the raw capital letters decide
    elif any(c.isdigit() for c in token):
        return True
    upper = token.upper()
    return (
        token in config.purposes
        or upper in config.topic_keywords
        or token in {name.lower() for name in config.topic_keywords.values()}
        or upper in config.extra_opt_out | config.extra_help | config.extra_opt_in
        or upper in config.confirm_keywords
    )


def _strip_trailer(
    text: str | None, tokens: list[str], start: int, config: ClassifierConfig, packs: Packs
) -> list[str] | None:
    """The tokens without the pronouns, references, name and signature after the
    keyword ending at ``start``; ``None`` when there is none of these."""
    lists = _lists()
    end = len(tokens)
    stripped = False
    for s in range(start, end):
        if tokens[s] in lists.signature_starts and any(
            tuple(tokens[s : s + len(sig)]) == sig for sig in lists.signatures
        ):
            if end - s <= _SIGNATURE_WORDS:
                end, stripped = s, True
            break
    if not all(_may_follow(tokens[i], config, lists, packs) for i in range(start, end)):
        return None  # a word that nothing here accepts: no need to look further
    raw = _raw_words(text, tokens)
    kept = tokens[:start]
    name = _name_span(start, end, tokens, raw, packs) if raw is not None else None
    languages = config.languages | {"en"}
    i = start
    while i < end:
        if name is not None and i == name[0]:
            i, stripped = name[1], True
            continue
        size = _pronoun_size(i, end, tokens, languages)
        if size:
            i, stripped = i + size, True
        elif (
            tokens[i] in lists.references
            and i + 1 < end
            and _is_reference(i + 1, tokens, raw, after_word=True)
        ):
            i, stripped = i + 2, True
        elif _is_reference(i, tokens, raw, after_word=False):
            i, stripped = i + 1, True
        else:
            kept.append(tokens[i])
            i += 1
    return kept if stripped else None


def keyword_trailer(
    text: str | None, tokens: list[str], config: ClassifierConfig, packs: Packs
) -> Verdict | None:
    """Stage 2b (C2, C5): a leading opt-out keyword followed by a pronoun, a number or
    reference code, a name or a signature, with courtesy and scope words around them.

    ``text`` is the raw body, whose capital letters tell a name; without it (C7 puts
    a keyword back into the tokens) names are not looked for.

    Example::

        >>> from consentline.domain.classifier import classify
        >>> classify("STOP ref A12B").rule, classify("stop now pls - Dave").intent
        ('C5.keyword_trailer', 'opt_out')
        >>> classify("Stop the story.").intent
        'ambiguous'
    """
    if tokens[0] not in packs.vocab or _lists().lead_words.isdisjoint(tokens[:_LEAD_WORDS]):
        return None  # fast exit for ordinary sentences
    start = _lead_end(tokens, config, packs)
    if start is None or start == len(tokens):
        return None
    kept = _strip_trailer(text, tokens, start, config, packs)
    if kept is None:
        return None
    verdict = keyword_led(kept, config, packs)
    if verdict is None or verdict.intent != "opt_out":
        return None
    return verdict._replace(rule="C5.keyword_trailer")
