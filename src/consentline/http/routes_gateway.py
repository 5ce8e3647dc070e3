"""``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: the Twilio-compatible gateway.

Authenticated with HTTP Basic as the ``twilio`` SDK sends it (username the AccountSid,
password a consentline API key), so it is left out of the OpenAPI document
(``include_in_schema=False``): its contract is Twilio's, and every answer, errors
included, is in Twilio's shape. The route makes ONE call of
:class:`consentline.providers.gateway_flow.Gateway`; a refusal is a ``GatewayError``,
answered by the one error registry (:mod:`consentline.http.errors`). See
:mod:`consentline.providers.gateway` for the wire format.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from consentline.domain.errors import ConsentlineError, GatewayError
from consentline.http import errors
from consentline.http.auth import services_of
from consentline.providers import gateway as wire
from consentline.providers.gateway_flow import Send

router = APIRouter(tags=["gateway"])


@router.post(
    "/2010-04-01/Accounts/{account_sid}/Messages.json",
    include_in_schema=False,
    response_class=Response,
)
async def send_message(account_sid: str, request: Request) -> Response:
    headers = request.headers
    send = Send(
        account_sid=account_sid,
        authorization=headers.get("authorization"),
        body=await request.body(),
        purpose=headers.get(wire.PURPOSE_HEADER) or None,
        campaign=headers.get(wire.CAMPAIGN_HEADER) or None,
    )
    try:
        answer = await services_of(request).gateway.send(send)
    except GatewayError:
        raise
    except ConsentlineError as error:  # a library error (a database outage): Twilio's shape
        raise wire.from_library_error(error, errors.status_of(error)) from None
    return Response(answer.content, status_code=answer.status, media_type=answer.content_type)
