"""Addresses (recipients) and line identifiers, normalised once at the edge.

Phone numbers are stored in E.164, parsed with ``phonenumbers`` using the
account's default region for national formats. An address that does not parse
to a valid number raises :class:`InvalidAddress`; nothing invalid is ever stored.

>>> normalise_address("(415) 555-0101", "sms", default_region="US")
'+14155550101'
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Final, Literal, cast

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers import timezone as _phone_timezone

from consentline.domain.errors import InvalidAddress, InvalidChannel, InvalidInput, mask

Channel = Literal["sms", "whatsapp", "email"]
CHANNELS: Final = ("sms", "whatsapp", "email")

# Syntactically E.164: "+", a non-zero digit, 7 to 14 more digits. Strings of this
# shape skip phonenumbers on the hot path when the ledger already knows them (a
# number in the ledger was validated when it was first recorded).
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_PHONE_CHARS = re.compile(r"[+0-9 ()./-]+")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
# An alphanumeric sender id as carriers take it (the 11 GSM characters of TP-OA, and
# Twilio's published rule): 1 to 11 ASCII letters, digits and spaces, at least one letter.
SENDER_ID_MAX: Final = 11
_SENDER_ID = re.compile(r"(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9 ]{0,10}")
_SENDER_CHARS = re.compile(r"[A-Za-z0-9 ]+")
# A provider pool: a Twilio Messaging Service SID (MG + 32 hex digits) or a Telnyx
# messaging profile id (a UUID).
_POOL_ID = re.compile(r"MG[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
# Deliberately plain: one "@", no spaces, a dotted domain. Full RFC 5322 parsing
# accepts addresses no mail system delivers to.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")

_UNKNOWN_ZONE: Final = "Etc/Unknown"


def check_channel(channel: str) -> Channel:
    """Return ``channel`` if it is one consentline tracks, else raise InvalidChannel."""
    if channel in CHANNELS:
        return cast(Channel, channel)
    raise InvalidChannel(
        f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}", channel=channel
    )


def is_e164_shaped(text: str) -> bool:
    """True when ``text`` already looks like E.164 (no parsing, no validity check)."""
    return text.__class__ is str and _E164.fullmatch(text) is not None


# -- a cheap screen for numbers that cannot be valid (issue 8: bulk checks as a DoS) --
# ``phonenumbers.parse`` + ``is_valid_number`` cost ~30 µs for an invalid NANP number
# (validation tries every one of the 25 regions sharing +1, pattern by pattern, in
# Python), so a list of invalid numbers made a bulk check take minutes. A number is
# valid only if its national significant number fully matches a number-type pattern
# (fixed line, mobile, toll free, ...) of a region of its calling code: one
# precompiled alternation of those patterns per calling code, from phonenumbers' own
# metadata, rejects most invalid input in about a microsecond. It only ever rejects
# what phonenumbers would reject (tested against it); whatever passes is parsed and
# validated by phonenumbers exactly as before.
_MAX_INPUT: Final = 250  # phonenumbers refuses longer input (TOO_LONG)
_TWO_DIGITS = re.compile(r"\d\D*\d")  # phonenumbers needs at least two (any script's)
_PLUS_DIGITS = re.compile(r"\+([1-9][0-9]{6,14})")
_TYPES: Final = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


class _Screen:
    """The valid national numbers of one calling code as one pattern, and the main
    region's national prefix (which ``parse`` may strip after the code)."""

    __slots__ = ("national", "prefix")

    def __init__(self, code: int) -> None:
        # In phonenumbers' order of the regions (the main one first) and of the types
        # (fixed line, mobile first): a valid number usually matches an early one.
        patterns: dict[str, None] = {}
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            for kind in _TYPES if metadata is not None else ():
                desc = getattr(metadata, kind, None)
                if desc is not None and desc.national_number_pattern:
                    patterns[desc.national_number_pattern] = None
        self.national = re.compile("|".join(f"(?:{p})" for p in patterns) or "(?!)")
        main = phonenumbers.region_code_for_country_code(code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, main)
        prefix = None if metadata is None else metadata.national_prefix_for_parsing
        self.prefix = re.compile(prefix) if prefix else None


@cache  # one per calling code (~250), built on first use
def _screen(code: int) -> _Screen:
    return _Screen(code)


_IMPOSSIBLE, _FITS, _UNSCREENED = 0, 1, 2


def _screen_text(text: str) -> int:
    """``_IMPOSSIBLE`` only for input phonenumbers would refuse: too long, fewer than
    two digits, or ``+`` and digits whose national part fits no number type of the
    calling code; ``_FITS`` when that national part fits one; else ``_UNSCREENED``
    (national formats: screened after parsing)."""
    if len(text) > _MAX_INPUT or _TWO_DIGITS.search(text) is None:
        return _IMPOSSIBLE
    shaped = _PLUS_DIGITS.fullmatch(text)
    if shaped is None:
        return _UNSCREENED
    digits = shaped.group(1)
    for size in (1, 2, 3):  # the calling code, found as phonenumbers finds it
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return _IMPOSSIBLE  # no such calling code
    screen = _screen(code)
    rest = digits[size:]
    if screen.prefix is not None and screen.prefix.match(rest):
        return _UNSCREENED  # parse may strip a national prefix here: screen its result
    return _IMPOSSIBLE if screen.national.fullmatch(rest) is None else _FITS


