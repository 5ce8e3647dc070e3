"""``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``: the Twilio-compatible gateway.

Authenticated with HTTP Basic as the ``twilio`` SDK sends it (username the AccountSid,
password a consentline API key), so it is left out of the OpenAPI document
(``include_in_schema=False``): its contract is Twilio's, and every answer, errors
included, is in Twilio's shape. See :mod:`consentline.providers.gateway`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from consentline.domain.errors import ConsentlineError
from consentline.http import errors
from consentline.http.auth import Services, services_of
from consentline.providers import gateway

router = APIRouter(tags=["gateway"])


def _decide(
    svc: Services, account_sid: str, authorization: str | None, body: bytes, purpose: str | None
) -> tuple[gateway.Sender, list[tuple[str, str]]]:
    sender = gateway.authenticate(svc.client, svc.keys, account_sid, authorization)
    pairs = gateway.parse_form(body)
    gateway.decide(svc.client, sender, gateway.fields_of(pairs), purpose)
    return sender, pairs


@router.post(
    "/2010-04-01/Accounts/{account_sid}/Messages.json",
    include_in_schema=False,
    response_class=Response,
)
async def send_message(account_sid: str, request: Request) -> Response:
    svc = services_of(request)
    body = await request.body()
    headers = request.headers
    try:
        try:
            sender, pairs = await run_in_threadpool(
                _decide,
                svc,
                account_sid,
                headers.get("authorization"),
                body,
                headers.get(gateway.PURPOSE_HEADER) or None,
            )
        except ConsentlineError as error:
            raise gateway.from_library_error(error, errors.status_of(error)) from None
        answer = await gateway.forward(sender.credentials, pairs, allow=svc.settings.outbound_allow)
    except gateway.GatewayError as error:
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
    return Response(answer.content, status_code=answer.status, media_type=answer.content_type)
