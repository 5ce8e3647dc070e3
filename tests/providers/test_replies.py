"""What each provider is answered."""

from __future__ import annotations

import pytest

from consentline.providers import REGISTRY, InboundSms, ProviderReply

STOP = InboundSms("id-1", "14155550101", "18005550100", "STOP", None)
HEAD = b'<?xml version="1.0" encoding="UTF-8"?>'

REPLIES: list[tuple[str, str | None, ProviderReply]] = [
    (
        "twilio",
        "You're out <&> won't get more\x07",
        ProviderReply(
            200,
            "text/xml; charset=utf-8",
            HEAD + b"<Response><Message>You're out &lt;&amp;&gt; won't get more</Message>"
            b"</Response>",
        ),
    ),
    ("twilio", None, ProviderReply(200, "text/xml; charset=utf-8", HEAD + b"<Response/>")),
    (
        "plivo",
        "Bye & thanks",
        ProviderReply(
            200,
            "application/xml",
            b'<Response><Message src="18005550100" dst="14155550101" type="sms">'
            b"Bye &amp; thanks</Message></Response>",
        ),
    ),
    ("plivo", None, ProviderReply(200, "application/xml", b"<Response></Response>")),
    *[
        (name, text, ProviderReply(200, None, b""))
        for name in ("sinch", "messagemedia", "vonage", "telnyx", "bandwidth")
        for text in ("Bye", None)
    ],
]


@pytest.mark.parametrize(("provider", "text", "expected"), REPLIES)
def test_reply_format(provider: str, text: str | None, expected: ProviderReply) -> None:
    assert REGISTRY[provider].reply(text, inbound=STOP) == expected


def test_a_plivo_reply_with_text_needs_the_inbound_message() -> None:
    with pytest.raises(ValueError, match="inbound"):
        REGISTRY["plivo"].reply("Bye")


def test_the_registry_names_match_the_providers() -> None:
    assert sorted(REGISTRY) == [
        "bandwidth",
        "messagemedia",
        "plivo",
        "sinch",
        "telnyx",
        "twilio",
        "vonage",
    ]
    for name, provider in REGISTRY.items():
        assert provider.name == name
        assert provider.credential_fields
