"""A number that changed hands: ``POST /v1/addresses/{old}/change-number``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from consentline.domain.errors import InvalidInput
from consentline.http import schemas
from consentline.http.auth import CallerDep, ServicesDep
from consentline.services.views import event_json

router = APIRouter(prefix="/v1", tags=["consent"])


class NumberChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new: str = Field(max_length=64)
    account: str | None = Field(default=None, max_length=63)
    channel: str = Field(default="sms", max_length=16)


@router.post(
    "/addresses/{old}/change-number",
    summary="A number changed: its consents lapse",
    response_model=schemas.NumberChangeOut,
)
def change_number(old: str, body: NumberChangeIn, who: CallerDep, svc: ServicesDep) -> Any:
    """Every opt-in and pending request ``old`` holds in the key's subtree (or that
    of ``account``, inside it) lapses with source ``number_change``; opt-outs stay
    with ``old``; nothing is written for ``new``. Repeating it appends nothing."""
    who.require("write")
    home = who.home
    if body.account is not None:
        account = who.account(body.account).slug
    elif home is not None:
        account = home.slug
    else:
        raise InvalidInput("give the account whose subtree the change applies to", field="account")
    result = svc.client.change_number(old, body.new, account=account, channel=body.channel)
    directory = svc.client.directory()
    return {
        "old": result.old,
        "new": result.new,
        "channel": result.channel,
        "lapsed": [event_json(e, directory) for e in result.lapsed],
        "replayed": result.replayed,
    }
