"""Library values as JSON-ready dicts: the ONE serialiser of the HTTP API and the CLI.

The shapes of the API's responses and of the CLI's ``--json`` output. An event names
where it applies (``where``) through anything that describes a scope: the
:class:`~consentline.domain.scopes.Directory` snapshot of a request, or the
:class:`~consentline.Consentline` client of a command.

>>> event_json(event, cl.directory())["where"]                # doctest: +SKIP
'account acme'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from consentline.domain.ledger import Event, EventRef
from consentline.domain.policy import Decision, event_dict
from consentline.domain.scopes import Account, Directory, Line
from consentline.services.api_keys import ApiKey
from consentline.services.inbound import InboundResult


class Places(Protocol):
    """What names a scope in words (a ``Directory``, or the client)."""

    def describe_scope(self, scope: str) -> str: ...


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


def event_json(event: Event, places: Places) -> dict[str, Any]:
    """A stored event, complete (proof and chain links included)."""
    return event.as_dict(where=places.describe_scope(event.scope))


def ref_json(ref: EventRef | None, places: Places) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {**event_dict(ref), "where": places.describe_scope(ref.scope)}


def decision_json(decision: Decision, places: Places) -> dict[str, Any]:
    """A send decision and the event that decided it (None: nothing on record)."""
    return {
        "to": decision.to,
        "allowed": decision.allowed,
        "reason": decision.reason,
        "event": ref_json(decision.event, places),
    }


def inbound_json(result: InboundResult, places: Places) -> dict[str, Any]:
    """An inbound message's outcome: classification, events, reply, review item."""
    return {
        "id": result.id,
        "duplicate": result.duplicate,
        "decided_by": result.decided_by,
        "classification": result.classification.as_dict(),
        "events": [event_json(event, places) for event in result.events],
        "reply": None if result.reply is None else result.reply.as_dict(),
        "review_id": result.review_id,
    }
