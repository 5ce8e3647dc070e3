"""Stage 4 (C7): a word one keyboard slip away from an opt-out keyword.

Alone ("Stpo") it is an opt-out, rule ``C7.typo``. Leading a longer message
("stpo please", "STPO TEXTING ME", "Unsubscirbe me", "Stpo it") it is one when the
message, with the keyword put back, is what stage 2 or 2b accepts (courtesy, scope,
messaging words, a pronoun or a reference: ``trailers.py``): rule ``C7.typo_led``. The slip
must be the leading word (after courtesy: "please stpo"); a real word one slip away
(SHOP, STEP, SPOT, POST, see ``_REAL_WORDS``) never counts, so "Shop please" and
"spot on" are nothing.
"""

from __future__ import annotations

from functools import cache

from consentline.domain.classifier.packs import Entry, Packs, enabled, language_of, load_packs
from consentline.domain.classifier.stages import Verdict, keyword_led
from consentline.domain.classifier.trailers import keyword_trailer
from consentline.domain.classifier.types import ClassifierConfig

__all__ = ["one_slip", "typo"]


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


# C7: from this length on a keyword is distinctive enough that one letter missing
# or doubled ("unsubcribe", "unsubscribbe") is still unmistakably that keyword.
_LONG = 7


def one_slip(word: str, keyword: str) -> bool:
    """C7: one slip of the fingers away from ``keyword``.

    A slip is one adjacent transposition ("stpo"), one keyboard-neighbour
    substitution ("stip"), one letter moved two places ("sopt"), or, for keywords
    of seven letters or more, one letter missing or doubled ("unsubcribe").
    """
    return word in _slips(keyword)


@cache
def _slips(keyword: str) -> frozenset[str]:
    """Every word :func:`one_slip` accepts for ``keyword``."""
    found = set()
    size = len(keyword)
    for i, char in enumerate(keyword):
        for key in _NEIGHBOURS.get(char, frozenset()):
            found.add(keyword[:i] + key + keyword[i + 1 :])
        if i + 1 < size and keyword[i + 1] != char:
            found.add(keyword[:i] + keyword[i + 1] + char + keyword[i + 2 :])
        if i + 2 < size:  # one letter moved two places, either way
            found.add(keyword[:i] + keyword[i + 1 : i + 3] + char + keyword[i + 3 :])
            found.add(keyword[:i] + keyword[i + 2] + keyword[i : i + 2] + keyword[i + 3 :])
        if size >= _LONG:
            found.add(keyword[:i] + keyword[i + 1 :])
            found.add(keyword[:i] + char + keyword[i:])
    found.discard(keyword)
    return frozenset(found)


@cache
def _slip_index() -> tuple[dict[str, tuple[Entry, ...]], frozenset[str]]:
    """Each one-slip variant of a typo target -> the targets it is a slip of (in pack
    order), and the one-word courtesy words that may come before the slip. A message
    whose leading word is not a variant is ruled out by one dictionary lookup."""
    packs = load_packs()
    index: dict[str, list[Entry]] = {}
    for entry in packs.typo_targets:
        for variant in _slips(entry.key):
            index.setdefault(variant, []).append(entry)
    courtesy = frozenset(
        token
        for token, options in packs.vocab.items()
        if any(kind == "courtesy" and len(words) == 1 for words, kind, _ in options)
    )
    return {variant: tuple(entries) for variant, entries in index.items()}, courtesy


def _typo_led(tokens: list[str], config: ClassifierConfig, packs: Packs) -> Verdict | None:
    """C7: the leading word (after courtesy) of a longer message is one slip from an
    opt-out keyword, and with the keyword put back stage 2 or 2b accepts the message."""
    index, courtesy = _slip_index()
    lead = 0
    while lead < len(tokens) and tokens[lead] in courtesy:
        lead += 1
    if lead == len(tokens):
        return None
    word = tokens[lead]
    slips = index.get(word)
    if slips is None or len(word) < 4 or word in _REAL_WORDS or word in packs.vocab:
        return None
    for entry in slips:
        if enabled(entry, config):
            fixed = [*tokens[:lead], *entry.key.split(), *tokens[lead + 1 :]]
            verdict = keyword_led(fixed, config, packs) or keyword_trailer(
                None, fixed, config, packs
            )
            if verdict is None or verdict.intent != "opt_out":
                return None
            return verdict._replace(rule="C7.typo_led")
    return None


def typo(tokens: list[str], config: ClassifierConfig, packs: Packs) -> Verdict | None:
    """Stage 4 (C7): a word of 4+ letters one slip away from an opt-out keyword, alone
    (``C7.typo``) or leading what stage 2 or 2b accepts (``C7.typo_led``)."""
    if not config.typo_tolerance:
        return None
    if len(tokens) != 1:
        return _typo_led(tokens, config, packs)
    word = tokens[0]
    if len(word) < 4 or word in _REAL_WORDS:
        return None
    for entry in packs.typo_targets:
        if enabled(entry, config) and one_slip(word, entry.key):
            return Verdict("opt_out", "C7.typo", entry.keyword, language_of(entry, config))
    return None
