"""Credentials whose shape can never verify a webhook are refused on save (issue 8, #11).

A Telnyx key that is not a base64 Ed25519 key, a MessageMedia key that is not an RSA
PEM, a Vonage ``signature_method`` Vonage does not sign with: saved, each would make
every webhook of the account a 403 (STOPs refused) until someone noticed.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consentline.domain.errors import InvalidInput
from consentline.providers import REGISTRY
from consentline.providers.credential_fields import RULES
from tests.providers import signers as s

ED25519_PEM = (
    Ed25519PrivateKey.generate()
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
GOOD_PEM = s.messagemedia("messagemedia_stop.json")[1]["public_key"]
VONAGE = {"signature_secret": s.VONAGE_SECRET}

GARBAGE: dict[str, tuple[str, dict[str, str], str]] = {
    # case: (provider, fields, the field named)
    "telnyx-not-base64": ("telnyx", {"public_key": "not base64 at all!"}, "public_key"),
    "telnyx-31-bytes": (
        "telnyx",
        {"public_key": base64.b64encode(b"k" * 31).decode()},
        "public_key",
    ),
    "telnyx-33-bytes": (
        "telnyx",
        {"public_key": base64.b64encode(b"k" * 33).decode()},
        "public_key",
    ),
    "telnyx-a-pem": ("telnyx", {"public_key": ED25519_PEM}, "public_key"),
    "messagemedia-garbage-pem": (
        "messagemedia",
        {"public_key": "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----"},
        "public_key",
    ),
    "messagemedia-garbage-body": ("messagemedia", {"public_key": "garbage"}, "public_key"),
    "messagemedia-lone-surrogate": ("messagemedia", {"public_key": "key\ud800"}, "public_key"),
    "messagemedia-not-rsa": ("messagemedia", {"public_key": ED25519_PEM}, "public_key"),
    "messagemedia-bad-key-beside-basic": (
        "messagemedia",
        {"public_key": "garbage", "username": "u", "password": "p"},
        "public_key",
    ),
    "vonage-rot13": ("vonage", {**VONAGE, "signature_method": "rot13"}, "signature_method"),
    "vonage-hmac-sha384": (
        "vonage",
        {**VONAGE, "signature_method": "sha384"},
        "signature_method",
    ),
}


@pytest.mark.parametrize("case", GARBAGE, ids=str)
def test_a_credential_that_can_never_verify_is_refused_naming_the_field(case: str) -> None:
    provider, fields, named = GARBAGE[case]
    with pytest.raises(InvalidInput) as raised:
        RULES.validate(provider, fields)
    assert raised.value.data["field"] == named
    shown = f"{raised.value.message} {raised.value.data}"
    assert fields[named] not in shown  # the value is a secret: never echoed
    # stored before the check existed, the same fields are reported, not accepted
    assert [p.field for p in RULES.problems(provider, fields)] == [named]


GOOD: dict[str, tuple[str, dict[str, str]]] = {
    "telnyx": ("telnyx", s.telnyx("telnyx_stop.json")[1]),
    "messagemedia-pem": ("messagemedia", {"public_key": GOOD_PEM}),
    "messagemedia-bare-body": (
        "messagemedia",
        {"public_key": "".join(GOOD_PEM.strip().splitlines()[1:-1])},
    ),
    "messagemedia-basic": ("messagemedia", {"username": "u", "password": "p"}),
    "vonage-default-method": ("vonage", VONAGE),
    **{
        f"vonage-{m}": ("vonage", {**VONAGE, "signature_method": m})
        for m in ("md5hash", "md5", "sha1", "sha256", "SHA512")
    },
    "twilio": ("twilio", s.twilio("twilio_stop.txt")[1]),
    "sinch": ("sinch", s.sinch("sinch_stop.json")[1]),
    "plivo": ("plivo", s.plivo_v3("plivo_stop.txt")[1]),
    "bandwidth": ("bandwidth", s.bandwidth("bandwidth_stop.json")[1]),
}


@pytest.mark.parametrize("case", GOOD, ids=str)
def test_credentials_that_verify_are_accepted_and_have_no_problems(case: str) -> None:
    provider, fields = GOOD[case]
    assert RULES.validate(provider, fields)
    assert RULES.problems(provider, fields) == []


def test_every_adapter_checks_its_credentials() -> None:
    for name, adapter in REGISTRY.items():
        assert adapter.credential_problems({}) == [], name


def test_stored_credentials_missing_a_required_field_are_reported() -> None:
    found = RULES.problems("twilio", {"auth_token": "t"})
    assert [p.field for p in found] == ["account_sid"]
    assert "needs account_sid+auth_token" in found[0].problem
