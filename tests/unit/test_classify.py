"""C2-C13: classification of inbound messages."""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import pytest

from consentline.domain.classifier import (
    CLASSIFIER_VERSION,
    Classification,
    ClassifierConfig,
    KeywordScope,
    classify,
)
from consentline.domain.classifier.packs import load_packs

CASES_FILE = Path(__file__).parent / "data" / "classifier_cases.tsv"


def _unescape(text: str) -> str:
    return codecs.decode(text, "unicode_escape") if "\\" in text else text


def _scope_text(scope: KeywordScope) -> str:
    return scope.kind if scope.name is None else f"{scope.kind}:{scope.name}"


@dataclass(frozen=True)
class Case:
    text: str
    intent: str
    rule: str
    language: str
    scope: str
    note: str


def _load_cases() -> list[object]:
    params: list[object] = []
    lines = CASES_FILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line or line.startswith(("#", "text\t")):
            continue
        text, intent, rule, language, scope, note = line.split("\t")
        case = Case(_unescape(text), intent, rule, language, scope, note)
        rule_id = note.split()[0] if note[:1] == "C" else "misc"
        params.append(pytest.param(case, id=f"{rule_id}-line{number}-{text[:30]}"))
    return params


def _assert_matches(result: Classification, case: Case) -> None:
    assert result.intent == case.intent, (case.note, result)
    if case.rule != "*":
        assert result.rule == case.rule, (case.note, result)
    if case.language != "*":
        assert result.language == case.language, (case.note, result)
    if case.scope != "*":
        assert _scope_text(result.scope) == case.scope, (case.note, result)


@pytest.mark.parametrize("case", _load_cases())
def test_case_table(case: Case) -> None:
    _assert_matches(classify(case.text), case)


def test_case_table_is_large_and_covers_every_rule() -> None:
    cases = _load_cases()
    notes = " ".join(p.values[0].note for p in cases)  # type: ignore[attr-defined]
    assert len(cases) >= 300
    for rule in ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12"):
        assert re.search(rf"\b{rule}\b", notes), rule


# The classification examples of docs/compliance.md: (text, intent, language, scope).
PUBLIC_EXAMPLES = [
    ("STOP", "opt_out", None, None),
    ("Stop.", "opt_out", None, None),
    ("STOP!!", "opt_out", None, None),
    ("opt out", "opt_out", None, None),
    ("STOPALL", "opt_out", None, None),
    ("STOP ALL", "opt_out", None, "all"),
    ("stop please", "opt_out", None, None),
    ("Please stop texting me", "opt_out", None, None),
    ("remove me", "opt_out", None, None),
    ("I've changed my mind and don't want to receive these anymore", "opt_out", None, None),
    ("STOP MARKETING", "opt_out", None, "purpose:marketing"),
    ("Stpo", "opt_out", None, None),
    ("SHOP", "none", None, None),
    ("\uff33\uff34\uff2f\uff30", "opt_out", None, None),
    ("S\u200bTOP", "opt_out", None, None),
    ("\u0405\u0422\u041e\u0420", "opt_out", None, None),
    ("S T O P", "opt_out", None, None),
    ("\U0001f6d1", "ambiguous", None, None),
    ("don't stop", "ambiguous", None, None),
    ("cancel my appointment", "ambiguous", None, None),
    ("nonstop deals!", "none", None, None),
    ("What is your cancellation policy?", "none", None, None),
    ("HELP", "help", None, None),
    ("Can you help me change my order?", "none", None, None),
    ("START", "opt_in", None, None),
    ("Yes", "opt_in", None, None),
    ("HELP STOP", "opt_out", None, None),
    ("ARRET", "opt_out", "fr", None),
    ("AIDE", "help", "fr", None),
    ("ALTO", "opt_out", "es", None),
    ("Quiero darme de baja", "opt_out", "es", None),
    ("PARAR", "opt_out", "pt", None),
    ("NO", "ambiguous", None, None),
    ("wrong number", "opt_out", None, None),
    ("", "none", None, None),
]


@pytest.mark.parametrize(
    ("text", "intent", "language", "scope"),
    PUBLIC_EXAMPLES,
    ids=[e[0] or "empty" for e in PUBLIC_EXAMPLES],
)
def test_public_examples_of_compliance_md(
    text: str, intent: str, language: str | None, scope: str | None
) -> None:
    result = classify(text)
    assert result.intent == intent
    if language is not None:
        assert result.language == language
    if scope is not None:
        assert _scope_text(result.scope) == scope


def test_zero_width_space_inside_stop_still_opts_out_C1() -> None:
    result = classify("S\u200bTOP")
    assert (result.intent, result.keyword, result.normalised) == ("opt_out", "STOP", "stop")


def test_every_classification_records_version_rule_keyword_language_and_provider_C13() -> None:
    result = classify("Arrêt")
    assert result.version == CLASSIFIER_VERSION
    assert result.rule == "C4.pack.fr"
    assert result.keyword == "ARRET"
    assert result.language == "fr"
    assert result.provider_exact == "none"  # Twilio would have missed it


@pytest.mark.parametrize(
    ("text", "provider"),
    [
        ("STOP", "opt_out"),
        (" stop ", "opt_out"),
        ("optout", "opt_out"),
        ("Revoke", "opt_out"),
        ("STOP.", "none"),
        ("STOP ALL", "none"),
        ("opt out", "none"),
        ("unstop", "opt_in"),
        ("yes", "opt_in"),
        ("Info", "help"),
        ("ARRET", "none"),
        ("please stop", "none"),
    ],
)
def test_provider_exact_shows_what_a_single_word_matcher_does_C13(text: str, provider: str) -> None:
    assert classify(text).provider_exact == provider


