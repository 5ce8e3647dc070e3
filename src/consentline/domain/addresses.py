"""Addresses (recipients) and line identifiers, normalised once at the edge.

Phone numbers are stored in E.164, parsed with ``phonenumbers`` using the
account's default region for national formats. An address that does not parse
to a valid number raises :class:`InvalidAddress`; nothing invalid is ever stored.

>>> normalise_address("(415) 555-0101", "sms", default_region="US")
'+14155550101'
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final, Literal, cast

import phonenumbers
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


@lru_cache(maxsize=65536)
def _parse_phone(raw: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(
            f"{mask(raw)} is not a phone number ({exc._msg})", address=mask(raw)
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidAddress(f"{mask(raw)} is not a valid phone number", address=mask(raw))
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    """Parse ``raw`` into E.164; national formats need ``default_region`` ("US", "FR"...).

    >>> normalise_phone("+33 6 12 34 56 78")
    '+33612345678'
    """
    if not isinstance(raw, str):
        raise InvalidAddress("a phone number must be a string", address=None)
    text = raw.strip()
    if not text:
        raise InvalidAddress("the phone number is empty", address="")
    if text[0] != "+" and text.isdigit() and default_region is None and len(text) > 10:
        # Providers (Sinch, Vonage, Plivo) send international numbers without "+".
        text = "+" + text
    return _parse_phone(text, default_region)


def normalise_email(raw: str) -> str:
    """Validate an email address for the ``email`` channel; returns it lower-cased."""
    text = raw.strip()
    if len(text) > 254 or _EMAIL.fullmatch(text) is None:
        raise InvalidAddress(f"{mask(text)} is not a valid email address", address=mask(text))
    return text.lower()


def normalise_address(raw: str, channel: str, default_region: str | None = None) -> str:
    """Normalise a recipient address for ``channel`` (E.164 for sms/whatsapp)."""
    checked = check_channel(channel)
    if not isinstance(raw, str):
        raise InvalidAddress("an address must be a string", address=None)
    if checked == "email":
        return normalise_email(raw)
    return normalise_phone(raw, default_region)


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
            raise InvalidAddress(
                f"line {mask(text)} is not a valid phone number or short code",
                line=mask(text),
            ) from exc
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
