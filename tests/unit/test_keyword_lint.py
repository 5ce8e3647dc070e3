"""Account keyword lint: collisions and accident-prone words are rejected."""

from __future__ import annotations

import pytest

from consentline.domain.classifier import lint_keyword
from consentline.domain.errors import InvalidKeyword


def test_a_distinctive_topic_keyword_passes_without_warnings() -> None:
    assert lint_keyword("VOLUNTEER", "topic") == []


@pytest.mark.parametrize(
    ("keyword", "kind"),
    [
        pytest.param("STOP", "opt_in", id="C2-stop-as-opt-in"),
        pytest.param("stop", "topic", id="C2-stop-as-topic"),
        pytest.param("UNSUBSCRIBE", "help", id="C2-unsubscribe-as-help"),
        pytest.param("ARRÊT", "opt_in", id="C4-arret-as-opt-in"),
        pytest.param("START", "opt_out", id="C12-start-as-opt-out"),
        pytest.param("HELP", "opt_out", id="C11-help-as-opt-out"),
        pytest.param("AYUDA", "topic", id="C4-ayuda-as-topic"),
    ],
)
def test_built_in_keyword_of_another_intent_is_rejected(keyword: str, kind: str) -> None:
    with pytest.raises(InvalidKeyword) as raised:
        lint_keyword(keyword, kind)  # type: ignore[arg-type]
    assert raised.value.data["keyword"] == keyword
    assert "built-in" in str(raised.value)


@pytest.mark.parametrize(
    "keyword", ["YES", "yes", "OK", "NO", "THANKS", "HI", "HELLO", "SURE", "Y", "N"]
)
def test_everyday_words_are_rejected_as_account_keywords(keyword: str) -> None:
    with pytest.raises(InvalidKeyword, match="everyday word"):
        lint_keyword(keyword, "opt_in")


@pytest.mark.parametrize("keyword", ["", " ", "ST-OP", "STOP!", "TWO WORDS", "🛑", "a_b"])
def test_keywords_must_be_letters_and_digits(keyword: str) -> None:
    with pytest.raises(InvalidKeyword, match="letters and digits"):
        lint_keyword(keyword, "opt_out")


def test_short_keyword_is_a_warning_not_an_error() -> None:
    warnings = lint_keyword("GO", "opt_in")
    assert len(warnings) == 1
    assert "shorter than 4" in warnings[0]


def test_same_intent_as_a_built_in_keyword_is_a_warning() -> None:
    assert any("already a built-in" in w for w in lint_keyword("QUIT", "opt_out"))


def test_keyword_one_typo_from_stop_warns_C7() -> None:
    assert any("one typo away" in w for w in lint_keyword("STPO", "topic"))


def test_digits_only_keyword_warns() -> None:
    assert any("only digits" in w for w in lint_keyword("2024", "topic"))
