"""Library values as JSON-ready dicts (the shapes of the API's responses)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from consentline.domain.ledger import Event, EventRef
from consentline.domain.policy import Decision, event_dict
from consentline.domain.scopes import Account, Directory, Line
from consentline.services.api_keys import ApiKey
from consentline.services.inbound import InboundResult


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def account_json(account: Account, directory: Directory) -> dict[str, Any]:
    parent = None if account.parent_id is None else directory.account_by_id(account.parent_id)
    return {
        "id": account.id,
        "slug": account.slug,
        "parent": None if parent is None else parent.slug,
        "tenant": directory.account_by_id(account.tenant_id).slug,
        "reach": account.reach,
        "effective_reach": directory.effective_reach(account.id),
        "isolated": account.isolated,
        "default_region": account.default_region,
    }


def line_json(line: Line, directory: Directory) -> dict[str, Any]:
    return {
        "id": line.id,
        "number": line.number,
        "account": directory.account_by_id(line.account_id).slug,
    }


def key_json(key: ApiKey, directory: Directory) -> dict[str, Any]:
    account = None if key.account_id is None else directory.account_by_id(key.account_id).slug
    return {
        "id": key.id,
        "prefix": key.prefix,
        "account": account,
        "role": key.role,
        "created_at": iso(key.created_at),
        "revoked_at": iso(key.revoked_at),
    }


def event_json(event: Event, directory: Directory) -> dict[str, Any]:
    """A stored event, complete (proof and chain links included)."""
    return event.as_dict(where=directory.describe_scope(event.scope))


def ref_json(ref: EventRef | None, directory: Directory) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {**event_dict(ref), "where": directory.describe_scope(ref.scope)}


def decision_json(decision: Decision, directory: Directory) -> dict[str, Any]:
    return {
        "to": decision.to,
        "allowed": decision.allowed,
        "reason": decision.reason,
        "event": ref_json(decision.event, directory),
    }


def inbound_json(result: InboundResult, directory: Directory) -> dict[str, Any]:
    return {
        "id": result.id,
        "duplicate": result.duplicate,
        "decided_by": result.decided_by,
        "classification": result.classification.as_dict(),
        "events": [event_json(event, directory) for event in result.events],
        "reply": None if result.reply is None else result.reply.as_dict(),
        "review_id": result.review_id,
    }
