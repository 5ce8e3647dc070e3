"""Keyword-led replies the first classifier missed (issue 10): stretched keywords (C1),
per-se keywords with a trailer (C2, C5), typos in longer replies (C7) and opt-out
words in an everyday sense (C8, C9)."""

from __future__ import annotations

import pytest

from consentline.domain.classifier import ClassifierConfig, KeywordScope, classify
from consentline.domain.classifier.normalise import normalise, normalise_runs
from consentline.domain.classifier.stretch import squeeze, unstretch

# ----------------------------------------------------------------- C1 stretched words


@pytest.mark.parametrize(
    ("text", "rule", "keyword", "language"),
    [
        ("ARRRRET", "C4.pack.fr", "ARRET", "fr"),
        ("ARRRRÊT", "C4.pack.fr", "ARRET", "fr"),
        ("arrrrrret svp", "C5.keyword_led", "ARRET", "fr"),
        ("Arrrrêt merci", "C5.keyword_led", "ARRET", "fr"),
        ("arrrreeeet", "C4.pack.fr", "ARRET", "fr"),
        ("STOP ALLLL", "C3.parity", "STOP ALL", "en"),
        ("hellooo stop", "C5.keyword_led", "STOP", "en"),
        # The stretched letter is the one a keyword has once: unchanged behaviour.
        ("STOPPPP", "C2.per_se", "STOP", "en"),
        ("STOOOOP", "C2.per_se", "STOP", "en"),
        ("STOOOPP", "C4.pack.no", "STOPP", "no"),
    ],
)
def test_a_stretched_double_letter_still_finds_its_keyword_C1(
    text: str, rule: str, keyword: str, language: str
) -> None:
    result = classify(text)
    assert (result.intent, result.rule, result.keyword, result.language) == (
        "opt_out",
        rule,
        keyword,
        language,
    )


def test_stop_all_stretched_keeps_its_scope_all_C1_C3() -> None:
    assert classify("STOP ALLLL").scope == KeywordScope("all")


def test_the_normal_form_and_the_raw_text_are_unchanged_by_the_lookup_C1() -> None:
    raw = "ARRRRET"
    result = classify(raw)
    assert result.normalised == normalise(raw) == "aret"  # what C1 produces, kept as is
    assert raw == "ARRRRET"


def test_an_unstretched_misspelling_is_not_rerouted_C1() -> None:
    # Only words that came out of a collapsed run are looked up by their squeezed form.
    assert classify("aret").intent == "none"
    assert classify("stop al").intent == "ambiguous"


def test_normalise_runs_reports_the_shortened_words_only_C1() -> None:
    assert normalise_runs("ARRRRET svp") == ("aret svp", frozenset({"aret"}))
    assert normalise_runs("Arrrrêt, merci") == ("aret, merci", frozenset({"aret"}))
    assert normalise_runs("stop please") == ("stop please", frozenset())
    assert normalise_runs("call 1000") == ("call 1000", frozenset())  # digits never collapse


def test_squeeze_and_unstretch() -> None:
    assert squeeze("arrett") == "aret"
    assert squeeze("stop") == "stop"
    assert unstretch(["aret svp"], frozenset({"aret"})) == ["arret svp"]
    assert unstretch(["stop al"], frozenset({"al"})) == ["stop all"]
    assert unstretch(["stop"], frozenset({"stop"})) == ["stop"]  # a known word stays
    assert unstretch(["fuck it"], frozenset({"fuck"})) == ["fuck it"]  # nothing to find


def test_a_stretched_pack_word_follows_the_language_switch_C1_C4() -> None:
    assert classify("ARRRRET", ClassifierConfig(languages=frozenset({"en"}))).intent == "none"
