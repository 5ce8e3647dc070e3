"""The revocation grammars (C6, C8): the form compiler, and every rule's examples.

Each rule of ``data/grammar_<lang>.json`` lists examples that must classify by that
rule and counter-examples that must not; the compiler's own behaviour (syntax,
anchor words, errors) is tested on small grammars written here.
"""

from __future__ import annotations

import re

import pytest

from consentline.domain.classifier import ClassifierConfig, KeywordScope, classify
from consentline.domain.classifier.grammar import (
    GrammarError,
    anchor_words,
    classes_of,
    compile_rule,
    parse,
    required_words,
)
from consentline.domain.classifier.packs import load_packs, read_grammar
from consentline.domain.classifier.pipeline import _clauses

GRAMMARS = ("grammar_en", "grammar_es", "grammar_fr", "grammar_pt")
ALL_ON = ClassifierConfig()


def _rules() -> list[object]:
    params: list[object] = []
    for name in GRAMMARS:
        data = read_grammar(name)
        for spec in data["rules"]:
            params.append(pytest.param(data, spec, id=f"{data['language']}-{spec['id']}"))
    return params


def _rule_id(data: dict[str, object], spec: dict[str, object]) -> str:
    stage = "C6" if spec["at"] in ("lead", "anywhere") else "C8"
    return f"{stage}.{data['language']}.{spec['id']}"


@pytest.mark.parametrize(("data", "spec"), _rules())
def test_every_rule_example_classifies_by_that_rule(
    data: dict[str, object], spec: dict[str, object]
) -> None:
    examples = spec["examples"]
    assert isinstance(examples, list) and examples, spec["id"]
    rule = _rule_id(data, spec)
    expected = "opt_out" if spec["at"] in ("lead", "anywhere") else "ambiguous"
    for example in examples:
        result = classify(example, ALL_ON)
        # An earlier stage (keyword-led, another rule) may decide first; what must
        # hold is that this rule alone matches the example's normalised text.
        pattern = next(p for p in _patterns() if p.rule == rule)
        if pattern.kind == "soft":  # matched from the message's first word
            found = pattern.regex.match(" ".join(_clauses(result.normalised)) + " ")
        else:
            found = pattern.regex.search(_lines(result.normalised))
        assert found is not None, (rule, example)
        assert result.intent == expected or (
            spec.get("statement") and result.intent == "ambiguous"
        ), (rule, example, result)


@pytest.mark.parametrize(("data", "spec"), _rules())
def test_no_counter_example_matches_its_rule(
    data: dict[str, object], spec: dict[str, object]
) -> None:
    rule = _rule_id(data, spec)
    for counter in spec.get("counter", []):  # type: ignore[attr-defined]
        result = classify(counter, ALL_ON)
        assert result.rule != rule, (rule, counter)
        assert result.intent != "opt_out", (rule, counter, result)


def _lines(normalised: str) -> str:
    """What the grammar stage searches: each clause and a space, one per line."""
    return " \n".join(_clauses(normalised)) + " "


def _patterns() -> list[object]:
    packs = load_packs()
    return list({p.order: p for ps in packs.patterns.values() for p in ps}.values())


def test_rule_ids_are_unique_and_name_their_language() -> None:
    seen: set[str] = set()
    for name in GRAMMARS:
        data = read_grammar(name)
        assert name == f"grammar_{data['language']}"
        for spec in data["rules"]:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", spec["id"]), spec["id"]
            rule = _rule_id(data, spec)
            assert rule not in seen, rule
            seen.add(rule)


def test_every_match_of_any_rule_contains_one_of_its_anchor_words() -> None:
    # The anchor words are how the classifier skips rules; a rule matching a text
    # without one would be a rule the classifier never tries on it.
    texts = [
        str(e) for name in GRAMMARS for s in read_grammar(name)["rules"] for e in s["examples"]
    ]
    # Each text normalised once (classify is the costly part), in both of its forms.
    forms = []
    for text in texts:
        normalised = classify(text).normalised
        forms.append((text, " ".join(_clauses(normalised)) + " ", _lines(normalised)))
    for pattern in _patterns():
        for text, clauses, whole in forms:
            if pattern.kind == "soft":
                lines = clauses
                match = pattern.regex.match(lines)
            else:
                lines = whole
                match = pattern.regex.search(lines)
            if match is not None and match["phrase"]:
                present = set(lines.split())
                assert present & pattern.words, (pattern.rule, text)
                for words in pattern.required:
                    assert present & words, (pattern.rule, text, sorted(words))


# ----------------------------------------------------------------- the compiler

CLASSES = classes_of(
    {
        "PREFIX": ["please", "can you"],
        "V": ["stop", "quit"],
        "G": ["texting", "sending"],
        "ME": ["me", "my number", "this number"],
        "N": ["texts", "text messages"],
        "NEST": ["V? N"],
    }
)


def _compile(form: str, at: str = "lead") -> re.Pattern[str]:
    spec = {"id": "t", "at": at, "form": form}
    return compile_rule(spec, CLASSES, "PREFIX", ("me", "my", "this")).regex


