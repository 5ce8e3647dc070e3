"""Recording consent, reading an address's status and history, the change feed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from consentline.domain.errors import InvalidInput
from consentline.domain.ledger import Event
from consentline.http import schemas
from consentline.http.auth import CallerDep, ServicesDep
from consentline.services.recording import RecordRequest
from consentline.services.views import event_json

router = APIRouter(prefix="/v1", tags=["consent"])


class NewConsent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(max_length=320)
    action: str = Field(max_length=16)
    account: str | None = Field(default=None, max_length=63)
    line: str | None = Field(default=None, max_length=64)
    via: str | None = Field(default=None, max_length=64)
    purpose: str | None = Field(default=None, max_length=63)
    topic: str | None = Field(default=None, max_length=63)
    channel: str = Field(default="sms", max_length=16)
    source: str = Field(max_length=63)
    proof: dict[str, Any] | None = None
    occurred_at: AwareDatetime | None = None
    idempotency_key: str | None = Field(default=None, max_length=255)
    contact_ref: str | list[str] | None = Field(
        default=None, description="external record ids: system:ref or a bare ref"
    )


@router.post(
    "/consents",
    status_code=201,
    summary="Record a consent event",
    responses={
        201: {"model": schemas.EventOut, "description": "the event recorded"},
        200: {"model": schemas.EventOut, "description": "an idempotent replay: the original event"},
    },
)
def record(body: NewConsent, who: CallerDep, svc: ServicesDep) -> Any:
    """The scope is ``account`` or ``line`` (``via``: the line a keyword arrived on,
    so the account's reach applies). Replaying an ``idempotency_key`` answers 200
    with the original event; the same key with a different request is 409."""
    who.require("write")
    if body.account is not None:
        who.account(body.account)
    if body.account is None and body.line is None and body.via is None:
        raise InvalidInput("give the scope: account, line or via", field="account")
    request = RecordRequest(
        address=body.address,
        action=body.action,
        account=body.account,
        line=None if body.line is None else who.line(body.line).number,
        via=None if body.via is None else who.line(body.via).number,
        purpose=body.purpose,
        topic=body.topic,
        channel=body.channel,
        source=body.source,
        proof=body.proof,
        occurred_at=body.occurred_at,
        idempotency_key=body.idempotency_key,
        within=None if who.home is None else who.home.slug,  # a key writes in its subtree
        contact_ref=body.contact_ref,
    )
    # Replay or not is decided by the write itself, under the tenant's chain lock:
    # of concurrent requests with one key exactly one answers 201.
    (result,) = svc.client.record_results([request])
    return JSONResponse(
        event_json(result.event, svc.client.directory()),
        status_code=200 if result.replayed else 201,
    )


def _channel_of(address: str, channel: str | None) -> str:
    return channel or ("email" if "@" in address else "sms")


@router.get(
    "/addresses/{address}/consent",
    summary="Status on every line in reach",
    response_model=schemas.ConsentOut,
)
def consent(
    address: str,
    who: CallerDep,
    svc: ServicesDep,
    channel: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    """For each line in the key's subtree and each purpose of its tenant:
    ``{allowed, reason, state, event}``. ``state`` is ``defined`` when a ledger
    event decided, ``not_defined`` when nothing is known about the address there
    (the answer is then the purpose's default: restrictive → not allowed). A line's
    own ``state`` is ``not_defined`` when every purpose is."""
    kind = _channel_of(address, channel)
    lines: list[dict[str, Any]] = []
    for line in sorted(who.lines(), key=lambda found: found.id):
        owner = who.directory.account_by_id(line.account_id)
        purposes: dict[str, Any] = {}
        for name in sorted(svc.client.policy(owner.slug).purposes):
            decision = svc.client.check(address, from_=line.number, purpose=name, channel=kind)
            ref = decision.event
            purposes[name] = {
                "allowed": decision.allowed,
                "reason": decision.reason,
                "state": "not_defined" if ref is None else "defined",
                "event": None if ref is None else ref.id,
            }
        defined = any(p["state"] == "defined" for p in purposes.values())
        lines.append(
            {
                "line": line.number,
                "account": owner.slug,
                "state": "defined" if defined else "not_defined",
                "purposes": purposes,
            }
        )
    return {"address": address, "channel": kind, "lines": lines}


@router.get(
    "/addresses/{address}/history",
    summary="Every event for an address, with proof",
    response_model=schemas.HistoryOut,
)
def history(
    address: str,
    who: CallerDep,
    svc: ServicesDep,
    channel: Annotated[str | None, Query(max_length=16)] = None,
) -> dict[str, Any]:
    """Events of the key's tenant whose scope is in its subtree or covers it (an
    ancestor up to the compliance boundary), oldest first, with chain hashes."""
    home = who.home
    roots = [home] if home is not None else [a for a in who.directory.accounts() if a.is_root]
    visible = who.governing_scopes()
    events: list[Event] = []
    questions: list[dict[str, Any]] = []
    lines = {line.number for line in who.lines()}
    for root in roots:
        found = svc.client.history(address, account=root.slug, channel=channel)
        events.extend(e for e in found if visible is None or e.scope in visible)
        asked = svc.client.scope_questions(address, account=root.slug, channel=channel)
        questions.extend(q.as_dict() for q in asked if q.line in lines)  # C17, C28
    return {
        "events": [event_json(e, who.directory) for e in events],
        "scope_questions": questions,
    }


@router.get(
    "/events", summary="Change feed for sync, by event id", response_model=schemas.EventPage
)
def events(
    who: CallerDep,
    svc: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Events with ``id > after`` whose scope is inside the key's subtree, in id
    order. Pass ``next`` back as ``after``; an empty page keeps the cursor."""
    found = svc.client.events_after(
        after, limit, tenant_ids=who.tenant_ids(), scopes=who.subtree_scopes()
    )
    directory = svc.client.directory()
    refs = svc.client.contact_refs(found)  # one query per page
    return {
        "events": [{**event_json(e, directory), "contact_refs": refs[e.id]} for e in found],
        "next": found[-1].id if found else after,
    }
