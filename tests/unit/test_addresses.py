"""Address and line normalisation (docs/model.md, "Addresses and channels")."""

from __future__ import annotations

import pytest

from consentline.domain.addresses import (
    is_region,
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
    assert normalise_line_id(" ACME Shop 2 ") == "ACME Shop 2"  # 11 characters
    pool = "MG" + "0123456789abcdef" * 2  # a Twilio Messaging Service SID
    assert normalise_line_id(pool) == pool
    profile = "40017f8e-49bd-4f16-9e3d-ef103f916228"  # a Telnyx messaging profile
    assert normalise_line_id(profile) == profile
    with pytest.raises(InvalidInput):
        normalise_line_id("no good!")
    with pytest.raises(InvalidAddress):
        normalise_line_id("+1 555 555 0100 1")


@pytest.mark.parametrize(
    "bad",
    [
        "hello world this is long",  # carriers cut or refuse a sender id over 11
        "ACME.Shop",  # only letters, digits and spaces
        "ACME_Shop",
        "MG0123456789abcdef",  # too short for a Messaging Service SID, too long a sender id
        "",
    ],
)
def test_a_line_id_that_no_carrier_takes_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_line_id(bad)


def test_regions_are_the_ones_phone_numbers_are_parsed_for() -> None:
    assert is_region("US") and is_region("GB")
    assert not is_region("ZZ") and not is_region("us") and not is_region("USA")


def test_time_zones_come_from_the_number() -> None:
    assert time_zones("+14155550101") == ("America/Los_Angeles",)
    assert len(time_zones("+61412345678")) > 1  # an Australian mobile: several zones


def test_masking_never_shows_the_whole_number() -> None:
    assert mask("+14155550101") == "+1415***0101"
    assert "ann" not in mask("ann@example.com")
