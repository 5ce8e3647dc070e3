"""False opt-outs on real person-to-person texts (SMS Spam Collection, CC BY 4.0).

C5/C6/C8/C9: ordinary sentences that contain "stop", "end", "quit" or "cancel"
("Yup next stop.", "Stop the story.") must not opt anybody out.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from consentline.domain.classifier import classify

CORPUS = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "sms-spam-collection"
    / "SMSSpamCollection.tsv"
)

# Ham messages that really are requests to stop messaging; classifying them as
# opt_out is correct (C6), so they do not count as false opt-outs.
GENUINE_REQUESTS_TO_STOP = {
    # Says exactly what the FCC rule covers: the sender is asked not to text again.
    "Please don't text me anymore. I have nothing else to say.",
    # "Please do not contact me again or I will report you": an explicit revocation.
    "Any chance you might have had with me evaporated as soon as you violated my privacy by "
    "stealing my phone number from your employer's paperwork. Not cool at all. Please do not "
    "contact me again or I will report you to your supervisor.",
    # A wrong-number reply: the recipient never consented (C6 "wrong number").
    "I think u have the wrong number.",
}

MAX_FALSE_OPT_OUTS = 2


def _ham() -> list[str]:
    if not CORPUS.exists():
        if os.environ.get("CI"):  # CI has shared/ beside the clone: a missing corpus is a failure
            pytest.fail(f"SMS Spam Collection not found at {CORPUS}")
        pytest.skip(f"SMS Spam Collection not found at {CORPUS}")
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [text for label, _, text in (line.partition("\t") for line in lines) if label == "ham"]


def test_the_corpus_has_the_expected_4827_ham_messages() -> None:
    assert len(_ham()) == 4827


def test_at_most_two_ham_messages_are_false_opt_outs_C5_C6_C8_C9() -> None:
    flagged = [text for text in _ham() if classify(text).intent == "opt_out"]
    false_opt_outs = [text for text in flagged if text not in GENUINE_REQUESTS_TO_STOP]
    assert len(false_opt_outs) <= MAX_FALSE_OPT_OUTS, false_opt_outs


def test_every_allow_listed_message_is_in_the_corpus_and_opts_out_C6() -> None:
    # Keeps the allow-list honest: an entry that no longer exists or no longer
    # opts out should be removed rather than silently excusing something else.
    ham = set(_ham())
    for text in GENUINE_REQUESTS_TO_STOP:
        assert text in ham
        assert classify(text).intent == "opt_out"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # "next stop" is a place (C9.everyday_sense, tests/unit/test_classify_keywords.py).
        ("Yup next stop.", "none"),
        (
            "Stop the story. I've told him i've returned it and he's saying i should not re"
            " order it.",
            "ambiguous",
        ),
    ],
)
def test_ordinary_sentences_with_stop_are_not_opt_outs_C8_C9(text: str, intent: str) -> None:
    assert text in set(_ham())
    assert classify(text).intent == intent
