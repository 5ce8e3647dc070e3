"""Signatures on the webhooks consentline sends to its subscribers.

Every delivery carries three headers::

    Consentline-Event-Id:   1234          the event's id: the same event may come twice
    Consentline-Timestamp:  1763800000    Unix seconds when this attempt was signed
    Consentline-Signature:  v1=5f2b...    HMAC-SHA256(secret, f"{timestamp}.{body}"), hex

A receiver recomputes the HMAC over the timestamp, a full stop and the raw body
bytes exactly as received, compares it in constant time, and refuses a timestamp
older than its tolerance (replays). :func:`verify` does all of that:

>>> body = b'{"id": 7}'
>>> header = sign("whsec_test", 1763800000, body)
>>> verify("whsec_test", "1763800000", body, header, now=1763800010)
>>> verify("whsec_other", "1763800000", body, header, now=1763800010)
Traceback (most recent call last):
...
consentline.domain.errors.SignatureInvalid: the signature does not match the body

A rotated secret is announced by sending several ``v1=`` values separated by
commas; any one of them matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from consentline.domain.errors import SignatureInvalid

SCHEME: Final = "v1"
TOLERANCE_S: Final = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body`` under ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Consentline-Signature`` header value for one delivery attempt."""
    return f"{SCHEME}={signature(secret, timestamp, body)}"


def verify(
    secret: str,
    timestamp: str | None,
    body: bytes,
    header: str | None,
    *,
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """Raise :class:`SignatureInvalid` unless ``header`` signs ``body`` at ``timestamp``.

    ``now`` is the receiver's clock in Unix seconds (passed in: this module reads no
    clock). A timestamp further than ``tolerance_s`` from it either way is refused.
    """
    if not timestamp or not header:
        raise SignatureInvalid("the signature or timestamp header is missing")
    try:
        moment = int(timestamp)
    except ValueError:
        raise SignatureInvalid("the timestamp is not a whole number of seconds") from None
    if abs(now - moment) > tolerance_s:
        raise SignatureInvalid("the timestamp is outside the tolerance (a replay?)")
    expected = signature(secret, moment, body).encode()
    ok = False
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME:
            ok |= hmac.compare_digest(expected, value.strip().encode())
    if not ok:
        raise SignatureInvalid("the signature does not match the body")
