"""Provider hints normalised (providers.hints): each provider's spelling of its verdict."""

from __future__ import annotations

import pytest

from consentline.providers.hints import normalise_hint, provider_verdict


@pytest.mark.parametrize(
    ("raw", "verdict"),
    [
        ("STOP", "opt_out"),  # Twilio OptOutType
        (" Opt Out ", "opt_out"),
        ("STOPALL", "opt_out"),
        ("unsubscribe", "opt_out"),
        ("START", "opt_in"),
        ("UNSTOP", "opt_in"),
        ("opt-in", "opt_in"),
        ("HELP", "help"),
        ("info", "help"),
        ("hello", None),
        ("", None),
        (None, None),
    ],
)
def test_hints_normalise_to_a_verdict(raw: str | None, verdict: str | None) -> None:
    assert normalise_hint(raw) == verdict


@pytest.mark.parametrize(
    ("provider", "raw", "verdict"),
    [
        ("twilio", "STOP", "opt_out"),
        ("telnyx", "start", "opt_in"),
        ("api", "help", "help"),
        ("vonage", "STOP", None),  # Vonage's keyword is the first word, not a verdict
    ],
)
def test_a_first_word_hint_is_no_verdict(provider: str, raw: str, verdict: str | None) -> None:
    assert provider_verdict(provider, raw) == verdict