def test_help_stop_resolves_to_opt_out_by_precedence_C10() -> None:
    result = classify("HELP STOP")
    assert (result.intent, result.rule, result.keyword) == ("opt_out", "C10.precedence", "STOP")


def test_stop_all_records_scope_all_C3_C5() -> None:
    assert classify("STOP ALL").scope == KeywordScope("all")
    assert classify("stop all please").scope == KeywordScope("all")


def test_two_different_scopes_fall_back_to_the_default_reach_C16() -> None:
    assert classify("stop marketing and transactional").scope == KeywordScope("default")


# ----------------------------------------------------------------- configuration

VOLUNTEER = ClassifierConfig(topic_keywords=MappingProxyType({"VOLUNTEER": "volunteer"}))


def test_topic_keyword_opts_in_to_its_topic_C12() -> None:
    result = classify("Volunteer", VOLUNTEER)
    assert (result.intent, result.rule, result.topic) == ("opt_in", "C12.topic", "volunteer")
    assert result.scope == KeywordScope("topic", "volunteer")


def test_stop_topic_opts_out_of_that_topic_only_C5_C16() -> None:
    result = classify("STOP VOLUNTEER", VOLUNTEER)
    assert (result.intent, result.scope) == ("opt_out", KeywordScope("topic", "volunteer"))
    assert result.topic is None


def test_stop_topic_without_the_topic_configured_is_for_review_C8() -> None:
    assert classify("STOP VOLUNTEER").intent == "ambiguous"


def test_start_topic_opts_in_to_the_topic_C12() -> None:
    result = classify("START VOLUNTEER", VOLUNTEER)
    assert (result.intent, result.topic) == ("opt_in", "volunteer")


def test_account_opt_out_keyword_is_honoured_whole_and_keyword_led() -> None:
    config = ClassifierConfig(extra_opt_out=frozenset({"ENOUGH"}))
    assert classify("Enough!", config).rule == "account.opt_out"
    assert classify("enough please", config).intent == "opt_out"
    assert classify("Enough!").intent == "none"


def test_account_help_and_opt_in_keywords() -> None:
    config = ClassifierConfig(extra_help=frozenset({"SUPPORT"}), extra_opt_in=frozenset({"JOIN"}))
    assert (classify("support", config).intent, classify("join", config).intent) == (
        "help",
        "opt_in",
    )
    assert classify("join stop", config).intent == "opt_out"  # C10


def test_yes_is_not_an_opt_in_when_it_is_not_a_confirm_keyword_C12() -> None:
    config = ClassifierConfig(confirm_keywords=frozenset({"Y"}))
    assert classify("yes", config).intent == "none"
    assert (classify("Y", config).intent, classify("Y", config).rule) == ("opt_in", "C12.confirm")


def test_typo_tolerance_can_be_switched_off_C7() -> None:
    assert classify("Stpo").intent == "opt_out"
    assert classify("Stpo", ClassifierConfig(typo_tolerance=False)).intent == "none"


def test_language_packs_can_be_switched_off_but_english_cannot_C4() -> None:
    english_only = ClassifierConfig(languages=frozenset({"en"}))
    assert classify("ALTO", english_only).intent == "none"
    assert classify("darme de baja", english_only).intent == "none"
    assert classify("STOP", english_only).intent == "opt_out"
    assert classify("STOP", ClassifierConfig(languages=frozenset())).intent == "opt_out"


def test_locale_picks_the_language_of_shared_words_C4() -> None:
    assert classify("CANCELAR").language == "es"
    assert classify("CANCELAR", ClassifierConfig(locale="pt-BR")).language == "pt"
    assert classify("STOPP", ClassifierConfig(locale="sv-SE")).language == "sv"
    assert classify("STOPP", ClassifierConfig(locale="sv-SE")).rule == "C4.pack.sv"


def test_purpose_not_configured_is_not_a_scope_C5() -> None:
    config = ClassifierConfig(purposes=frozenset({"transactional"}))
    assert classify("STOP MARKETING", config).intent == "ambiguous"
    assert classify("STOP TRANSACTIONAL", config).scope == KeywordScope("purpose", "transactional")


# ----------------------------------------------------------------- pack data


def _pack(name: str) -> dict[str, object]:
    text = (resources.files("consentline.domain.classifier") / "data" / f"{name}.json").read_text(
        "utf-8"
    )
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ["en", "fr", "es", "pt", "no_sv", "nl"])
def test_every_pack_keyword_carries_its_source_and_confidence_C4(name: str) -> None:
    pack = _pack(name)
    for entry in pack["keywords"]:  # type: ignore[attr-defined]
        assert entry["source"], entry
        assert entry["confidence"] in {"high", "medium", "low"}, entry
        assert entry["intent"] in {"opt_out", "opt_in", "help"}, entry
        assert isinstance(entry["whole_message_only"], bool), entry


def test_every_case_table_match_of_a_grammar_rule_contains_an_anchor_word_C6() -> None:
    # A rule is tried only on messages holding one of its anchor words; a case-table
    # text that a rule matches without one would be a revocation the classifier never
    # sees. Matches start at a word, as the classifier tries them ('lead' and 'soft'
    # rules at the start of a clause, 'anywhere' rules at any word).
    patterns = {p.order: p for ps in load_packs().patterns.values() for p in ps}.values()
    for param in _load_cases():
        case: Case = param.values[0]  # type: ignore[attr-defined]
        text = " ".join(re.findall(r"[^\W_]+", classify(case.text).normalised.replace("'", "")))
        clause = text + " "
        starts = [0] + [m.end() for m in re.finditer(" ", text)]
        for pattern in patterns:
            for start in starts:
                match = pattern.regex.match(clause, start)
                if match is not None and match["phrase"]:
                    assert set(text.split()) & pattern.words, (case.text, pattern.rule)
