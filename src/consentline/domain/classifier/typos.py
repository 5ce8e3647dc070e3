"""Stage 4 (C7): a single word one keyboard slip away from an opt-out keyword."""

from __future__ import annotations

from consentline.domain.classifier.packs import Packs, enabled, language_of
from consentline.domain.classifier.stages import Verdict
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


def one_slip(word: str, keyword: str) -> bool:
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


def typo(tokens: list[str], config: ClassifierConfig, packs: Packs) -> Verdict | None:
    """Stage 4 (C7): a single word of 4+ letters one slip away from an opt-out keyword."""
    if not config.typo_tolerance or len(tokens) != 1:
        return None
    word = tokens[0]
    if len(word) < 4 or word in _REAL_WORDS:
        return None
    for entry in packs.typo_targets:
        if enabled(entry, config) and one_slip(word, entry.key):
            return Verdict("opt_out", "C7.typo", entry.keyword, language_of(entry, config))
    return None
