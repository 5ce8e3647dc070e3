"""The send gate: one check (GET) and bulk checks (POST, streamed)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from json.encoder import encode_basestring
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from consentline.domain.errors import InvalidTime, UnknownPurpose
from consentline.domain.policy import Decision
from consentline.http.auth import Caller, CallerDep, Services, ServicesDep
from consentline.http.serialise import decision_json

router = APIRouter(prefix="/v1", tags=["check"])

MAX_RECIPIENTS: Final = 5_000_000
_CHUNK: Final = 2048


def _aware(at: datetime | None) -> datetime | None:
    if at is not None and at.utcoffset() is None:
        raise InvalidTime("at has no time zone; add 'Z' or an offset such as '+00:00'", field="at")
    return at


def _purpose(who: Caller, svc: Services, from_line: str, purpose: str) -> None:
    line = who.line(from_line)
    policy = svc.client.policy(who.directory.account_by_id(line.account_id).slug)
    if purpose not in policy.purposes:
        raise UnknownPurpose(f"no purpose {purpose!r} in this tenant", purpose=purpose)


@router.get("/check", summary="May this line send this purpose to this recipient?")
def check(
    who: CallerDep,
    svc: ServicesDep,
    to: Annotated[str, Query(max_length=320)],
    from_: Annotated[str, Query(alias="from", max_length=64)],
    purpose: Annotated[str, Query(max_length=63)],
    topic: Annotated[str | None, Query(max_length=63)] = None,
    channel: Annotated[str, Query(max_length=16)] = "sms",
    at: datetime | None = None,
) -> dict[str, Any]:
    """``from`` must be a line in the key's subtree; ``at`` asks about another moment."""
    line = who.line(from_)
    decision = svc.client.check(
        to, from_=line.number, purpose=purpose, topic=topic, channel=channel, at=_aware(at)
    )
    return decision_json(decision, who.directory)


class BulkCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", max_length=64)
    purpose: str = Field(max_length=63)
    topic: str | None = Field(default=None, max_length=63)
    channel: str = Field(default="sms", max_length=16)
    at: AwareDatetime | None = None
    recipients: list[str] = Field(max_length=MAX_RECIPIENTS)


def _stream(first: list[Decision], rest: Iterator[Decision]) -> Iterator[bytes]:
    # Written by hand, a chunk at a time: no per-recipient model or dict.
    yield b'{"results":['
    separator = ""
    decisions = itertools.chain(first, rest)
    while True:
        chunk = list(itertools.islice(decisions, _CHUNK))
        if not chunk:
            break
        parts = [
            f'{{"to":{encode_basestring(d.to)},"allowed":{"true" if d.allowed else "false"},'
            f'"reason":"{d.reason}"}}'
            for d in chunk
        ]
        yield (separator + ",".join(parts)).encode()
        separator = ","
    yield b"]}"


@router.post(
    "/check",
    summary="Check a list of recipients (answers in order, streamed)",
    response_description='`{"results": [{"to", "allowed", "reason"}, ...]}`',
)
def check_many(body: BulkCheck, who: CallerDep, svc: ServicesDep) -> StreamingResponse:
    """An invalid recipient gets ``allowed: false, reason: "invalid_address"``."""
    _purpose(who, svc, body.from_, body.purpose)
    line = who.line(body.from_)
    decisions = svc.client.check_many(
        body.recipients,
        from_=line.number,
        purpose=body.purpose,
        topic=body.topic,
        channel=body.channel,
        at=body.at,
    )
    first = list(itertools.islice(decisions, 1))  # errors surface before the 200 is sent
    return StreamingResponse(_stream(first, decisions), media_type="application/json")
