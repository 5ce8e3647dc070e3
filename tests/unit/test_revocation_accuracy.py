"""The classifier on the labelled revocation corpus (C2, C6, C8; issue 10).

The figures come from ``bench/bench_revocations.py``; these tests keep them from
sliding back. Issue 10 asks for 98 % opt-out recall and no false opt-out on the
held-out part; that is not reached yet (the held-out part, written blind, measures
81 %), so the floors below are what was reached, not the target:

- development part: at least 96 % recall overall and 94 % in each language, and no
  non-revocation classified ``opt_out``;
- held-out part: at least 80 % recall overall and 70 % in each language, and at most
  2 false opt-outs.

A failure prints entry ids only. Do not tune rules on held-out failures: read the
development part instead (``bench_revocations.py --part dev --list``).
"""

from __future__ import annotations

import pytest

from consentline.domain.classifier import classify
from tests.data.revocations.corpus import LANGUAGES, Entry, read_all

RECALL = {"dev": 0.96, "heldout": 0.80}
RECALL_PER_LANGUAGE = {"dev": 0.94, "heldout": 0.70}
FALSE_OPT_OUTS = {"dev": 0, "heldout": 2}


@pytest.fixture(scope="module")
def results() -> dict[str, list[tuple[Entry, str]]]:
    return {
        part: [(entry, classify(entry.text).intent) for entry in entries]
        for part, entries in read_all().items()
    }


def _missed(rows: list[tuple[Entry, str]]) -> tuple[list[str], int]:
    revocations = [(e, got) for e, got in rows if e.intent == "opt_out"]
    return [e.id for e, got in revocations if got != "opt_out"], len(revocations)


@pytest.mark.parametrize("part", ["dev", "heldout"])
def test_opt_out_recall_stays_at_its_floor(
    results: dict[str, list[tuple[Entry, str]]], part: str
) -> None:
    missed, total = _missed(results[part])
    assert 1 - len(missed) / total >= RECALL[part], missed


@pytest.mark.parametrize("part", ["dev", "heldout"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_no_language_falls_behind_its_floor(
    results: dict[str, list[tuple[Entry, str]]], part: str, language: str
) -> None:
    missed, total = _missed([(e, got) for e, got in results[part] if e.language == language])
    assert 1 - len(missed) / total >= RECALL_PER_LANGUAGE[part], missed


@pytest.mark.parametrize("part", ["dev", "heldout"])
def test_false_opt_outs_stay_at_their_ceiling(
    results: dict[str, list[tuple[Entry, str]]], part: str
) -> None:
    false = [e.id for e, got in results[part] if e.intent != "opt_out" and got == "opt_out"]
    assert len(false) <= FALSE_OPT_OUTS[part], false


def test_the_floors_can_fail() -> None:
    # A matcher that says opt_out for nothing misses every revocation: the recall
    # floor rejects it, so the tests above measure something.
    rows = [(entry, "none") for entry in read_all()["dev"]]
    missed, total = _missed(rows)
    assert 1 - len(missed) / total < RECALL["dev"]
