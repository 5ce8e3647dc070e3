"""Erasure of a data subject's number, keeping its suppression (C22)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from consentline.domain.errors import Forbidden, InvalidInput
from consentline.http.auth import CallerDep, ServicesDep

router = APIRouter(prefix="/v1", tags=["privacy"])


class ErasureOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str  # masked
    address_key: str
    erasure: int
    already_erased: bool
    events: int
    lapsed: int
    inbound: int
    outbox: int
    review_notes: int
    scope_questions: int
    idempotency: int
    contact_refs: int
    campaign_reach: int = 0
    erased_at: str


@router.delete(
    "/addresses/{address}",
    summary="Erase a number's personal data, keeping its opt-out (admin)",
    response_model=ErasureOut,
)
def erase(
    address: str,
    who: CallerDep,
    svc: ServicesDep,
    account: Annotated[str | None, Query(max_length=63)] = None,
    reason: Annotated[str, Query(max_length=63)] = "subject_request",
) -> dict[str, Any]:
    """Removes the number (replaced by a keyed hash), its inbound texts, replies,
    review notes and personal proof fields from the tenant of ``account`` (default:
    the key's own account). An opt-out keeps denying; an opt-in lapses. Admin keys
    only, and only for numbers with data in the key's subtree (others are 404).
    Erasing again answers the earlier erasure with ``already_erased``.

    The erasure covers the whole tenant (the number's projection row and keyed hash
    are the tenant's), so it takes an admin key of the tenant's root account or of
    the installation: a sub-account's key would reach its siblings' data (403)."""
    who.require("admin")
    home = who.home
    if home is not None and home.id != home.tenant_id:
        raise Forbidden(
            "an erasure covers the whole tenant: use an admin key of the tenant's root account"
        )
    if account is None:
        if home is None:
            raise InvalidInput("give account= (the tenant to erase the number from)")
        account = home.slug
    owner = who.account(account)
    report = svc.client.erase(
        address,
        account=owner.slug,
        reason=reason,
        within=None if home is None else home.slug,
    )
    return report.as_dict()
