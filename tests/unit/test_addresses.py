"""Address and line normalisation (BRIEF.md "Address")."""

from __future__ import annotations

import pytest

from consentline.domain.addresses import (
    normalise_address,
    normalise_line_id,
    time_zones,
)
from consentline.domain.errors import InvalidAddress, InvalidChannel, InvalidInput, mask


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (415) 555-0101", None, "+14155550101"),
        ("(415) 555-0101", "US", "+14155550101"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("33612345678", None, "+33612345678"),  # provider style, no "+"
        (" +14155550101 ", None, "+14155550101"),
    ],
)
def test_phone_numbers_become_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalise_address(raw, "sms", region) == expected


@pytest.mark.parametrize("raw", ["", "hello", "+1555", "+15555550100", "4155550101", "+4477009"])
def test_invalid_numbers_are_invalid_address(raw: str) -> None:
    with pytest.raises(InvalidAddress) as info:
        normalise_address(raw, "sms")
    assert len(raw) < 8 or raw not in str(info.value)  # the number is masked (C23)


def test_email_channel_validates_email_addresses() -> None:
    assert normalise_address(" Ann@Example.COM ", "email") == "ann@example.com"
    for bad in ("ann", "ann@", "@example.com", "a b@example.com", "ann@example"):
        with pytest.raises(InvalidAddress):
            normalise_address(bad, "email")


def test_unknown_channel_is_refused() -> None:
    with pytest.raises(InvalidChannel):
        normalise_address("+14155550101", "pigeon")


def test_line_ids_cover_numbers_short_codes_and_sender_ids() -> None:
    assert normalise_line_id("+1 800 555 0100") == "+18005550100"
    assert normalise_line_id("55555") == "55555"
    assert normalise_line_id("ACME") == "ACME"
    assert normalise_line_id("MG0123456789abcdef") == "MG0123456789abcdef"
    with pytest.raises(InvalidInput):
        normalise_line_id("no good!")
    with pytest.raises(InvalidAddress):
        normalise_line_id("+1 555 555 0100 1")


def test_time_zones_come_from_the_number() -> None:
    assert time_zones("+14155550101") == ("America/Los_Angeles",)
    assert len(time_zones("+61412345678")) > 1  # an Australian mobile: several zones


def test_masking_never_shows_the_whole_number() -> None:
    assert mask("+14155550101") == "+1415***0101"
    assert "ann" not in mask("ann@example.com")
