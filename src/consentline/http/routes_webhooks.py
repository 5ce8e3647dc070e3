"""``/webhooks/{provider}``: inbound SMS and status callbacks from the SMS providers.

The route translates HTTP into ONE call of :class:`consentline.services.webhooks.Webhooks`
and its answer back into HTTP; the order of the work (nothing is stored before the
signature is checked; a 2xx only after the commit) is documented there. A webhook
refused before it is authenticated is ``403 signature_invalid``, whatever the cause
(unknown line, no credentials, bad signature), so that an outsider cannot probe which
numbers are lines here.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from consentline.http import schemas
from consentline.http.auth import services_of
from consentline.services.webhooks import WebhookCall

router = APIRouter(tags=["webhooks"])


def public_url(request: Request, configured: str | None) -> str:
    """The URL the provider called and signed: the configured public URL when set."""
    if configured is None:
        return str(request.url)
    query = request.url.query
    return f"{configured}{request.url.path}" + (f"?{query}" if query else "")


_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: schemas.WEBHOOK_ANSWER,
    403: {
        "description": "not verified: signature missing or wrong, no credentials "
        "configured, or not sent to a line here (one answer for all three)"
    },
    404: {"description": "unknown provider"},
    405: {"description": "this provider does not call with GET"},
    422: {"description": "malformed payload"},
}


@router.post(
    "/webhooks/{name}",
    summary="Inbound SMS and status callbacks from an SMS provider",
    response_class=Response,
    responses=_RESPONSES,
)
async def webhook(name: str, request: Request) -> Response:
    """``name`` is twilio, sinch, messagemedia, vonage, plivo, telnyx or bandwidth.
    Signed with the credentials set by ``PUT /v1/accounts/{slug}/providers/{name}``
    on the line's account or its nearest ancestor."""
    return await _webhook(name, request)


@router.get(
    "/webhooks/{name}",
    summary="Inbound SMS by GET (Twilio, Plivo, Vonage SMS API)",
    response_class=Response,
    responses=_RESPONSES,
)
async def webhook_get(name: str, request: Request) -> Response:
    """The parameters travel in the query string; signed as for POST."""
    return await _webhook(name, request)


async def lean_webhook(request: Request) -> Response:
    """The same handler as a plain Starlette endpoint (see ``app._lean_routes``)."""
    return await _webhook(str(request.path_params["name"]), request)


async def _webhook(name: str, request: Request) -> Response:
    svc = services_of(request)
    webhooks = svc.webhooks
    if request.method == "GET" and not webhooks.accepts_get(name):  # 404 for no provider
        raise HTTPException(405, f"{name} webhooks are POSTed")
    answer = await webhooks.receive(
        WebhookCall(
            provider=name,
            method=request.method,
            url=public_url(request, svc.settings.public_url),
            headers=request.headers.items(),
            body=await request.body(),
            received_at=svc.client.now(),
        )
    )
    if answer.json is not None:
        return JSONResponse(dict(answer.json), status_code=answer.status)
    return Response(content=answer.body, status_code=answer.status, media_type=answer.content_type)
