"""Signatures on outbound webhooks (consentline.domain.signing)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from consentline.domain.errors import SignatureInvalid
from consentline.domain.signing import sign, verify

SECRET = "whsec_unit"
BODY = b'{"id":7,"type":"consent.opt_out"}'
T = 1_763_800_000


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, T, BODY) == f"v1={expected}"


def test_a_correct_signature_verifies_within_the_tolerance() -> None:
    verify(SECRET, str(T), BODY, sign(SECRET, T, BODY), now=T + 299)
    verify(SECRET, str(T), BODY, sign(SECRET, T, BODY), now=T - 299)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now"),
    [
        ("whsec_other", str(T), BODY, T),  # wrong secret
        (SECRET, str(T), BODY + b" ", T),  # body changed by one byte
        (SECRET, str(T + 1), BODY, T),  # timestamp changed
        (SECRET, str(T), BODY, T + 301),  # too old: a replay
        (SECRET, str(T), BODY, T - 301),  # from the future
        (SECRET, "yesterday", BODY, T),
        (SECRET, None, BODY, T),
    ],
)
def test_anything_else_is_refused(
    secret: str, timestamp: str | None, body: bytes, now: int
) -> None:
    header = sign(SECRET, T, BODY)
    with pytest.raises(SignatureInvalid):
        verify(secret, timestamp, body, header, now=now)


@pytest.mark.parametrize("header", [None, "", "v1=", "v0=" + "0" * 64, "garbage"])
def test_a_missing_or_malformed_header_is_refused(header: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        verify(SECRET, str(T), BODY, header, now=T)


def test_any_of_several_signatures_may_match_during_a_secret_rotation() -> None:
    both = f"{sign('whsec_old', T, BODY)}, {sign(SECRET, T, BODY)}"
    verify(SECRET, str(T), BODY, both, now=T)
    verify("whsec_old", str(T), BODY, both, now=T)
    with pytest.raises(SignatureInvalid):
        verify("whsec_third", str(T), BODY, both, now=T)
