"""The labelled revocation corpus (tests/data/revocations/) keeps its documented format.

These tests check the files, not the classifier: accuracy on the corpus is measured by
``bench/bench_revocations.py``. They fail on a malformed row, an undocumented provenance,
an id used twice, a text that appears (up to case, accents, whitespace and punctuation) in
both the development and the held-out part, or a split that is no longer stratified.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.data.revocations import corpus
from tests.data.revocations.corpus import INTENTS, LANGUAGES, PARTS, CorpusError, Entry

MINIMUM_TOTAL = 700
MINIMUM_PER_LANGUAGE = {"en": 280, "es": 140, "fr": 140, "pt": 140}
ID_PATTERN = re.compile(r"(en|es|fr|pt)-\d{4}")
HEADER = "id\tlanguage\tintent\ttext\tprovenance\tnote\n"


@pytest.fixture(scope="module")
def parts() -> dict[str, list[Entry]]:
    return corpus.read_all()


@pytest.fixture(scope="module")
def entries(parts: dict[str, list[Entry]]) -> list[Entry]:
    return [entry for part in PARTS for entry in parts[part]]


def test_both_parts_parse_and_are_not_empty(parts: dict[str, list[Entry]]) -> None:
    assert set(parts) == {"dev", "heldout"}
    assert all(len(parts[part]) >= 100 for part in PARTS)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("en-0001\ten\topt_out\tSTOP\town\n", "header"),
        (HEADER + "en-0001\ten\topt_out\tSTOP\n", "columns"),
        (HEADER + "en-0001\ten\topt_out\t \town\t\n", "empty"),
        (HEADER + "en-0001\ten\topt_out\tST\\qOP\town\t\n", "escape"),
    ],
)
def test_the_reader_rejects_a_malformed_file(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "dev.tsv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        corpus.read_part("dev", path)


def test_escapes_are_expanded_and_only_where_documented() -> None:
    assert corpus.decode(r"S\u200bTOP\nSent from my iPhone") == "S\u200bTOP\nSent from my iPhone"
    assert corpus.decode(r"a\\b\tc") == "a\\b\tc"
    with pytest.raises(CorpusError):
        corpus.decode(r"\x41")


def test_every_row_has_a_known_language_intent_and_id(entries: list[Entry]) -> None:
    for entry in entries:
        assert entry.language in LANGUAGES, entry
        assert entry.intent in INTENTS, entry
        assert ID_PATTERN.fullmatch(entry.id), entry
        assert entry.id.startswith(entry.language + "-"), entry
        assert entry.text.strip() and entry.note.strip(), entry


def test_ids_are_unique_across_both_parts(entries: list[Entry]) -> None:
    repeated = [id_ for id_, n in Counter(e.id for e in entries).items() if n > 1]
    assert repeated == []


def test_every_provenance_is_documented(parts: dict[str, list[Entry]]) -> None:
    codes = corpus.provenance_codes()
    assert {"own", "own-variation"} <= set(codes)
    for part, part_entries in parts.items():
        ids = {e.id: e for e in part_entries}
        for entry in part_entries:
            if entry.provenance.startswith(corpus.VARIATION):
                target = entry.provenance.removeprefix(corpus.VARIATION)
                # A variation stays in its original's part, so the held-out part never
                # holds a rewording of a development entry.
                assert target in ids and target != entry.id, (part, entry)
            else:
                assert entry.provenance in codes and entry.provenance != "own-variation", entry


def test_every_provenance_code_is_described_in_the_readme() -> None:
    readme = (corpus.HERE / "README.md").read_text(encoding="utf-8")
    for code, row in corpus.provenance_codes().items():
        assert f"`{code}`" in readme, code
        assert row["title"] and row["publisher"] and row["taken"], code


def test_the_corpus_is_large_enough(entries: list[Entry]) -> None:
    per_language = Counter(e.language for e in entries)
    assert len(entries) >= MINIMUM_TOTAL
    for language, minimum in MINIMUM_PER_LANGUAGE.items():
        assert per_language[language] >= minimum, (language, per_language[language])


def test_no_text_is_in_both_parts(parts: dict[str, list[Entry]]) -> None:
    dev = {corpus.dedup_key(e.text): e for e in parts["dev"]}
    shared = [
        (e.id, e.text, dev[key].id, dev[key].text)
        for e in parts["heldout"]
        if (key := corpus.dedup_key(e.text)) in dev
    ]
    assert shared == []


def test_dedup_key_ignores_case_accents_punctuation_and_emoji() -> None:
    assert corpus.dedup_key("No más!!") == corpus.dedup_key("NO MAS") == "nomas"
    assert corpus.dedup_key("ＳＴＯＰ 🙏") == corpus.dedup_key("s.t.o.p")
    assert corpus.dedup_key("\U0001f6d1") != corpus.dedup_key("\u26d4\ufe0f")


def test_each_part_has_revocations_and_non_revocations_in_every_language(
    parts: dict[str, list[Entry]],
) -> None:
    for part, part_entries in parts.items():
        for language in LANGUAGES:
            labels = Counter(e.intent == "opt_out" for e in part_entries if e.language == language)
            assert labels[True] >= 30 and labels[False] >= 20, (part, language, labels)


def test_the_split_is_stratified_by_language_and_intent(entries: list[Entry]) -> None:
    # A quarter of the entries are held out (the third held-out part; the first two
    # were folded into dev after they had been measured, see README.md).
    total = Counter((e.language, e.intent) for e in entries)
    held = Counter((e.language, e.intent) for e in entries if e.part == "heldout")
    assert 0.20 <= sum(held.values()) / len(entries) <= 0.35
    for cell, n in total.items():
        if n >= 20:  # help and opt_in cells are a handful of keywords: too small to split evenly
            assert 0.18 <= held[cell] / n <= 0.40, (cell, held[cell], n)


def test_revocations_are_a_little_over_half_of_each_language(entries: list[Entry]) -> None:
    for language in LANGUAGES:
        own = [e for e in entries if e.language == language]
        share = sum(e.intent == "opt_out" for e in own) / len(own)
        assert 0.50 <= share <= 0.65, (language, share)


def test_help_and_opt_in_stay_a_small_part(entries: list[Entry]) -> None:
    keywords = sum(e.intent in ("help", "opt_in") for e in entries)
    assert 0 < keywords <= 0.06 * len(entries)


def test_the_readme_table_matches_the_files(parts: dict[str, list[Entry]]) -> None:
    readme = (corpus.HERE / "README.md").read_text(encoding="utf-8")
    assert corpus.counts_table(parts) in readme


def test_the_readme_provenance_counts_match_the_files(entries: list[Entry]) -> None:
    readme = (corpus.HERE / "README.md").read_text(encoding="utf-8")
    written = {
        match.group(1): int(match.group(2))
        for match in re.finditer(r"^\| `([\w-]+)` \|.*\| (\d+) \|$", readme, re.MULTILINE)
    }
    actual = Counter(e.provenance.split(":")[0] for e in entries)
    assert written == dict(actual)
