"""Reader for the labelled revocation corpus: ``dev.tsv``, ``heldout.tsv``, ``provenance.tsv``.

README.md in this folder describes the corpus, its labels and its sources. This module only
reads the files, strictly: a row that does not have every column, an unknown escape or a
missing header is an error naming the file and line, never silently skipped. The format tests
(``tests/unit/test_revocation_corpus.py``) and the benchmark (``bench/bench_revocations.py``)
both read the corpus through it.

Example::

    >>> parts = read_all()
    >>> sorted(parts)
    ['dev', 'heldout']
    >>> parts["heldout"][0].language
    'en'
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PARTS = ("dev", "heldout")
COLUMNS = ("id", "language", "intent", "text", "provenance", "note")
LANGUAGES = ("en", "es", "fr", "pt")
INTENTS = ("opt_out", "ambiguous", "none", "help", "opt_in")
PROVENANCE_COLUMNS = ("code", "title", "publisher", "year", "url", "taken")
VARIATION = "own-variation:"

_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "\\": "\\"}


class CorpusError(ValueError):
    """A corpus file that does not follow the documented format."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One labelled reply; ``text`` is decoded, ``raw`` is the field as written in the file."""

    id: str
    part: str
    language: str
    intent: str
    text: str
    raw: str
    provenance: str
    note: str


def decode(field: str) -> str:
    """The text of a ``text`` field: ``\\n``, ``\\t``, ``\\\\`` and ``\\uXXXX`` expanded.

    >>> decode(r"S\\u200bTOP\\nSent from my phone")
    'S\\u200bTOP\\nSent from my phone'
    """

    def expand(match: re.Match[str]) -> str:
        escape = match.group(1)
        if len(escape) == 5:
            return chr(int(escape[1:], 16))
        if escape in _SIMPLE:
            return _SIMPLE[escape]
        raise CorpusError(f"unknown escape \\{escape} in {field!r}")

    return _ESCAPE.sub(expand, field)


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    header_seen = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("#") or (not line.strip() and not header_seen):
            continue
        cells = line.split("\t")
        if not header_seen:
            if tuple(cells) != columns:
                raise CorpusError(f"{path.name}:{number}: header {cells} is not {list(columns)}")
            header_seen = True
            continue
        if len(cells) != len(columns):
            raise CorpusError(
                f"{path.name}:{number}: {len(cells)} columns, expected {len(columns)}: {line!r}"
            )
        rows.append((number, cells))
    if not header_seen:
        raise CorpusError(f"{path.name}: no header line")
    return rows


def read_part(part: str, path: Path | None = None) -> list[Entry]:
    """Every entry of one part (``dev`` or ``heldout``), in file order."""
    path = path or HERE / f"{part}.tsv"
    entries = []
    for number, (id_, language, intent, raw, provenance, note) in _rows(path, COLUMNS):
        if not raw.strip():
            raise CorpusError(f"{path.name}:{number}: empty text")
        try:
            text = decode(raw)
        except CorpusError as error:
            raise CorpusError(f"{path.name}:{number}: {error}") from None
        entries.append(Entry(id_, part, language, intent, text, raw, provenance, note))
    return entries


def read_all() -> dict[str, list[Entry]]:
    """Both parts, keyed by part name."""
    return {part: read_part(part) for part in PARTS}


def provenance_codes(path: Path | None = None) -> dict[str, dict[str, str]]:
    """The documented provenance codes of ``provenance.tsv``: code -> its columns."""
    rows = _rows(path or HERE / "provenance.tsv", PROVENANCE_COLUMNS)
    return {cells[0]: dict(zip(PROVENANCE_COLUMNS, cells, strict=True)) for _, cells in rows}


def dedup_key(text: str) -> str:
    """``text`` with case, accents, whitespace, punctuation, symbols and emoji removed.

    Two entries with the same key differ only in those, so they may not sit in different
    parts. A message of emoji only keeps its emoji (without variation selectors).

    >>> dedup_key("Stop!!") == dedup_key("  s-t-o-p 🛑") == "stop"
    True
    """
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    key = "".join(c for c in folded if c.isalnum() and not unicodedata.combining(c))
    if key:
        return key
    return "".join(c for c in text if not c.isspace() and c not in "\ufe0e\ufe0f\u200d")


def counts(parts: dict[str, list[Entry]]) -> Counter[tuple[str, str, str]]:
    """Entries per (language, intent, part)."""
    return Counter((e.language, e.intent, e.part) for entries in parts.values() for e in entries)


def counts_table(parts: dict[str, list[Entry]]) -> str:
    """The Markdown table of README.md: entries per language x intent, dev / held-out."""
    tally = counts(parts)
    lines = [
        "| language | " + " | ".join(INTENTS) + " | total |",
        "|---|" + "---:|" * (len(INTENTS) + 1),
    ]
    for language in (*LANGUAGES, "all"):
        langs = LANGUAGES if language == "all" else (language,)
        cells = []
        for intent in (*INTENTS, "total"):
            intents = INTENTS if intent == "total" else (intent,)
            dev, held = (
                sum(tally[(lang, i, part)] for lang in langs for i in intents)
                for part in ("dev", "heldout")
            )
            cells.append(f"{dev} / {held}")
        lines.append(f"| {language} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
