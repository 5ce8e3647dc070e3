"""Outbound webhook subscriptions: who is told about consent changes, and where.

A subscription belongs to an account and receives the events of that account's
subtree, plus those recorded on its ancestors up to the compliance boundary (a
tenant-wide opt-out changes what the subtree may send, so its subscribers must
hear of it). ``events`` filters by action: ``["*"]`` or any of ``opt_in``,
``opt_out``, ``resume``, ``lapse``, ``pending``.

The secret that signs deliveries is generated here and returned once, when the
subscription is created; it is stored because every delivery is signed with it,
and never shown again (see :mod:`consentline.domain.signing`).

A new subscription starts at the tenant's current chain head: it hears of changes
from now on. Earlier events are in the change feed (``GET /v1/events``).

>>> with UnitOfWork(engine) as uow:                             # doctest: +SKIP
...     sub, secret = create(uow, directory, account_id=1,
...                          url="https://crm.example.com/hooks", events=["opt_out"], now=now)
...     uow.commit()
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from consentline.domain import outbound
from consentline.domain.errors import InvalidInput, TooManySubscriptions, UnknownSubscription
from consentline.domain.ledger import ACTIONS, Event, from_us, to_us
from consentline.domain.outbound import OutboundAllow
from consentline.domain.scopes import Directory, parse_scope
from consentline.services.alerts import ALERT_KINDS, check_format, check_mailto
from consentline.services.ports import UnitOfWork

MAX_PER_ACCOUNT: Final = 25
MAX_URL: Final = 2048
ALL: Final = "*"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as shown to its owner (never with its secret)."""

    id: int
    account: str
    url: str
    events: tuple[str, ...]
    created_at: datetime
    delivered: int
    failures: int
    last_error: str | None
    last_success_at: datetime | None
    next_attempt_at: datetime

    @property
    def status(self) -> str:
        """``active``, or ``retrying`` while deliveries to the URL keep failing."""
        return "retrying" if self.failures else "active"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account": self.account,
            "url": self.url,
            "events": list(self.events),
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "delivered": self.delivered,
            "failures": self.failures,
            "last_error": self.last_error,
            "last_success_at": (self.last_success_at.isoformat() if self.last_success_at else None),
            "next_attempt_at": self.next_attempt_at.isoformat() if self.failures else None,
        }


def check_url(url: str, *, allow: OutboundAllow = outbound.NOTHING) -> str:
    """An absolute http(s) URL without credentials or fragment, to a host the outbound
    policy lets deliveries reach (:func:`consentline.domain.outbound.check_url`)."""
    return outbound.check_url(url, field="url", allow=allow)


def check_events(events: Sequence[str]) -> tuple[str, ...]:
    """``("*",)`` or a sorted, de-duplicated tuple of ledger actions."""
    if isinstance(events, str) or not events:
        raise InvalidInput('events is a non-empty list: ["*"] or actions such as "opt_out"')
    chosen = set(events)
    if ALL in chosen:
        if len(chosen) > 1:
            raise InvalidInput('"*" already means every event; list nothing beside it')
        return (ALL,)
    unknown = sorted(str(e) for e in chosen if e not in ACTIONS and e not in ALERT_KINDS)
    if unknown:
        raise InvalidInput(
            f"unknown event types {unknown}; expected * or {', '.join(ACTIONS + ALERT_KINDS)}",
            events=unknown,
        )
    return tuple(sorted(chosen))


def _subscription(row: Any, directory: Directory) -> Subscription:
    return Subscription(
        id=int(row.id),
        account=directory.account_by_id(int(row.account_id)).slug,
        url=row.url,
        events=tuple(str(row.events).split(",")),
        created_at=from_us(int(row.created_us)),
        delivered=int(row.delivered),
        failures=int(row.attempts),
        last_error=row.last_error,
        last_success_at=(
            from_us(int(row.last_success_us)) if row.last_success_us is not None else None
        ),
        next_attempt_at=from_us(int(row.next_attempt_us)),
    )


