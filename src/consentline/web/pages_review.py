"""The review queue (``/ui/review``): ambiguous replies, oldest first, decided by a
person with a note (C8). An ``opt_out`` decision records an opt-out with the operator
as actor; items outside the operator's subtree are answered as missing (404)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from consentline.domain.errors import InvalidInput, UnknownReviewItem
from consentline.services.contact_view import line_statuses
from consentline.services.review import ReviewItem
from consentline.web.common import Signed, check_csrf, page, posted, render, signed_in, web_of

router = APIRouter(include_in_schema=False)


def _open_items(request: Request, signed: Signed) -> list[ReviewItem]:
    reach = signed.reach
    items = web_of(request).client.review_list(account=reach.home.slug, status="open", limit=500)
    return [i for i in items if reach.reaches(reach.directory.account(i.account).id)]


@router.get("/ui/review")
@page
def queue(request: Request) -> Response:
    signed = signed_in(request)
    client = web_of(request).client
    rows = []
    for item in _open_items(request, signed):
        line = signed.reach.line(item.line)
        account = signed.reach.directory.account_by_id(line.account_id)
        purposes = sorted(client.policy(account.slug).purposes)
        rows.append(
            (item, line_statuses(client.check, [(line, account, purposes)], item.address, "sms"))
        )
    return render(
        request, "review.html", signed=signed, rows=rows, done=request.query_params.get("done")
    )


@router.post("/ui/review/{item_id}")
@page
def decide(request: Request, item_id: int) -> Response:
    signed = signed_in(request)
    form = posted(request)
    check_csrf(signed.csrf, form)
    signed.operator.require("write")
    if item_id not in {i.id for i in _open_items(request, signed)}:
        raise UnknownReviewItem(f"no open review item #{item_id}", item=item_id)
    decision = form.get("decision", "")
    if decision not in ("opt_out", "none"):
        raise InvalidInput("decide opt_out or none", field="decision")
    note = " ".join(form.get("note", "").split())[:500] or None
    web_of(request).client.review_decide(
        item_id, decision, reviewer=signed.operator.name, note=note
    )
    return RedirectResponse("/ui/review?done=decided", status_code=303)
