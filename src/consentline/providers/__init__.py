"""SMS provider adapters: verify a webhook, parse it, answer it.

One module per provider, each a class implementing :class:`Provider`; ``REGISTRY``
maps the provider's name to its adapter::

    >>> from consentline.providers import REGISTRY
    >>> sorted(REGISTRY)
    ['bandwidth', 'messagemedia', 'plivo', 'sinch', 'telnyx', 'twilio', 'vonage']

Status callbacks whose error code means "recipient opted out" come back as
``DeliveryStatus(opted_out=True)`` (C19).
"""

from __future__ import annotations

from consentline.providers.bandwidth import Bandwidth
from consentline.providers.messagemedia import MessageMedia
from consentline.providers.plivo import Plivo
from consentline.providers.sinch import Sinch
from consentline.providers.telnyx import Telnyx
from consentline.providers.twilio import Twilio
from consentline.providers.vonage import Vonage
from consentline.services.provider_port import (
    DeliveryStatus,
    Event,
    InboundSms,
    Provider,
    ProviderReply,
    SingleUseNonces,
    WebhookRequest,
)

REGISTRY: dict[str, Provider] = {
    provider.name: provider
    for provider in (
        Twilio(),
        Sinch(),
        MessageMedia(),
        Vonage(),
        Plivo(),
        Telnyx(),
        Bandwidth(),
    )
}

__all__ = [
    "REGISTRY",
    "DeliveryStatus",
    "Event",
    "InboundSms",
    "Provider",
    "ProviderReply",
    "SingleUseNonces",
    "WebhookRequest",
]
