"""Provider hints: a provider's own reading of an inbound keyword, normalised.

Some providers tell us what they made of a message besides passing it on: Twilio's
``OptOutType``, Telnyx's ``autoresponse_type``, Plivo's ``MessageIntent``. Each
spells its verdict its own way; :func:`normalise_hint` maps them all to
``opt_out`` / ``opt_in`` / ``help``. A provider that gives such a verdict has
also auto-replied to the handset, so consentline does not reply again (C17).

>>> normalise_hint(" Opt Out "), normalise_hint("UNSTOP"), normalise_hint("hello")
('opt_out', 'opt_in', None)
>>> provider_verdict("vonage", "STOP") is None  # Vonage's hint is only the first word
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

_HINTS: Final[Mapping[str, str]] = {
    **dict.fromkeys(("stop", "optout", "opt_out", "opt-out", "unsubscribe", "stopall"), "opt_out"),
    **dict.fromkeys(("start", "optin", "opt_in", "opt-in", "unstop", "subscribe"), "opt_in"),
    **dict.fromkeys(("help", "info"), "help"),
}

# Providers whose hint is the message's first word, not a verdict (Vonage's
# ``keyword``): kept as evidence, but it neither overrides the classifier nor
# means the provider replied.
_FIRST_WORD_HINTS: Final = frozenset({"vonage"})


def normalise_hint(raw: str | None) -> str | None:
    """Provider keyword verdicts (Twilio ``OptOutType``, Telnyx ``autoresponse_type``,
    Plivo ``MessageIntent``) as ``opt_out`` / ``opt_in`` / ``help``, else None."""
    if not raw:
        return None
    return _HINTS.get(raw.strip().lower().replace(" ", ""))


def provider_verdict(provider: str, raw: str | None) -> str | None:
    """``provider``'s verdict on a message from its hint ``raw``, or None if it gave none."""
    return None if provider in _FIRST_WORD_HINTS else normalise_hint(raw)
