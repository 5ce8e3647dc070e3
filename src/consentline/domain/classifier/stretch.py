"""C1: stretched words whose letter run hid a keyword's double letter.

C1 step 9 collapses a run of three or more identical letters to one letter, which
gives back "stop" from "STOOOOP" and "stoppppp". A keyword spelt with a double
letter loses it when that letter is the stretched one: "ARRRRET" becomes "aret",
"STOP ALLLL" becomes "stop al". For the words that came out of such a run (and only
those: an unstretched "aret" is left alone), :func:`unstretch` looks the word up by
its squeezed spelling, every run of a repeated letter made one letter, among the
words the keyword stages know. A word that is itself known stays as it is, so
"STOPPPP" stays STOP (English, C2) as before and does not become STOPP.
The raw body is untouched (C1: it is the evidence); only the words matched change.
"""

from __future__ import annotations

import re
from functools import cache

from consentline.domain.classifier.packs import load_packs

__all__ = ["squeeze", "unstretch"]

_DOUBLE = re.compile(r"([^\W\d_])\1+")


def squeeze(word: str) -> str:
    """Every run of a repeated letter made one letter: "arrett" -> "aret"."""
    return _DOUBLE.sub(r"\1", word)


@cache
def _vocabulary() -> tuple[frozenset[str], dict[str, str]]:
    """The words of the keyword stages (keywords, courtesy, scope, objects), and the
    squeezed spelling of each word they or the grammars use that has a double
    letter -> that word. Where two words squeeze alike (ARRET, ARRETT) the one met
    first in pack order wins; a squeezed spelling that is a known word itself
    ("stop", from STOPP) is never rerouted."""
    packs = load_packs()
    words: dict[str, None] = {}
    for key in packs.entries:
        words.update(dict.fromkeys(key.split()))
    for options in packs.vocab.values():
        for tokens, _, _ in options:
            words.update(dict.fromkeys(tokens))
    # The keyword stages' own words are never rerouted; a word only the grammar
    # anchors on (the misspelling "arete") still is, to the keyword it stretches.
    known = frozenset(words)
    words.update(dict.fromkeys(sorted(packs.pattern_words)))
    index: dict[str, str] = {}
    for word in words:
        short = squeeze(word)
        if short != word and short not in known:
            index.setdefault(short, word)
    return known, index


def unstretch(clauses: list[str], stretched: frozenset[str]) -> list[str]:
    """``clauses`` with each stretched word that is not a known word replaced by the
    known word it squeezes to (C1): ["aret svp"] -> ["arret svp"].

    ``stretched`` is what :func:`~consentline.domain.classifier.normalise.normalise_runs`
    reports; words outside it are never changed.

    Example::

        >>> unstretch(["aret svp"], frozenset({"aret"}))
        ['arret svp']
        >>> unstretch(["stop"], frozenset({"stop"}))
        ['stop']
    """
    known, index = _vocabulary()
    changes = {
        word: index[short]
        for word in stretched
        if word not in known and (short := squeeze(word)) in index
    }
    if not changes:
        return clauses
    return [" ".join(changes.get(word, word) for word in clause.split()) for clause in clauses]
