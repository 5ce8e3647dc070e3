"""The E.164 fast path of the address normaliser decides exactly as phonenumbers does
(issue 11: imports normalise millions of numbers; the fast path must be no laxer and
no stricter than ``phonenumbers.parse`` + ``is_valid_number``)."""

from __future__ import annotations

import random

import phonenumbers

from consentline.domain import addresses


def _phonenumbers_says(text: str) -> bool:
    try:
        return addresses._parse_phone.__wrapped__(text, None) == text  # type: ignore[attr-defined]
    except addresses._Invalid:
        return False


def _candidates() -> list[str]:
    rng = random.Random(11)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(11):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                text = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                found += [text, text[:-1], text + "5", text[:-1] + str((int(text[-1]) + 1) % 10)]
    for _ in range(20_000):
        code = str(rng.choice(codes))
        size = rng.randint(max(7 - len(code), 1), 15 - len(code))
        found.append("+" + code + "".join(rng.choice("0123456789") for _ in range(size)))
    return [t for t in found if addresses.is_e164_shaped(t)]


def test_the_fast_path_agrees_with_phonenumbers_wherever_it_answers() -> None:
    answered = 0
    for text in _candidates():
        fast = addresses._e164_valid(text)
        if fast is not None:
            answered += 1
            assert fast == _phonenumbers_says(text), text
    assert answered > 10_000  # it answers for most E.164 input


def test_what_it_cannot_decide_is_left_to_phonenumbers() -> None:
    assert addresses._e164_valid("+80012345678") is None  # non-geographic code
    assert addresses._e164_valid("+390612345678") is None  # leading zero (Italy)
    assert addresses._e164_valid("415 555 0101") is None  # not E.164
    assert addresses._e164_valid("+9991234567") is False  # no such calling code