def create(
    uow: UnitOfWork,
    directory: Directory,
    *,
    account_id: int,
    url: str,
    events: Sequence[str],
    now: datetime,
    allow: OutboundAllow = outbound.NOTHING,
    format: str = "json",
) -> tuple[Subscription, str]:
    """Store a subscription; returns it and its signing secret (shown this once).

    ``allow`` is the installation's exceptions to the outbound policy: a URL to a
    loopback, private or link-local address is refused unless it lists it.
    """
    check_format(format, url)
    url = check_mailto(url) if format == "email" else check_url(url, allow=allow)
    chosen = check_events(events)
    account = directory.account_by_id(account_id)
    if len(uow.hooks.of_accounts([account_id])) >= MAX_PER_ACCOUNT:
        raise TooManySubscriptions(
            f"an account has at most {MAX_PER_ACCOUNT} webhook subscriptions",
            account=account.slug,
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    now_us = to_us(now)
    new_id = uow.hooks.insert(
        tenant_id=account.tenant_id,
        account_id=account_id,
        url=url,
        events=",".join(chosen),
        secret=secret,
        created_us=now_us,
        deleted_us=None,
        cursor_seq=uow.hooks.chain_seq(account.tenant_id),
        delivered=0,
        attempts=0,
        next_attempt_us=now_us,
        lease_until_us=None,
        last_error=None,
        last_success_us=None,
        format=format,
        alert_cursor=uow.campaigns.last_alert_id(account.tenant_id),
    )
    row = uow.hooks.get(new_id)
    assert row is not None
    return _subscription(row, directory), secret


def listed(
    uow: UnitOfWork, directory: Directory, account_ids: Sequence[int] | None
) -> list[Subscription]:
    """The live subscriptions of ``account_ids`` (None: every account)."""
    rows = uow.hooks.of_accounts(None if account_ids is None else list(account_ids))
    return [_subscription(r, directory) for r in rows]


def found(uow: UnitOfWork, subscription_id: int, *, visible: set[int] | None) -> Any:
    """The live subscription row, if its account is ``visible`` (None: all)."""
    row = uow.hooks.get(subscription_id)
    if row is None or (visible is not None and int(row.account_id) not in visible):
        raise UnknownSubscription(
            f"no webhook subscription {subscription_id}", subscription=subscription_id
        )
    return row


def get(
    uow: UnitOfWork, directory: Directory, subscription_id: int, *, visible: set[int] | None
) -> Subscription:
    return _subscription(found(uow, subscription_id, visible=visible), directory)


def delete(
    uow: UnitOfWork, subscription_id: int, *, visible: set[int] | None, now: datetime
) -> None:
    """Stop deliveries; the row stays (deleted) as a record of who was told what."""
    found(uow, subscription_id, visible=visible)
    uow.hooks.delete(subscription_id, to_us(now))


def covers(directory: Directory, account_id: int, event: Event) -> bool:
    """Does an event belong to what a subscription on ``account_id`` hears about?

    Events on the account's subtree (its and its descendants' lines and accounts),
    and account-wide events of its ancestors up to the compliance boundary, which
    govern its lines. A line event of an ancestor's own line is not the subtree's.
    """
    kind, ident = parse_scope(event.scope)
    if kind == "line":
        if not directory.has_line_id(ident):
            return False
        owner = directory.line_by_id(ident).account_id
        return directory.is_within(owner, account_id)
    if not directory.has_account_id(ident):
        return False
    if directory.is_within(ident, account_id):
        return True  # an account of the subtree
    # An ancestor's account-wide event governs the subtree's lines, up to the boundary.
    return any(a.id == ident for a in directory.within_boundary(account_id))


def wanted(events: tuple[str, ...], event: Event) -> bool:
    return events == (ALL,) or event.action in events


__all__ = [
    "Subscription",
    "TooManySubscriptions",
    "UnknownSubscription",
    "check_events",
    "check_url",
    "covers",
    "create",
    "delete",
    "get",
    "listed",
    "wanted",
]
