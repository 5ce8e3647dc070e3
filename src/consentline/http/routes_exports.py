"""Data-subject access over HTTP (C28): everything held about one number, as one document.

``GET /v1/addresses/{address}/export`` needs a ``read`` key: a read key already
sees a number's history with its proof and the review queue with its messages,
and the export gathers the same records in one answer rather than disclosing
anything new. What it covers is the key's subtree, exactly: another account's
subtree is answered as if it did not exist (404), like every route.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from consentline.domain.errors import InvalidInput
from consentline.http import schemas
from consentline.http.auth import CallerDep, ServicesDep

router = APIRouter(prefix="/v1", tags=["consent"])


class SubjectExportOut(schemas.Answer):
    format: str = Field(description="consentline-subject/1")
    address: str
    channel: str | None
    account: str = Field(description="the account whose subtree was searched")
    tenant: str
    exported_at: str
    events: list[schemas.EventOut]
    inbound_messages: list[dict[str, Any]] = Field(
        description="messages received from the number, raw, with their classification"
    )
    replies: list[dict[str, Any]] = Field(description="replies sent to the number (outbox)")
    review_items: list[dict[str, Any]]
    scope_questions: list[schemas.AskedQuestionOut]
    contact_refs: list[dict[str, str]] = Field(
        description="external record ids pointing at the number: channel, system, ref"
    )


@router.get(
    "/addresses/{address}/export",
    summary="Everything held about a number (data-subject access, C28)",
    response_model=SubjectExportOut,
)
def subject_export(
    address: str,
    who: CallerDep,
    svc: ServicesDep,
    account: Annotated[str | None, Query(max_length=63)] = None,
    channel: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    """Every event (proof, chain hash), inbound message (raw text, classification),
    reply, review item, scope question and contact reference about ``address`` in the subtree of
    ``account`` (default: the key's own account; an installation key must name
    one). An account outside the key's subtree is 404; a number that is not
    valid is 422; a valid number nothing is held about answers empty lists."""
    who.require("read")
    if account is None:
        home = who.home
        if home is None:
            raise InvalidInput("give the account whose subtree to search", field="account")
        owner = home
    else:
        owner = who.account(account)
    return svc.client.subject_export(address, account=owner.slug, channel=channel)
