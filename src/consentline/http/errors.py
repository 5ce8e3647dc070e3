"""Errors → HTTP responses, in ONE table.

Every error answer is JSON ``{"code": ..., "message": ..., **data}``. The status
of a library error is found by walking its class's MRO in :data:`STATUS`, so a
new subclass of ``NotFound`` is a 404 without touching this module; the errors
no request can raise are listed in :data:`NOT_HTTP_FACING`. The few errors
answered in another shape are in :data:`ANSWERS`, found the same way: the send
gateway's ``GatewayError`` is Twilio's ``{"code", "message", "more_info", "status"}``
with its own status.

Malformed JSON is ``400 invalid_json``; a body that parses but does not fit the
schema is ``422 invalid_input`` (with ``errors``); an unknown route is
``404 not_found``; a body over the limit ``413 body_too_large``. An unexpected
exception is ``500 internal_error`` and carries no detail (it may hold numbers);
it is logged with its traceback, through the masking formatter of
:mod:`consentline.http.logging` (C23): every frame and exception class, numbers
masked, exception messages withheld unless they are consentline's own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from consentline.domain.errors import (
    CannotSend,
    Conflict,
    ConsentlineError,
    Forbidden,
    GatewayError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    SettingsError,
    StorageError,
    TooManyAttempts,
    TooManyBulkChecks,
    Unauthorized,
)
from consentline.http.logging import redact_target
from consentline.providers import gateway

log = logging.getLogger("consentline.http")

STATUS: Final[Mapping[type[ConsentlineError], int]] = {
    InvalidInput: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    LimitExceeded: 413,
    TooManyBulkChecks: 429,
    TooManyAttempts: 429,
    StorageError: 503,
    ConsentlineError: 400,
}

# Errors no request can raise, so they have no status of their own: a bad setting
# stops the server before it answers; a send that cannot be built is written on the
# outbox message by the reply job. A new error must be in STATUS (by a class of its
# own or an ancestor other than ConsentlineError) or here: tests/test_errors.py checks.
NOT_HTTP_FACING: Final[frozenset[type[ConsentlineError]]] = frozenset({SettingsError, CannotSend})

HTTP_CODES: Final[Mapping[int, str]] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


class ErrorBody(BaseModel):
    """The body of every error answer (extra fields carry the error's data)."""

    model_config = ConfigDict(extra="allow")
    code: str
    message: str


# Documented on every operation, so clients (and schemathesis) know the error shapes.
RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "malformed request (e.g. invalid JSON)"),
        (401, "no API key, or an unknown or revoked one"),
        (403, "the key's role is too low, or the signature is invalid"),
        (404, "not found, or outside the key's subtree"),
        (405, "method not allowed"),
        (409, "conflicts with stored state"),
        (413, "body too large"),
        (415, "the body is not JSON (send Content-Type: application/json)"),
        (422, "invalid input"),
        (503, "the database is unavailable"),
    )
}


def status_of(error: ConsentlineError) -> int:
    if isinstance(error, GatewayError):  # the gateway's answers carry Twilio's status
        return error.status
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400  # pragma: no cover - ConsentlineError is in the table


def error_response(status: int, body: Mapping[str, Any]) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(dict(body), status_code=status, headers=headers)


def _gateway_error(error: ConsentlineError) -> JSONResponse:
    """The send gateway's refusals answer in Twilio's shape, with their own status."""
    assert isinstance(error, GatewayError)
    return JSONResponse(
        gateway.error_body(error), status_code=error.status, headers=gateway.error_headers(error)
    )


# Errors whose answer is not consentline's ``{"code", "message"}`` body (by MRO, as STATUS).
ANSWERS: Final[Mapping[type[ConsentlineError], Callable[[ConsentlineError], JSONResponse]]] = {
    GatewayError: _gateway_error,
}


def library_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ConsentlineError)
    for cls in type(error).__mro__:
        answer = ANSWERS.get(cls)
        if answer is not None:
            return answer(error)
    body = error.to_dict()
    if isinstance(error, StorageError):
        body.pop("detail", None)  # driver text may quote stored values
    return error_response(status_of(error), body)


def _field(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = list(error.errors())
    if any(p.get("type") == "json_invalid" for p in problems):
        return error_response(400, {"code": "invalid_json", "message": "the body is not JSON"})
    errors = [{"field": _field(p.get("loc", ())), "problem": str(p.get("msg"))} for p in problems]
    first = errors[0] if errors else {"field": "body", "problem": "invalid"}
    return error_response(
        422,
        {
            "code": "invalid_input",
            "message": f"{first['field']}: {first['problem']}",
            "errors": errors,
        },
    )


def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = HTTP_CODES.get(error.status_code, "http_error")
    message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
    response = error_response(error.status_code, {"code": code, "message": message})
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


def unexpected(request: Request, error: Exception) -> JSONResponse:
    # The record carries the exception itself: only the formatter renders it, with
    # the messages withheld and the numbers masked (a logging.Filter never sees the
    # traceback text). The target is redacted here too, for any other handler.
    log.error(
        "unexpected %s on %s %s",
        type(error).__name__,
        request.method,
        redact_target(request.url.path),
        exc_info=(type(error), error, error.__traceback__),
    )
    return error_response(500, {"code": "internal_error", "message": "internal error"})


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(ConsentlineError, library_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, unexpected)
