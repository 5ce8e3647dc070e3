"""Which credential names each provider takes: one :class:`CredentialRules`.

The adapters list the names they verify webhooks with (``credential_fields``), the
send side the names its API needs (:data:`consentline.providers.send.SEND_FIELDS`)
and the optional ``upstream_base_url``; this module adds which names are required,
which one is kept as an external id and which are flags, and hands the whole to
:mod:`consentline.services.credentials` (through the façade).

>>> [p.field for p in RULES.problems("vonage", {"signature_secret": "s", "signature_method": "x"})]
['signature_method']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from consentline.providers import REGISTRY
from consentline.providers.plivo import ACCEPT_V2
from consentline.providers.send import SEND_FIELDS, UPSTREAM_BASE_URL
from consentline.services.credentials import CredentialRules

__all__ = ["EXTERNAL_ID", "FLAGS", "REQUIRED", "RULES"]

# Each provider needs ALL the names of at least one of these groups.
REQUIRED: Final[Mapping[str, tuple[frozenset[str], ...]]] = {
    "twilio": (frozenset({"account_sid", "auth_token"}),),
    "sinch": (frozenset({"signature_secret"}), frozenset({"username", "password"})),
    "messagemedia": (frozenset({"public_key"}), frozenset({"username", "password"})),
    "vonage": (frozenset({"signature_secret"}),),
    "plivo": (frozenset({"auth_token"}),),
    "telnyx": (frozenset({"public_key"}),),
    "bandwidth": (frozenset({"username", "password"}),),
}

# The field kept as ``external_id`` (looked up by the Twilio-compatible gateway).
EXTERNAL_ID: Final[Mapping[str, str]] = {"twilio": "account_sid"}

# Names given as JSON true/false; stored as "true" when set, left out when false.
FLAGS: Final[Mapping[str, frozenset[str]]] = {"plivo": frozenset({ACCEPT_V2})}

RULES: Final = CredentialRules(
    providers=REGISTRY,
    send_fields=SEND_FIELDS,
    url_field=UPSTREAM_BASE_URL,
    required=REQUIRED,
    external_id=EXTERNAL_ID,
    flags=FLAGS,
)
