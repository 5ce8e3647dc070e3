"""The send gate: one check (GET) and bulk checks (POST, streamed)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from datetime import datetime
from json.encoder import encode_basestring
from typing import Final
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from consentline.domain.errors import InvalidInput, InvalidTime, UnknownPurpose
from consentline.domain.policy import Decision
from consentline.http import schemas
from consentline.http.auth import (
    Caller,
    CallerDep,
    Services,
    ServicesDep,
    authenticate,
    services_of,
)
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


# (name, max length, required, description) of GET /v1/check's query parameters.
_QUERY: Final = (
    ("to", 320, True, "the recipient (E.164, or national in the line's region)"),
    ("from", 64, True, "a line in the key's subtree"),
    ("purpose", 63, True, "a purpose of the tenant"),
    ("topic", 63, False, "the topic, for a topic-scoped purpose"),
    ("channel", 16, False, "sms (default), whatsapp or email"),
    ("at", 64, False, "ISO 8601 time with an offset: answer for that moment"),
)
_PARAMETERS: Final = [
    {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", "maxLength": limit}
        | ({"format": "date-time"} if name == "at" else {}),
    }
    for name, limit, required, description in _QUERY
]


def _pairs(raw: bytes) -> dict[str, str]:
    """The query string's first value per name (what ``QueryParams`` gives, decoded
    only where something is escaped: most checks carry nothing but ``%2B``)."""
    found: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if value.startswith("%2B") and "%" not in value[3:] and "+" not in value[3:]:
            value = "+" + value[3:]  # an E.164 number, as every client escapes it
        elif "%" in value or "+" in value:
            value = unquote_plus(value)
        elif not value.isascii():
            value = value.encode("latin-1").decode("utf-8", "replace")
        found.setdefault(name, value)
    return found


def _query(request: Request) -> dict[str, str | None]:
    params = _pairs(request.scope["query_string"])
    found: dict[str, str | None] = {}
    for name, limit, required, _ in _QUERY:
        value = params.get(name)
        if value is None:
            if required:
                raise InvalidInput(f"{name}: a required query parameter is missing", field=name)
        elif len(value) > limit:
            raise InvalidInput(f"{name}: longer than {limit} characters", field=name)
        found[name] = value
    return found


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidTime("at is not an ISO 8601 time", field="at") from None
    return _aware(moment)


@router.get(
    "/check",
    summary="May this line send this purpose to this recipient?",
    response_class=JSONResponse,
    responses={200: {"model": schemas.DecisionOut, "description": "the decision"}},
    openapi_extra={"parameters": _PARAMETERS, "security": [{"HTTPBearer": []}]},
)
async def check(request: Request) -> Response:
    """``from`` must be a line in the key's subtree; ``at`` asks about another moment.

    The hot path, so it is lean: the parameters are read by hand (documented above)
    instead of through the framework's validation, and it runs on the event loop,
    since the answer is one indexed read, cheaper than a hand-off to a thread. A
    check ``at`` a past moment folds history, so that one goes to a thread.
    """
    who = authenticate(request)
    query = _query(request)
    line = who.line(str(query["from"]))
    at = _moment(query["at"])
    ask = functools.partial(
        services_of(request).client.check,
        str(query["to"]),
        from_=line.number,
        purpose=str(query["purpose"]),
        topic=query["topic"],
        channel=query["channel"] or "sms",
        at=at,
    )
    decision = ask() if at is None else await run_in_threadpool(ask)
    return JSONResponse(decision_json(decision, who.directory))


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
    responses={200: {"model": schemas.BulkCheckOut}},
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
