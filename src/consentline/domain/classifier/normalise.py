"""C1: the normalised form of an inbound message, used for matching only.

The raw body is evidence and is stored unchanged; :func:`normalise` produces the
string the keyword classifier matches against. The steps, in order:

1. NFKC (full-width and mathematical letters become plain letters);
2. drop format characters (Unicode category Cf: zero-width space, joiners, BOM,
   bidi marks), which people and spam filters use to break keywords apart;
3. map confusables to Latin letters (UTS #39 table shipped by
   ``confusable-homoglyphs``; Cyrillic ``Ѕ`` -> ``S``), before case folding
   because the table lists look-alikes case by case (Cyrillic ``т`` does not look
   like ``t``, but ``Т`` looks like ``T``);
4. casefold;
5. fold diacritics (NFD, then drop combining marks): ``ARRÊT`` -> ``arret``;
6. straight apostrophes for the typographic ones (``don’t`` -> ``don't``);
7. collapse whitespace; strip leading and trailing punctuation, symbols and emoji;
8. join spelled-out letters: ``S T O P``, ``s.t.o.p``, ``S-T-O-P`` -> ``stop``;
9. collapse runs of three or more identical letters to one letter.

Why one letter and not two (step 9): people stretch the vowel or the last letter
of the word they mean ("STOOOOP", "stoppppp", "quiiiit"). Collapsing to two would
give "stoop" and "stopp", which are other words (and STOPP is a Norwegian
keyword); collapsing to one gives back the keyword. No keyword has a letter that
is legitimately tripled, and doubled letters (ARRET, STOPP) are untouched because
only runs of three or more collapse.

A keyword whose own spelling has a double letter (ARRET, STOPP, "all") loses it
when that letter is the one stretched: "ARRRRET" becomes "aret". The normal form
stays as it is (it is what the tests of this module pin down); instead
:func:`normalise_runs` also says which words came out of a collapsed run, and the
classifier looks those words up by their squeezed spelling (``stretch.py``).

Plain ASCII text (most traffic) skips steps 1-6, which keeps the classifier above
50,000 messages per second on one core.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from functools import cache
from importlib import resources

__all__ = ["normalise", "normalise_runs", "warm_tables"]

# Step 6: typographic apostrophes and the modifier letters phones substitute for them.
_APOSTROPHES = "\u2018\u2019\u201b\u02bc\u02bb\u00b4\uff07"

# Step 7 (ASCII part): every ASCII punctuation or symbol character, plus whitespace.
_ASCII_EDGE = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum()) + " \t\r\n\f\v"

# Step 8: three or more single letters separated by one space, dot, hyphen,
# underscore, asterisk or slash (a dot may be followed by a space: "S. T. O. P").
_SPELLED = re.compile(r"(?<!\w)[^\W\d_](?:(?:\s*[.\-_*/]\s*|\s)[^\W\d_]){2,}(?!\w)")
_SPELLED_SEP = re.compile(r"[\s.\-_*/]+")

# Step 9: a letter (not a digit: "1000" is a number) repeated three or more times.
_RUN3 = re.compile(r"([^\W\d_])\1{2,}")

# Cheap ASCII pre-checks: most messages need neither step 8 nor step 9, and these
# simpler expressions rule that out several times faster than the full ones.
_ASCII_SPELLED_HINT = re.compile(r"[ .*/_-][a-z][ .*/_-]+[a-z]\b")  # a lone middle letter
_ASCII_RUN3 = re.compile(r"([a-z])\1\1")

_NO_STRETCH: frozenset[str] = frozenset()


@cache
def _fold_table() -> dict[int, str | None]:
    """One ``str.translate`` table for steps 2 and 3: format characters -> removed,
    look-alike letters -> their ASCII letter.

    Built once, on the first non-ASCII message. The look-alikes come from the
    ``confusables.json`` (UTS #39) shipped by ``confusable-homoglyphs``. Only letters
    are mapped (category L*): symbols and digits keep their meaning, and digit
    targets are ignored so that a letter never becomes a number.
    """
    table: dict[int, str | None] = {
        code: None for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"
    }
    text = (resources.files("confusable_homoglyphs") / "confusables.json").read_text(
        encoding="utf-8"
    )
    confusables: dict[str, list[dict[str, str]]] = json.loads(text)
    for char, homoglyphs in confusables.items():
        if len(char) != 1 or char.isascii() or not unicodedata.category(char).startswith("L"):
            continue
        for glyph in homoglyphs:
            target = glyph["c"]
            if len(target) == 1 and target.isascii() and target.isalpha():
                table[ord(char)] = target
                break
    return table


@cache
def _mark_table() -> dict[int, str | None]:
    """Step 5 and 6 table: nonspacing marks (accents after NFD, variation selectors)
    removed, typographic apostrophes made straight."""
    table: dict[int, str | None] = {
        code: None for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Mn"
    }
    table.update({ord(c): "'" for c in _APOSTROPHES})
    return table


def warm_tables() -> None:
    """Build the translation tables now (they are otherwise built on the first
    message that is not plain ASCII)."""
    _fold_table()
    _mark_table()


def _fold_unicode(text: str) -> str:
    """Steps 1-6 for text that is not plain ASCII."""
    text = unicodedata.normalize("NFKC", text).translate(_fold_table()).casefold()
    return unicodedata.normalize("NFD", text).translate(_mark_table())


def _is_edge(char: str) -> bool:
    """True for characters stripped from the ends (step 7): punctuation, symbols, marks."""
    return unicodedata.category(char)[0] in "PSZCM"


def _strip_unicode_edges(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return text[start:end]


def _join_spelled(match: re.Match[str]) -> str:
    return _SPELLED_SEP.sub("", match.group(0))


def _collapse_runs(folded: str) -> tuple[str, frozenset[str]]:
    """Step 9, and the words it shortened as step 9 leaves them, apostrophes removed as
    the classifier's clauses remove them: "ARRRRET svp" -> ("aret svp", {"aret"})."""
    spans: list[tuple[int, int]] = []

    def shorten(match: re.Match[str]) -> str:
        spans.append(match.span())
        return match.group(1)

    collapsed = _RUN3.sub(shorten, folded)
    words = set()
    size = len(folded)
    for start, end in spans:
        while start and (folded[start - 1].isalnum() or folded[start - 1] == "'"):
            start -= 1
        while end < size and (folded[end].isalnum() or folded[end] == "'"):
            end += 1
        words.add(_RUN3.sub(r"\1", folded[start:end].replace("'", "")))
    return collapsed, frozenset(words)


def normalise_runs(text: str) -> tuple[str, frozenset[str]]:
    """:func:`normalise`, plus the words that step 9 shortened (C1).

    The second value is empty for almost every message; the classifier uses it to
    find keywords whose double letter was the one stretched ("ARRRRET" -> ARRET).

    Example::

        >>> normalise_runs("ARRRRET svp")
        ('aret svp', frozenset({'aret'}))
        >>> normalise_runs("stop please")
        ('stop please', frozenset())
    """
    if text.isascii():
        folded = " ".join(text.lower().split()).strip(_ASCII_EDGE)
        if _ASCII_SPELLED_HINT.search(folded):
            folded = _SPELLED.sub(_join_spelled, folded)
        if _ASCII_RUN3.search(folded):
            return _collapse_runs(folded)
        return folded, _NO_STRETCH
    folded = " ".join(_fold_unicode(text).split()).strip(_ASCII_EDGE)
    folded = _strip_unicode_edges(folded)
    folded = _SPELLED.sub(_join_spelled, folded)
    return _collapse_runs(folded)


def normalise(text: str) -> str:
    """Return the C1 normal form of ``text`` used for keyword matching.

    The result is lower case, without diacritics, format characters or look-alike
    letters, with single spaces and no punctuation, symbols or emoji at the ends.

    Example::

        >>> normalise("  ＳＴＯＰ!! ")
        'stop'
        >>> normalise("S\\u200bTOP")
        'stop'
        >>> normalise("Arrêt, s'il vous plaît")
        "arret, s'il vous plait"
        >>> normalise("s.t.o.p")
        'stop'
        >>> normalise("STOOOOP")
        'stop'
    """
    return normalise_runs(text)[0]
