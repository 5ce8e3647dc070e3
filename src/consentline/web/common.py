"""What every page uses: the web state, the signed-in operator, forms, CSRF, rendering.

Pages are plain functions over the services (through the :class:`Consentline`
façade); nothing here imports storage. Errors are answered as HTML pages with the
status the API would give (404 for anything outside the operator's reach).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from consentline.client import Consentline
from consentline.domain.errors import (
    Conflict,
    ConsentlineError,
    Forbidden,
    InvalidInput,
    LimitExceeded,
    NotFound,
    StorageError,
    TooManyAttempts,
    Unauthorized,
)
from consentline.services.contact_view import when
from consentline.services.operators import Operator, Operators
from consentline.services.reach import Reach
from consentline.settings import Settings
from consentline.web.sessions import LOGIN_COOKIE, SESSION_COOKIE, Sessions, same_token

log = logging.getLogger("consentline.web")
HERE: Final = Path(__file__).resolve().parent
MAX_FORM: Final = 64 * 1024
STATUS: Final[tuple[tuple[type[ConsentlineError], int], ...]] = (
    (TooManyAttempts, 429),
    (InvalidInput, 422),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (LimitExceeded, 413),
    (StorageError, 503),
)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["q"] = lambda value: quote(str(value), safe="")
    return env


@dataclass(frozen=True, slots=True)
class Web:
    """The web UI's services, kept on ``app.state.web``."""

    client: Consentline
    operators: Operators
    sessions: Sessions
    env: Environment
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True, slots=True)
class Signed:
    """A signed-in operator, what they reach, and their session's CSRF token."""

    operator: Operator
    reach: Reach
    csrf: str

    @property
    def can_write(self) -> bool:
        return self.operator.allows("write")

    @property
    def is_admin(self) -> bool:
        return self.operator.allows("admin")


class NotSignedIn(Exception):
    """Raised by :func:`signed_in`: the page answers with a redirect to sign in."""


def web_of(request: Request) -> Web:
    found: Web = request.app.state.web
    return found


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def signed_in(request: Request) -> Signed:
    web = web_of(request)
    session = web.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotSignedIn
    try:
        operator = web.operators.get(session.operator_id)
    except NotFound:
        raise NotSignedIn from None
    if not operator.active:
        raise NotSignedIn
    return Signed(operator, Reach(operator.account_id, web.client.directory()), session.csrf)


async def form_of(request: Request) -> dict[str, str]:
    """A urlencoded body as a dict (first value of each name); 413 past :data:`MAX_FORM`."""
    body = await request.body()
    if len(body) > MAX_FORM:
        raise LimitExceeded("the form is too large", limit=MAX_FORM)
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if not body:
        return {}
    if media != "application/x-www-form-urlencoded":
        raise InvalidInput("send the form as application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the form could not be read") from None
    out: dict[str, str] = {}
    for name, value in pairs:
        out.setdefault(name, value)
    return out


def posted(request: Request) -> dict[str, str]:
    """The POST's form, read by :func:`page` before the handler runs."""
    found: dict[str, str] = request.state.form
    return found


def check_csrf(expected: str | None, form: Mapping[str, str]) -> None:
    """Refuse (403) a POST whose ``csrf`` field is missing or not the session's."""
    if not same_token(expected, form.get("csrf")):
        raise Forbidden("the form's security token is missing or stale: reload the page")


def login_csrf(request: Request) -> str | None:
    return request.cookies.get(LOGIN_COOKIE)


def render(
    request: Request,
    template: str,
    *,
    signed: Signed | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    page = web_of(request).env.get_template(template)
    html = page.render(request=request, signed=signed, **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none';"
        " form-action 'self'"
    )
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def status_of(error: ConsentlineError) -> int:
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 400


def error_page(request: Request, error: ConsentlineError, signed: Signed | None) -> Response:
    status = status_of(error)
    message = str(error) if status != 404 else "Not found."
    if status == 503:
        log.warning("web: storage error (%s)", type(error).__name__)
    return render(request, "error.html", signed=signed, status=status, message=message)


def page(
    handler: Callable[..., Any],
    *,
    read: Callable[[Request], Awaitable[dict[str, str]]] = form_of,
) -> Callable[..., Any]:
    """Answer a page's :class:`ConsentlineError` as an HTML error page, and a missing
    session with a redirect to the sign-in page. A POST's body is read first by
    ``read`` (a urlencoded form; an upload page passes its multipart reader)."""

    async def run(request: Request, *args: Any, **kwargs: Any) -> Any:
        try:
            if request.method == "POST":
                request.state.form = await read(request)
            # The services block (database round trips): off the event loop.
            return await run_in_threadpool(handler, request, *args, **kwargs)
        except NotSignedIn:
            if request.method == "GET":
                target = quote(request.url.path, safe="/+")
                return RedirectResponse(f"/ui/login?next={target}", status_code=303)
            return render(request, "error.html", status=403, message="Sign in first.")
        except ConsentlineError as error:
            signed = None
            with contextlib.suppress(NotSignedIn, ConsentlineError):
                signed = signed_in(request)
            return error_page(request, error, signed)

    functools.update_wrapper(run, handler)
    run.__signature__ = inspect.signature(handler)  # type: ignore[attr-defined]
    return run
