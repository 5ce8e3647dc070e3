"""The send gate's fast lane: ``GET /v1/check`` answered ahead of the framework.

A check is one indexed read of a few microseconds; the framework's layers around a
route (its error, telemetry, body-limit and exception middleware, the exit stack,
the router) cost several times that. This pure ASGI wrapper is the outermost layer
of the app (see ``app.ConsentlineApp``) and hands ``GET /v1/check`` straight to the
route's own handler, with the same error answers as every other route: a library
error through the one status table, anything else as the JSON 500. Every other
request passes through untouched. The OpenAPI document still
describes the operation, from its declaration in ``routes_check``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from consentline.domain.errors import ConsentlineError
from consentline.http import errors, routes_check

PATH = "/v1/check"


class FastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await routes_check.check(request)
        except ConsentlineError as error:
            response = errors.library_error(request, error)
        except Exception as error:  # as the app's own handler would answer it
            response = errors.unexpected(request, error)
        await response(scope, receive, send)