def _fits_no_type(number: phonenumbers.PhoneNumber) -> bool:
    nsn = phonenumbers.national_significant_number(number)
    return _screen(number.country_code).national.fullmatch(nsn) is None


# -- a fast path for E.164 input (issue 11: imports of millions of numbers) -----------
# For "+<digits>" whose national part has no leading zero and no national prefix to
# strip, ``phonenumbers.parse`` keeps the digits as they are, so validity is decided
# by ``is_valid_number`` alone: the region is the first of the calling code's regions
# whose leading digits match (or, without leading digits, whose types match), and the
# number is valid if its national number fits that region's general description and
# one of its number types (length and pattern). :class:`_Region` holds exactly those
# tests, compiled once, and :func:`_e164_valid` applies them in phonenumbers' order:
# the same answer for every input (tested against phonenumbers), ~1 µs instead of ~30.
_TYPE_ORDER: Final = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)
_Desc = tuple[frozenset[int], "re.Pattern[str]"] | None


def _desc(desc: object) -> _Desc:
    if desc is None:
        return None
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return (frozenset(), re.compile("(?!)"))  # phonenumbers: never matches
    return (frozenset(getattr(desc, "possible_length", ()) or ()), re.compile(pattern))


def _matches(desc: _Desc, nsn: str) -> bool:
    if desc is None:
        return False
    lengths, pattern = desc
    if lengths and len(nsn) not in lengths:
        return False
    return pattern.fullmatch(nsn) is not None


class _Region:
    __slots__ = ("general", "leading", "types")

    def __init__(self, metadata: PhoneMetadata) -> None:
        self.leading = (
            None if metadata.leading_digits is None else re.compile(metadata.leading_digits)
        )
        self.general = _desc(metadata.general_desc)
        kinds = list(_TYPE_ORDER)
        if not metadata.same_mobile_and_fixed_line_pattern:
            kinds.append("mobile")
        self.types = tuple(_desc(getattr(metadata, kind, None)) for kind in kinds)

    def typed(self, nsn: str) -> bool:
        """``_number_type_helper(nsn, metadata) != UNKNOWN``."""
        return _matches(self.general, nsn) and any(_matches(d, nsn) for d in self.types)


@cache
def _regions(code: int) -> tuple[_Region, ...] | None:
    """The calling code's regions in phonenumbers' order; None when the fast path
    does not apply (non-geographic codes, missing metadata)."""
    names = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if not names or "001" in names:
        return None
    found = []
    for name in names:
        metadata = PhoneMetadata.metadata_for_region(name.upper(), None)
        if metadata is None or metadata.country_code != code:
            return None
        found.append(_Region(metadata))
    return tuple(found)


def _e164_valid(text: str) -> bool | None:
    """True/False as phonenumbers would decide for E.164 ``text``; None: ask it."""
    shaped = _PLUS_DIGITS.fullmatch(text)
    if shaped is None:
        return None
    digits = shaped.group(1)
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return False  # no such calling code (INVALID_COUNTRY_CODE)
    nsn = digits[size:]
    regions = _regions(code)
    if regions is None or nsn[:1] == "0":
        return None
    screen = _screen(code)
    if screen.prefix is not None and screen.prefix.match(nsn):
        return None  # parse may strip a national prefix
    if len(regions) == 1:
        return regions[0].typed(nsn)
    for region in regions:
        if region.leading is not None:
            if region.leading.match(nsn):
                return region.typed(nsn)
        elif region.typed(nsn):
            return True
    return False


class _Invalid(Exception):
    """Internal and cheap: not a valid number (callers build the real error)."""


@lru_cache(maxsize=65536)  # valid numbers only: a raised exception is never cached
def _parse_phone(raw: str, region: str | None) -> str:
    screened = _screen_text(raw)
    if screened == _IMPOSSIBLE:
        raise _Invalid
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise _Invalid from None
    if screened == _UNSCREENED and _fits_no_type(number):
        raise _Invalid
    if not phonenumbers.is_valid_number(number):
        raise _Invalid
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _phone_error(text: str, region: str | None) -> InvalidAddress:
    """The error for an invalid number, saying why (parsed again, only when refusing)."""
    try:
        phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        problem = f"is not a phone number ({exc._msg})"
    else:
        problem = "is not a valid phone number"
    # Masked for logs and answers (C23); whoever typed it sees it whole (the CLI).
    error = InvalidAddress(f"{mask(text)} {problem}", address=mask(text))
    return error.reveal(f"{text} {problem}", address=text)