def test_a_lead_rule_opens_the_clause_after_prefix_words() -> None:
    regex = _compile("V G ME")
    assert regex.match("please can you stop texting me ")
    assert regex.match("stop sending my number ")
    assert not regex.match("i stop texting me ")


def test_an_anywhere_rule_starts_at_a_word_boundary_only() -> None:
    regex = _compile("V G", at="anywhere")
    assert regex.search("well stop texting ")
    assert not regex.search("nonstop texting ")


def test_optional_repeated_groups_and_end() -> None:
    regex = _compile("V (G | with the)? N+ $")
    assert regex.match("stop texts ")
    assert regex.match("stop with the texts texts ")
    assert not regex.match("stop texts now ")
    regex = _compile("V _{0,2} N")
    assert regex.match("stop all your texts ")
    assert not regex.match("stop one two three texts ")


def test_classes_nest_and_multi_word_entries_match_whole_words() -> None:
    regex = _compile("NEST")
    assert regex.match("quit text messages ")
    assert not regex.match("quit text ")


def test_anchor_words_are_the_rarest_mandatory_part() -> None:
    frequent = ("me", "my", "this", "stop")
    # ME's words are everyday words; G's are not: G anchors the rule.
    assert anchor_words(parse("V G ME"), CLASSES, frequent) == {"texting", "sending"}
    # Within ME, "my number" is anchored on "number", not on "my".
    assert anchor_words(parse("ME"), CLASSES, frequent) == {"me", "number"}
    # Alternatives: the union of each option's best words.
    assert anchor_words(parse("(V G | ME N)"), CLASSES, frequent) == {
        "texting",
        "sending",
        "texts",
        "text",
    }
    # Optional parts never anchor.
    assert anchor_words(parse("G? N"), CLASSES, ()) == {"texts", "text"}


@pytest.mark.parametrize(
    "form",
    ["V (G", "V G)", "V G !", "V [G]", "Stop G", "(V | G)?", "_ $", "(V | | G)", "(V |)"],
    ids=str,
)
def test_bad_forms_are_grammar_errors(form: str) -> None:
    with pytest.raises(GrammarError):
        _compile(form)


def test_unknown_and_self_referring_classes_are_grammar_errors() -> None:
    with pytest.raises(GrammarError, match="unknown class"):
        _compile("V NOPE")
    loop = classes_of({"PREFIX": ["please"], "A": ["B x"], "B": ["A y"]})
    with pytest.raises(GrammarError, match="refers to itself"):
        compile_rule({"id": "t", "at": "lead", "form": "A"}, loop, "PREFIX", ())
    with pytest.raises(GrammarError, match="'at'"):
        compile_rule({"id": "t", "at": "nowhere", "form": "V"}, CLASSES, "PREFIX", ())


def test_required_words_name_every_mandatory_part_rarest_first() -> None:
    frequent = ("me", "my", "this")
    assert required_words(parse("V? G ME"), CLASSES, frequent) == (
        frozenset({"texting", "sending"}),
        frozenset({"me", "number"}),
    )


def test_not_followed_by_excludes_without_consuming() -> None:
    regex = _compile("V G !(ME)", at="anywhere")
    assert regex.search("stop texting ")
    assert regex.search("stop texting now ")
    assert not regex.search("stop texting me ")


FILE_KEYS = {"language", "description", "prefix", "frequent", "classes", "questions",
             "negators", "scope_words", "general_nouns", "rules"}  # fmt: skip
RULE_KEYS = {"id", "at", "form", "statement", "examples", "counter"}


@pytest.mark.parametrize("name", GRAMMARS)
def test_grammar_files_hold_only_keys_the_compiler_reads(name: str) -> None:
    # A key the compiler ignores would be a setting that silently does nothing.
    data = read_grammar(name)
    assert set(data) <= FILE_KEYS, set(data) - FILE_KEYS
    assert {"language", "prefix", "classes", "negators", "rules"} <= set(data)
    for spec in data["rules"]:
        assert set(spec) <= RULE_KEYS, (spec["id"], set(spec) - RULE_KEYS)
        assert {"id", "at", "form", "examples"} <= set(spec), spec["id"]


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("no more promos thanks", KeywordScope("purpose", "marketing")),
        ("I dont want your marketing messages", KeywordScope("purpose", "marketing")),
        ("I dont want your texts or promos", KeywordScope("default")),  # a general noun
        ("I dont want your texts", KeywordScope("default")),
    ],
)
def test_a_grammar_revocation_naming_one_purpose_is_scoped_to_it_C16(
    text: str, scope: KeywordScope
) -> None:
    result = classify(text)
    assert result.rule.startswith("C6.en.")
    assert result.scope == scope


def test_a_purpose_the_account_lacks_leaves_the_default_reach_C16() -> None:
    config = ClassifierConfig(purposes=frozenset({"transactional"}))
    assert classify("no more promos thanks", config).scope == KeywordScope("default")
