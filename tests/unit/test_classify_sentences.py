"""Stage 3b (C2, C5): a sentence that is a keyword request; and the wider C7 slips."""

from __future__ import annotations

import pytest

from consentline.domain.classifier import ClassifierConfig, classify
from consentline.domain.classifier.typos import one_slip


@pytest.mark.parametrize(
    "text",
    [
        "we closed our account months ago, why are you still texting? stop.",
        "STOP (this is Ron from apt 4B)",
        "I'm at the bus stop. STOP",
        "Who is this?? Unsubscribe.",
        "Not sure how I got on this.\nSTOP\nThanks",
        "Thanks for the reminder - STOP - I moved away",
        "not interested, stop",
        "who is this, unsubscribe",
    ],
)
def test_a_sentence_that_is_a_keyword_request_opts_out_C5(text: str) -> None:
    result = classify(text)
    assert (result.intent, result.rule) == ("opt_out", "C5.keyword_sentence"), result


def test_the_sentence_keeps_its_scope_C16() -> None:
    result = classify("Great deals as always. Stop all.")
    assert result.scope.kind == "all"


@pytest.mark.parametrize(
    "text",
    [
        "Boooo you always work. Just quit.",  # QUIT has an everyday sense
        "Can't make it tomorrow. Cancel.",  # so has CANCEL (an appointment)
        "The end. See you",  # and END
        "stop, attends, je regarde",  # a comma does not end a sentence (French "wait")
        "stop, that's hilarious",  # ...except before the last words
        "Stop the story. I've told him",  # the sentence is not a request
    ],
)
def test_everyday_words_and_commas_do_not_make_a_keyword_sentence_C8(text: str) -> None:
    result = classify(text)
    assert result.intent != "opt_out", result
    assert result.rule != "C5.keyword_sentence"


def test_the_sentence_stage_follows_the_account_scope_words_C5() -> None:
    config = ClassifierConfig(purposes=frozenset({"transactional"}))
    result = classify("Hello. Stop marketing. Thanks", config)
    assert result.intent == "opt_out"


@pytest.mark.parametrize(
    ("word", "keyword"),
    [
        ("sopt", "stop"),  # a letter moved two places
        ("tosp", "stop"),
        ("unsubcribe", "unsubscribe"),  # a letter missing in a long keyword
        ("unsubscribbe", "unsubscribe"),  # a letter doubled
        ("stoppall", "stopall"),
    ],
)
def test_wider_slips_are_typos_C7(word: str, keyword: str) -> None:
    assert one_slip(word, keyword)
    assert classify(word).rule == "C7.typo"


@pytest.mark.parametrize(
    ("word", "keyword"),
    [
        ("sto", "stop"),  # a letter missing in a short keyword is not enough
        ("stopp", "stop"),  # nor a doubled one (STOPP is its own keyword)
        ("post", "stop"),  # a letter moved three places
        ("unsubscr", "unsubscribe"),
        ("stop", "stop"),  # the keyword itself is not a slip of itself
    ],
)
def test_what_is_not_a_slip_C7(word: str, keyword: str) -> None:
    assert not one_slip(word, keyword)


@pytest.mark.parametrize("text", ["SALIR MARKETING", "ALTO 3390", "Salir 55", "UIT aub"])
def test_a_message_led_by_a_whole_message_only_word_goes_to_review_C4_C8(text: str) -> None:
    result = classify(text)
    assert (result.intent, result.rule) == ("ambiguous", "C8.ordinary_word_led"), result


@pytest.mark.parametrize("text", ["pare the apples", "alto volume please", "Salir a las 8?"])
def test_a_whole_message_only_word_in_an_ordinary_sentence_is_nothing_C4(text: str) -> None:
    assert classify(text).intent == "none"


def test_a_whole_message_only_word_alone_is_still_an_opt_out_C4() -> None:
    assert classify("SALIR").intent == "opt_out"
    assert classify("ALTO").intent == "opt_out"


@pytest.mark.parametrize("text", ["BAJA 7720", "Baja - Lucía Gómez"])
def test_baja_leading_a_reference_or_a_name_opts_out_C4_C5(text: str) -> None:
    assert classify(text).rule == "C5.keyword_trailer"


@pytest.mark.parametrize("text", ["baja la temperatura", "Baja el volumen"])
def test_baja_inside_a_sentence_is_nothing_C4_C9(text: str) -> None:
    assert classify(text).intent == "none"


def test_a_stretched_keyword_is_found_even_when_the_grammar_knows_the_short_form_C1() -> None:
    # "arete" is a misspelling the French grammar reads ("arête de m'envoyer..."),
    # but a stretched "arrrrrete" is still the keyword ARRETE.
    assert classify("arrrrrete").keyword == "ARRETE"
    assert classify("STOPPPP").keyword == "STOP"


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("STOP MARKETING", "purpose"),
        ("STOP MARKETING TEXTS", "purpose"),  # the purpose word qualifies the noun
        ("stop sending me promos", "purpose"),
        ("stop these promos", "purpose"),
        ("stop sending me texts and promos", "default"),  # texts on their own: everything
        ("stop texts", "default"),
        ("stop all texts", "all"),
    ],
)
def test_a_keyword_led_scope_is_never_narrower_than_the_words_C5_C16(text: str, scope: str) -> None:
    result = classify(text)
    assert (result.intent, result.scope.kind) == ("opt_out", scope), result
