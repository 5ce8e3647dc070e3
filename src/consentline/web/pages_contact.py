"""The search box and the contact page (``/ui/contacts/{number}``) with its actions.

Every consent change made here is an ``agent`` event whose proof names the operator
(``actor``, ``operator_id``) and carries their note (C15: the same effect as any other
route). A number the operator's accounts hold nothing about is answered 404, as the
API's ``unknown_address`` is; a write operator can still record an opt-out for it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from consentline.domain.errors import (
    Forbidden,
    InvalidAddress,
    InvalidContactRef,
    InvalidInput,
)
from consentline.services.contact_view import (
    NOT_DEFINED,
    contact_view,
    line_statuses,
    normalised,
)
from consentline.web.common import (
    Signed,
    check_csrf,
    page,
    posted,
    render,
    signed_in,
    web_of,
)

router = APIRouter(include_in_schema=False)
NOTE_MAX = 500
CHANNELS = ("sms", "whatsapp", "email")


def contact_url(address: str, channel: str = "sms", **query: str) -> str:
    url = f"/ui/contacts/{quote(address, safe='+@')}"
    params = {**({"channel": channel} if channel != "sms" else {}), **query}
    if params:
        url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return url


@router.get("/ui/search")
@page
def search(request: Request) -> Response:
    signed = signed_in(request)
    query = (request.query_params.get("q") or "").strip()[:320]
    if not query:
        return RedirectResponse("/ui/", status_code=303)
    home = signed.reach.home
    try:
        address, channel = normalised(query, None, home)
        return RedirectResponse(contact_url(address, channel), status_code=303)
    except InvalidAddress:
        pass
    try:
        found = web_of(request).client.find_contact_ref(query, account=home.slug)
    except InvalidContactRef:
        found = []
    if len(found) == 1:
        channel, address = found[0]
        return RedirectResponse(contact_url(address, channel), status_code=303)
    return render(
        request,
        "search.html",
        signed=signed,
        query=query,
        found=[{"channel": c, "address": a, "url": contact_url(a, c)} for c, a in found],
        status=200 if found else 404,
    )


def _statuses(signed: Signed, request: Request, address: str, channel: str) -> list[Any]:
    client = web_of(request).client
    reach = signed.reach
    rows = []
    for line in reach.lines():
        account = reach.directory.account_by_id(line.account_id)
        purposes = sorted(client.policy(account.slug).purposes)
        rows.append((line, account, purposes))
    return line_statuses(client.check, rows, address, channel)


@router.get("/ui/contacts/{number}")
@page
def contact(request: Request, number: str) -> Response:
    signed = signed_in(request)
    web = web_of(request)
    channel = request.query_params.get("channel") or None
    home = signed.reach.home
    address, kind = normalised(number, channel, home)
    if address != number:
        return RedirectResponse(contact_url(address, kind), status_code=303)
    try:
        page_no = int(request.query_params.get("page", "1"))
    except ValueError:
        raise InvalidInput("page must be a whole number", field="page") from None
    with web.client.units(write=False) as uow:
        view = contact_view(
            uow, signed.reach.directory, home=home, address=address, channel=kind, page=page_no
        )
    statuses = _statuses(signed, request, address, kind)
    known = view.total_events or view.inbound or view.replies or view.refs
    directory = signed.reach.directory
    return render(
        request,
        "contact.html",
        signed=signed,
        status=200 if known else 404,
        view=view,
        known=known,
        statuses=statuses,
        not_defined=NOT_DEFINED,
        describe=directory.describe_scope,
        proof=lambda event: json.dumps(dict(event.proof), ensure_ascii=False, sort_keys=True),
        url=contact_url(address, kind),
        places=_places(signed),
        purposes=sorted({s.purpose for s in statuses}),
        channels=CHANNELS,
        done=request.query_params.get("done"),
        erasable=signed.is_admin and signed.reach.home.is_root,
    )


def _places(signed: Signed) -> list[tuple[str, str]]:
    """Where an agent may record: the accounts and lines in reach."""
    places = [(f"account:{a.slug}", f"account {a.slug}") for a in signed.reach.accounts()]
    places += [(f"line:{ln.number}", f"line {ln.number}") for ln in signed.reach.lines()]
    return places


def _note(form: dict[str, str]) -> str:
    note = " ".join(form.get("note", "").split())
    if not 1 <= len(note) <= NOTE_MAX:
        raise InvalidInput(f"write a note (1 to {NOTE_MAX} characters)", field="note")
    return note


def _writer(request: Request) -> tuple[Signed, dict[str, str]]:
    signed = signed_in(request)
    form = posted(request)
    check_csrf(signed.csrf, form)
    signed.operator.require("write")
    return signed, form


@router.post("/ui/contacts/{number}/record")
@page
def record(request: Request, number: str) -> Response:
    """An agent's opt-out or opt-in with a note; the operator is the actor (C15)."""
    signed, form = _writer(request)
    action = form.get("action", "")
    if action not in ("opt_out", "opt_in"):
        raise InvalidInput("the action is opt_out or opt_in", field="action")
    channel = form.get("channel", "sms")
    address, kind = normalised(number, channel, signed.reach.home)
    kind_of, _, name = form.get("where", "").partition(":")
    account = line = via = None
    if kind_of == "account":
        account = signed.reach.account(name).slug
    elif kind_of == "line":
        number_of_line = signed.reach.line(name).number
        # An opt-out taken on a line follows the account's reach, as a STOP there does.
        if action == "opt_out":
            via = number_of_line
        else:
            line = number_of_line
    else:
        raise InvalidInput("choose where the change applies", field="where")
    purpose = form.get("purpose") or None
    if action == "opt_in" and purpose is None:
        raise InvalidInput("an opt-in names its purpose", field="purpose")
    operator = signed.operator
    web_of(request).client.record(
        address,
        action,
        account=account,
        line=line,
        via=via,
        purpose=purpose,
        channel=kind,
        source="agent",
        proof={
            "actor": operator.name,
            "operator_id": operator.id,
            "note": _note(form),
            "via_ui": "web",
        },
        within=signed.reach.home.slug,
    )
    return RedirectResponse(contact_url(address, kind, done="recorded"), status_code=303)


