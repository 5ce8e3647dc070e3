"""Send one SMS with a provider's official SDK, pointed at a stand-in on 127.0.0.1.

Each driver returns the provider message id as the SDK read it from the stand-in's
answer, so that tests compare both the request the SDK made and how it read the reply.

Not here, and why:

* Vonage (``vonage`` 4.9): ``vonage_http_client.HttpClient`` builds every URL as
  ``f"https://{host}{path}"``, so the SDK cannot reach a plain-http stand-in; making it
  work would mean replacing its transport, i.e. no longer the SDK's own request.
* MessageMedia, Telnyx, Bandwidth: their SDKs are not among the test extras.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from unittest import mock

from consentline.providers.send import OutgoingSms
from tests.providers._send_standin import StandIn


def twilio(server: StandIn, creds: Mapping[str, str], sms: OutgoingSms) -> str | None:
    from twilio.rest import Client

    client = Client(creds["account_sid"], creds["auth_token"])
    client.api.base_url = server.url  # docs/providers.md: works; no region/edge set
    message = client.messages.create(to=sms.to, from_=sms.from_, body=sms.text)
    return message.sid


def plivo(server: StandIn, creds: Mapping[str, str], sms: OutgoingSms) -> str | None:
    import plivo
    import plivo.rest.client

    # The client reads the module global again on every request.
    with mock.patch.object(plivo.rest.client, "PLIVO_API_BASE_URI", f"{server.url}/v1/Account"):
        client = plivo.RestClient(creds["auth_id"], creds["auth_token"])
        response = client.messages.create(src=sms.from_, dst=sms.to, text=sms.text)
    return str(response.message_uuid[0])


def sinch(server: StandIn, creds: Mapping[str, str], sms: OutgoingSms) -> str | None:
    from sinch import SinchClient

    client = SinchClient(
        service_plan_id=creds["service_plan_id"], sms_api_token=creds["api_token"], sms_region="us"
    )
    # A domain without "{}" ignores the region.
    client.configuration.sms_domain_with_service_plan_id = server.url
    batch = client.sms.batches.send_sms(
        to=[sms.to], from_=sms.from_, body=sms.text, client_reference=sms.reference
    )
    return str(batch.id)


DRIVERS: dict[str, Callable[[StandIn, Mapping[str, str], OutgoingSms], str | None]] = {
    "twilio": twilio,
    "plivo": plivo,
    "sinch": sinch,
}
