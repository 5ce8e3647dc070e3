"""Generic inbound messages (the provider webhooks will sit beside this)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from consentline.http import schemas
from consentline.http.auth import CallerDep, ServicesDep
from consentline.services.views import inbound_json

router = APIRouter(prefix="/v1", tags=["inbound"])


class Inbound(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", max_length=320)
    to: str = Field(max_length=64)
    text: str = Field(max_length=4096)
    message_id: str | None = Field(default=None, max_length=128)
    received_at: AwareDatetime | None = None
    channel: str = Field(default="sms", max_length=16)


@router.post("/inbound", summary="Handle one inbound message", response_model=schemas.InboundOut)
def inbound(body: Inbound, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """``to`` must be a line in the key's subtree. Answers the classification, the
    events recorded, the queued reply and any review item; a repeated
    ``message_id`` answers ``duplicate: true`` and records nothing."""
    who.require("write")
    line = who.line(body.to)
    result = svc.client.handle_inbound(
        from_=body.from_,
        to=line.number,
        text=body.text,
        provider="api",
        message_id=body.message_id,
        received_at=body.received_at,
        channel=body.channel,
        # The key relays the message: what it allows stays in its subtree.
        within=None if who.home is None else who.home.slug,
    )
    return inbound_json(result, svc.client.directory())
