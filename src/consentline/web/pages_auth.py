"""Sign in and out (``/ui/login``, ``/ui/logout``) and the home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from consentline.domain.errors import TooManyAttempts, Unauthorized
from consentline.web.common import (
    check_csrf,
    client_ip,
    login_csrf,
    page,
    posted,
    render,
    signed_in,
    web_of,
)
from consentline.web.sessions import LOGIN_COOKIE, SESSION_COOKIE, new_token

router = APIRouter(include_in_schema=False)


def _next(target: str | None) -> str:
    """Only a path of the UI itself (never another site) to return to after sign-in."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/ui/dashboard"


def _login_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
    token = login_csrf(request) or new_token()
    response = render(
        request,
        "login.html",
        status=status,
        csrf=token,
        error=error,
        next=_next(request.query_params.get("next") or posted_next(request)),
    )
    options = web_of(request).sessions.cookie_options(max_age=3600)
    response.set_cookie(LOGIN_COOKIE, token, **options)
    return response


def posted_next(request: Request) -> str | None:
    form = getattr(request.state, "form", None)
    return None if form is None else form.get("next")


@router.get("/ui/login")
@page
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/ui/login")
@page
def login(request: Request) -> Response:
    form = posted(request)
    check_csrf(login_csrf(request), form)
    web = web_of(request)
    try:
        operator = web.operators.authenticate(
            form.get("username", ""), form.get("password", ""), ip=client_ip(request)
        )
    except TooManyAttempts:
        return _login_page(
            request, error="Too many failed sign-ins. Wait a few minutes and try again.", status=429
        )
    except Unauthorized:
        return _login_page(request, error="Unknown username or wrong password.", status=401)
    cookie, _session = web.sessions.issue(operator.id)
    response = RedirectResponse(_next(form.get("next")), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, **web.sessions.cookie_options())
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/ui/logout")
@page
def logout(request: Request) -> Response:
    signed = signed_in(request)
    check_csrf(signed.csrf, posted(request))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/ui")
@router.get("/ui/")
@page
def home(request: Request) -> Response:
    signed = signed_in(request)
    web = web_of(request)
    reach = signed.reach
    open_items = [
        item
        for item in web.client.review_list(account=reach.home.slug, status="open", limit=1000)
        if reach.reaches(reach.directory.account(item.account).id)
    ]
    return render(
        request,
        "home.html",
        signed=signed,
        accounts=reach.accounts(),
        lines=reach.lines(),
        open_reviews=len(open_items),
        oldest=open_items[0].received_at if open_items else None,
    )