def _phone_text(raw: str, default_region: str | None) -> str:
    text = raw.strip()
    if text and text[0] != "+" and text.isdigit() and default_region is None and len(text) > 10:
        # Providers (Sinch, Vonage, Plivo) send international numbers without "+".
        text = "+" + text
    return text


def phone_or_none(raw: object, default_region: str | None = None) -> str | None:
    """:func:`normalise_phone` without the error: E.164, or None for anything invalid
    (no exception is built: cheap for the invalid recipients of a bulk check)."""
    if not isinstance(raw, str):
        return None
    text = _phone_text(raw, default_region)
    if not text:
        return None
    fast = _e164_valid(text)
    if fast is not None:
        return text if fast else None
    try:
        return _parse_phone(text, default_region)
    except _Invalid:
        return None


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    """Parse ``raw`` into E.164; national formats need ``default_region`` ("US", "FR"...).

    >>> normalise_phone("+33 6 12 34 56 78")
    '+33612345678'
    """
    if not isinstance(raw, str):
        raise InvalidAddress("a phone number must be a string", address=None)
    text = _phone_text(raw, default_region)
    if not text:
        raise InvalidAddress("the phone number is empty", address="")
    fast = _e164_valid(text)
    if fast:
        return text
    try:
        if fast is False:
            raise _Invalid
        return _parse_phone(text, default_region)
    except _Invalid:
        raise _phone_error(text, default_region) from None


def normalise_email(raw: str) -> str:
    """Validate an email address for the ``email`` channel; returns it lower-cased."""
    text = raw.strip()
    if len(text) > 254 or _EMAIL.fullmatch(text) is None:
        problem = "is not a valid email address"
        error = InvalidAddress(f"{mask(text)} {problem}", address=mask(text))
        raise error.reveal(f"{text} {problem}", address=text)
    return text.lower()


def normalise_address(raw: str, channel: str, default_region: str | None = None) -> str:
    """Normalise a recipient address for ``channel`` (E.164 for sms/whatsapp)."""
    checked = check_channel(channel)
    if not isinstance(raw, str):
        raise InvalidAddress("an address must be a string", address=None)
    if checked == "email":
        return normalise_email(raw)
    return normalise_phone(raw, default_region)


def address_or_none(raw: object, channel: str, default_region: str | None = None) -> str | None:
    """:func:`normalise_address` without the error: None for an invalid address."""
    if check_channel(channel) != "email":
        return phone_or_none(raw, default_region)
    if not isinstance(raw, str):
        return None
    try:
        return normalise_email(raw)
    except InvalidAddress:
        return None


def normalise_line_id(raw: str, default_region: str | None = None) -> str:
    """Normalise a line identifier: E.164 number, short code, sender id or pool id.

    Numbers become E.164; digit-only strings of 3-8 digits are short codes kept as
    they are; anything else must be an alphanumeric sender id (at most 11 letters,
    digits or spaces, one letter at least: longer ones are refused or rewritten by
    carriers) or a provider pool id (a Twilio ``MG...`` Messaging Service SID, a
    Telnyx messaging profile UUID).

    >>> normalise_line_id("ACME Shop")
    'ACME Shop'
    """
    if not isinstance(raw, str):
        raise InvalidInput("a line must be given as a string", line=None)
    text = raw.strip()
    if _SHORT_CODE.fullmatch(text):
        return text
    if text and _PHONE_CHARS.fullmatch(text) and any(c.isdigit() for c in text):
        try:
            return normalise_phone(text, default_region)
        except InvalidAddress as exc:
            problem = "is not a valid phone number or short code"
            error = InvalidAddress(f"line {mask(text)} {problem}", line=mask(text))
            raise error.reveal(f"line {text} {problem}", line=text) from exc
    if _SENDER_ID.fullmatch(text) or _POOL_ID.fullmatch(text):
        return text
    if _SENDER_CHARS.fullmatch(text) and len(text) > SENDER_ID_MAX:
        raise InvalidInput(
            f"{text[:20]!r} is too long for a sender id (at most {SENDER_ID_MAX} letters, "
            "digits or spaces)",
            line=text[:20],
        )
    raise InvalidInput(
        f"{text[:20]!r} is not a number, short code, sender id (at most {SENDER_ID_MAX} "
        "letters, digits or spaces, one letter at least) or provider pool id",
        line=text[:20],
    )


def is_region(code: str) -> bool:
    """True when ``code`` is a region ``phonenumbers`` parses national numbers for.

    >>> is_region("US"), is_region("ZZ"), is_region("us")
    (True, False, False)
    """
    return code in phonenumbers.SUPPORTED_REGIONS


@lru_cache(maxsize=131072)
def time_zones(e164: str) -> tuple[str, ...]:
    """Possible IANA time zones of a phone number (several for some numbers).

    Returns an empty tuple when the number's zone cannot be known; the caller
    decides what that means for a time rule.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = tuple(z for z in _phone_timezone.time_zones_for_number(number) if z != _UNKNOWN_ZONE)
    return zones
