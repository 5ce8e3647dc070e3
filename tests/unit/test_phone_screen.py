"""The cheap screen for impossible phone numbers (issue 8, defect 10).

It must never change an answer: every number phonenumbers calls valid is still
valid, with the same E.164 form, and every invalid one is still invalid. And it must
be cheap: a number that cannot be valid never reaches ``phonenumbers.parse``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentline.domain import addresses
from consentline.domain.addresses import normalise_phone, phone_or_none
from consentline.domain.errors import InvalidAddress

TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
]
REGIONS = ["US", "GB", "FR", "DE", "IT", "AR", "MX", "IN", "BR", "NL"]


def reference(text: str, region: str | None) -> str | None:
    """What phonenumbers alone answers (the behaviour before the screen)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def uncached(text: str, region: str | None) -> str | None:
    try:
        return str(addresses._parse_phone.__wrapped__(text, region))
    except addresses._Invalid:
        return None


def examples() -> Iterator[tuple[str, str | None]]:
    """Every region's example numbers in three formats, and near misses of each: a
    digit changed, one dropped or added, a national prefix after the calling code."""
    rng = random.Random(8)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            spaced = phonenumbers.format_number(
                example, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            yield e164, None
            yield spaced, region
            yield national, region
            code = str(example.country_code)
            rest = e164[1 + len(code) :]
            yield f"+{code}0{rest}", None
            yield f"+{code}1{rest}", None
            yield e164[:-1], None
            yield e164 + str(rng.randrange(10)), None
            for _ in range(3):
                digits = list(e164[1:])
                digits[rng.randrange(len(digits))] = str(rng.randrange(10))
                yield "+" + "".join(digits), None
                yield "+" + "".join(digits), region


def test_the_screen_changes_no_answer_on_every_regions_numbers() -> None:
    checked = valid = 0
    for text, region in examples():
        expected = reference(text, region)
        assert uncached(text, region) == expected, (text, region)
        checked += 1
        valid += expected is not None
    assert checked > 10_000 and valid > 2_000  # the sample means something


@given(
    st.integers(1, 999),
    st.text(alphabet="0123456789", min_size=4, max_size=14),
    st.sampled_from([None, *REGIONS]),
)
def test_the_screen_changes_no_answer_on_arbitrary_international_numbers(
    code: int, rest: str, region: str | None
) -> None:
    text = f"+{code}{rest}"
    assert uncached(text, region) == reference(text, region)


@given(st.text(max_size=30), st.sampled_from(REGIONS))
def test_the_screen_changes_no_answer_on_arbitrary_text(text: str, region: str) -> None:
    assert uncached(text, region) == reference(text, region)


def test_the_errors_say_what_they_said_before() -> None:
    with pytest.raises(InvalidAddress, match=r"is not a valid phone number$"):
        normalise_phone("+10123456789")
    with pytest.raises(InvalidAddress, match=r"is not a phone number \(.+\)$"):
        normalise_phone("junk")
    with pytest.raises(InvalidAddress) as raised:
        normalise_phone("+999123456789")
    assert "+999123456789" not in str(raised.value)  # masked (C23)
    assert phone_or_none("+10123456789") is None
    assert phone_or_none(None) is None
    assert phone_or_none("  ") is None
    assert phone_or_none("(415) 555-0101", "US") == "+14155550101"
    assert phone_or_none("33612345678") == "+33612345678"  # provider style, no "+"


@pytest.mark.parametrize(
    "text",
    [
        "+10123456789",  # NANP area code starting with 0
        "+12121234567",  # a real area code, an exchange starting with 1
        "+999123456789",  # no such calling code
        "+19991234567",  # no area code 999
        "n/a",
        "",
        "+",
        "(((---)))",
        "9" * 300,
    ],
)
def test_a_number_that_cannot_be_valid_never_reaches_phonenumbers_parse(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("phonenumbers.parse was called")

    monkeypatch.setattr(addresses.phonenumbers, "parse", parse)
    assert phone_or_none(text, "US") is None
    assert phone_or_none(text) is None
