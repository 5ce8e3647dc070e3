"""C1: normalisation before matching."""

from __future__ import annotations

import pytest

from consentline.domain.classifier.normalise import normalise

CASES = [
    pytest.param("STOP", "stop", id="C1-casefold"),
    pytest.param("  Stop.  ", "stop", id="C1-strip-punctuation-and-space"),
    pytest.param("STOP!!", "stop", id="C1-strip-repeated-punctuation"),
    pytest.param("\U0001f6d1 STOP \U0001f6d1", "stop", id="C1-strip-emoji-at-ends"),
    pytest.param("\uff33\uff34\uff2f\uff30", "stop", id="C1-nfkc-full-width"),
    pytest.param("\U0001d412\U0001d413\U0001d40e\U0001d40f", "stop", id="C1-nfkc-math-bold"),
    pytest.param("S\u200bTOP", "stop", id="C1-zero-width-space"),
    pytest.param("ST\u200dOP", "stop", id="C1-zero-width-joiner"),
    pytest.param("\ufeffSTOP", "stop", id="C1-bom"),
    pytest.param("\u202eSTOP\u202c", "stop", id="C1-bidi-override"),
    pytest.param("\u0405\u0422\u041e\u0420", "stop", id="C1-cyrillic-confusables"),
    pytest.param("st\u03bfp", "stop", id="C1-greek-omicron"),
    pytest.param("\u054fTOP", "stop", id="C1-armenian-tiwn-from-uts39-table"),
    pytest.param("ARR\u00caT", "arret", id="C1-diacritics-precomposed"),
    pytest.param("ARRE\u0302T", "arret", id="C1-diacritics-combining"),
    pytest.param("no m\u00e1s", "no mas", id="C1-spanish-accent"),
    pytest.param("don\u2019t stop", "don't stop", id="C1-typographic-apostrophe"),
    pytest.param("stop   \n\t please", "stop please", id="C1-collapse-whitespace"),
    pytest.param("STOP\u00a0please", "stop please", id="C1-no-break-space"),
    pytest.param("S T O P", "stop", id="C1-spelled-spaces"),
    pytest.param("s.t.o.p", "stop", id="C1-spelled-dots"),
    pytest.param("S. T. O. P.", "stop", id="C1-spelled-dots-and-spaces"),
    pytest.param("S-T-O-P", "stop", id="C1-spelled-hyphens"),
    pytest.param("S T O P please", "stop please", id="C1-spelled-then-word"),
    pytest.param("STOOOOP", "stop", id="C1-collapse-run-to-one-letter"),
    pytest.param("stopppp", "stop", id="C1-collapse-final-run"),
    pytest.param("stoop", "stoop", id="C1-double-letters-untouched"),
    pytest.param("STOPP", "stopp", id="C1-norwegian-double-p-untouched"),
    pytest.param("call 1000", "call 1000", id="C1-digit-runs-untouched"),
    pytest.param("u r ok", "u r ok", id="C1-two-single-letters-not-joined"),
    pytest.param("", "", id="C1-empty"),
    pytest.param("\U0001f6d1", "", id="C1-emoji-only-is-empty"),
    pytest.param("Stop, then go.", "stop, then go", id="C1-inner-punctuation-kept"),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalise_gives_the_matching_form(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalise_is_idempotent(raw: str, expected: str) -> None:
    assert normalise(normalise(raw)) == normalise(raw)


def test_ascii_and_unicode_paths_agree_on_the_same_text() -> None:
    # The ASCII fast path must not change the result: a no-break space forces the
    # Unicode path for otherwise identical text.
    for text in ["Stop please!", "S.T.O.P", "STOOOOP now", "don't text me", "  END  "]:
        assert normalise(text + "\u00a0") == normalise(text)


def test_zero_width_space_inside_stop_is_removed_but_raw_text_is_untouched() -> None:
    raw = "S\u200bTOP"
    assert normalise(raw) == "stop"
    assert raw == "S\u200bTOP"  # evidence is never rewritten (C1)
