"""The hosted opt-in form ``/join/{account}/{topic?}``: public, no sign-in (C24).

A submission records ``pending`` with proof and queues the double opt-in text; the
handset's YES completes it. The answer is the same page whatever the number's state
(subscribed, opted out, unknown, or a refused duplicate), so the form reveals nothing.
Bots: a honeypot field (``website``, hidden from people and from screen readers) is
answered as a success and recorded nothing, and submissions are rate-limited per IP
and per number. The form carries a signed token (valid for an hour) in place of a
session's CSRF token: a POST that was not made from the page is refused.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from consentline.domain.errors import Forbidden, InvalidAddress, InvalidInput, TooManyAttempts
from consentline.services import join_form
from consentline.services.contact_view import normalised
from consentline.web.common import client_ip, page, posted, render, web_of

router = APIRouter(include_in_schema=False)
log = logging.getLogger("consentline.web")
TOKEN_S = 3600


def _form(request: Request, account: str, topic: str | None) -> join_form.JoinForm:
    client = web_of(request).client
    found = client.directory().account(account)  # UnknownAccount: 404
    settings = client.account_settings(found.slug)
    return join_form.join_form(settings, account=found.slug, topic=topic)


def _signer(request: Request) -> URLSafeTimedSerializer:
    return web_of(request).sessions.form_signer()


def _show(
    request: Request, form: join_form.JoinForm, *, error: str | None = None, status: int = 200
) -> Response:
    token = _signer(request).dumps([form.account, form.topic or ""])
    return render(request, "join.html", form=form, token=token, error=error, status=status)


@router.get("/join/{account}")
@page
def join_page(request: Request, account: str) -> Response:
    return _show(request, _form(request, account, None))


@router.get("/join/{account}/{topic}")
@page
def join_topic_page(request: Request, account: str, topic: str) -> Response:
    return _show(request, _form(request, account, topic))


@router.post("/join/{account}")
@page
def join(request: Request, account: str) -> Response:
    return _submit(request, account, None)


@router.post("/join/{account}/{topic}")
@page
def join_topic(request: Request, account: str, topic: str) -> Response:
    return _submit(request, account, topic)


def _submit(request: Request, account: str, topic: str | None) -> Response:
    form = _form(request, account, topic)
    data = posted(request)
    try:
        signed = _signer(request).loads(data.get("token", ""), max_age=TOKEN_S)
    except BadSignature:
        raise Forbidden("the form has expired: reload the page and submit again") from None
    if signed != [form.account, form.topic or ""]:
        raise Forbidden("the form has expired: reload the page and submit again")
    if data.get("website"):  # the honeypot: people never see it
        return render(request, "join_done.html", form=form)
    if data.get("agree") != "yes":
        return _show(request, form, error="Tick the box to agree to receive messages.", status=422)
    web = web_of(request)
    home = web.client.directory().account(form.account)
    try:
        address, _ = normalised(data.get("phone", ""), "sms", home)
    except (InvalidAddress, InvalidInput):
        return _show(request, form, error="Enter a valid mobile number.", status=422)
    try:
        web.operators.hit(
            "join_ip", client_ip(request), limit=join_form.PER_IP[0], seconds=join_form.PER_IP[1]
        )
        web.operators.hit(
            "join_number",
            f"{home.tenant_id}:{address}",
            limit=join_form.PER_NUMBER[0],
            seconds=join_form.PER_NUMBER[1],
        )
    except TooManyAttempts as error:
        if error.data.get("bucket") == "join_ip":
            return _show(
                request, form, error="Too many sign-ups from here. Try again later.", status=429
            )
        # Per number: the same answer as a success, so the form tells nothing more.
        return render(request, "join_done.html", form=form)
    request_ = join_form.join_request(
        form,
        address,
        url=str(request.url),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    web.client.record_results([request_])
    return render(request, "join_done.html", form=form)