@router.post("/ui/contacts/{number}/change-number")
@page
def change_number(request: Request, number: str) -> Response:
    signed, form = _writer(request)
    home = signed.reach.home
    channel = form.get("channel", "sms")
    old, kind = normalised(number, channel, home)
    new, _ = normalised(form.get("new", ""), kind, home)
    web_of(request).client.change_number(old, new, account=home.slug, channel=kind)
    return RedirectResponse(contact_url(old, kind, done="changed"), status_code=303)


@router.get("/ui/contacts/{number}/export")
@page
def export(request: Request, number: str) -> Response:
    """Everything held about the number in the operator's subtree (C28), as JSON."""
    signed = signed_in(request)
    signed.operator.require("write")
    home = signed.reach.home
    address, kind = normalised(number, request.query_params.get("channel"), home)
    document = web_of(request).client.subject_export(address, account=home.slug, channel=kind)
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="subject-export.json"',
            "Cache-Control": "no-store",
        },
    )


def _eraser(signed: Signed) -> None:
    signed.operator.require("admin")
    if not signed.reach.home.is_root:
        # Erasure covers the whole tenant: only an admin of its root account (as over HTTP).
        raise Forbidden("erasure needs an admin of the tenant's root account", role="admin")


@router.get("/ui/contacts/{number}/erase")
@page
def erase_form(request: Request, number: str) -> Response:
    signed = signed_in(request)
    _eraser(signed)
    address, kind = normalised(number, request.query_params.get("channel"), signed.reach.home)
    return render(
        request,
        "erase.html",
        signed=signed,
        address=address,
        channel=kind,
        url=contact_url(address, kind),
    )


@router.post("/ui/contacts/{number}/erase")
@page
def erase(request: Request, number: str) -> Response:
    signed, form = _writer(request)
    _eraser(signed)
    home = signed.reach.home
    address, kind = normalised(number, form.get("channel", "sms"), home)
    typed = form.get("confirm", "").strip()
    try:
        confirmed = normalised(typed, kind, home)[0] == address if typed else False
    except InvalidAddress:
        confirmed = False
    if not confirmed:
        raise InvalidInput("type the number again to confirm the erasure", field="confirm")
    report = web_of(request).client.erase(address, account=home.slug)
    return render(request, "erased.html", signed=signed, report=report)
