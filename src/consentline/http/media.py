"""``415 unsupported_media_type`` for a JSON route sent a body that is not JSON.

Left to the framework, a body sent as ``text/plain`` or form-encoded (curl's
``-d`` default) reaches the route's model as raw bytes and fails as a confusing
``422 "Input should be a valid dictionary"``. :func:`json_body` is an app-wide
dependency that answers ``415`` first, naming the fix. It looks at the matched
route, so it applies exactly to routes whose body is a JSON model: the provider
webhooks and the Twilio-compatible gateway (form bodies, read by hand) and the
``GET /v1/check`` fast lane (answered before any dependency) are untouched.

``application/json`` and any ``application/*+json`` (with parameters such as
``charset``) are JSON, as the framework parses them.
"""

from __future__ import annotations

from fastapi import Request, params
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

MESSAGE = "this route takes a JSON body: send it with Content-Type: application/json"


class UnsupportedMediaType(HTTPException):
    """An HTTPException, so the one error handler answers it as JSON."""

    def __init__(self) -> None:
        super().__init__(415, MESSAGE)


def is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _json_body(route: object) -> bool | None:
    """None unless the route's body is JSON (not a form); else whether it is required."""
    if not isinstance(route, APIRoute) or route.body_field is None:
        return None
    if isinstance(route.body_field.field_info, params.Form):
        return None
    return route.body_field.field_info.is_required()


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


async def json_body(request: Request) -> None:
    """Refuse a non-JSON body on a JSON route (an app-wide dependency; async, so
    it costs no thread hop). No Content-Type at all is refused too, unless the
    body is optional and absent."""
    required = _json_body(request.scope.get("route"))
    if required is None:
        return
    content_type = request.headers.get("content-type")
    if content_type is None:
        if required or _has_body(request):
            raise UnsupportedMediaType
    elif not is_json(content_type):
        raise UnsupportedMediaType
