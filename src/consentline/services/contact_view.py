"""One number as an operator sees it: its references, history (a page of it), inbound
messages with their classification, and the replies sent to it (C28).

What :func:`consentline.services.exports.subject_export` gathers, within one account's
subtree, but with the history paginated (newest first) so that a number with
thousands of events renders one page, not all of them; the events are read by the
history index, a page at a time.

>>> with cl.units(write=False) as uow:                        # doctest: +SKIP
...     view = contact_view(uow, directory, home=acme, address="+14155550101", page=1)
>>> view.total_events, len(view.events)
(5000, 50)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from consentline.domain.addresses import check_channel, normalise_address
from consentline.domain.ledger import Event, EventRef, from_us
from consentline.domain.policy import Decision
from consentline.domain.scopes import Account, Directory, Line, account_scope
from consentline.services.exports import subtree, subtree_scopes
from consentline.services.ports import UnitOfWork

PER_PAGE: Final = 50
MOST_MESSAGES: Final = 200  # inbound messages and replies shown (newest)


@dataclass(frozen=True, slots=True)
class ContactView:
    address: str
    channel: str
    refs: list[tuple[str, str]]
    events: list[Event]
    total_events: int
    page: int
    pages: int
    inbound: list[dict[str, Any]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)


def normalised(address: str, channel: str | None, home: Account) -> tuple[str, str]:
    """``(address in canonical form, channel)``; :class:`InvalidAddress` if it is none."""
    kind = channel or ("email" if "@" in address else "sms")
    return normalise_address(address, check_channel(kind), home.default_region), kind


def contact_view(
    uow: UnitOfWork,
    directory: Directory,
    *,
    home: Account,
    address: str,
    channel: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> ContactView:
    """What ``home``'s subtree holds about ``address`` on ``channel`` (default: sms, or
    email for an address with ``@``); events are those whose scope is in the subtree
    or governs it, newest first, ``per_page`` a page (one count and one page read by
    the history index, never the whole history)."""
    number, kind = normalised(address, channel, home)
    tenant_id = home.tenant_id
    accounts, lines = subtree(directory, home)
    account_ids = {a.id for a in accounts}
    numbers = {line.number for line in lines}
    visible = subtree_scopes(directory, home)
    visible.update(account_scope(a.id) for a in directory.within_boundary(home.id))
    total = uow.pages.history_count(tenant_id, number, kind, visible)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    newest_first = uow.pages.history_page(
        tenant_id, number, kind, visible, offset=(page - 1) * per_page, limit=per_page
    )
    by_line = {line.id: line.number for line in lines}
    inbound = [
        {
            "id": m.id,
            "line": by_line.get(m.line_id, ""),
            "provider": m.provider,
            "received_at": from_us(m.received_us),
            "body": m.body,
            "classification": json.loads(m.classification),
            "events": [int(i) for i in m.event_ids.split(";") if i],
        }
        for m in uow.exports.inbound_of(tenant_id, number, kind)
        if m.account_id in account_ids
    ][-MOST_MESSAGES:][::-1]
    replies = [
        {
            "id": r.id,
            "kind": r.kind,
            "from_line": r.from_line,
            "body": r.body,
            "created_at": from_us(r.created_us),
            "status": r.status,
        }
        for r in uow.exports.outbox_to(tenant_id, number, kind)
        if r.from_line in numbers
    ][-MOST_MESSAGES:][::-1]
    refs = uow.refs.of_addresses(tenant_id, kind, [number]).get(number, [])
    return ContactView(
        address=number,
        channel=kind,
        refs=list(refs),
        events=newest_first,
        total_events=total,
        page=page,
        pages=pages,
        inbound=inbound,
        replies=replies,
    )


def when(moment: datetime | None) -> str:
    """A time as the pages print it: UTC, to the second."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True, slots=True)
class LineStatus:
    """A number's status on one line for one purpose, and the event that decided it."""

    line: str
    account: str
    purpose: str
    status: str  # opted_in, opted_out, pending, expired, lapsed, Not Defined
    allowed: bool
    reason: str
    event: EventRef | None


NOT_DEFINED: Final = "Not Defined"


def status_of(decision: Decision) -> str:
    """The status a decision shows: ``Not Defined`` when no event decided (the send
    then gets the purpose's default), else what the deciding event made it."""
    ref = decision.event
    if ref is None:
        return NOT_DEFINED
    if ref.action == "opt_out":
        return "opted_out"
    if ref.action == "opt_in":
        return "expired" if decision.reason == "consent_expired" else "opted_in"
    if ref.action == "pending":
        return "pending"
    if ref.action == "lapse":
        return "lapsed"
    return str(ref.action)


def line_statuses(
    check: Callable[..., Decision],
    lines: Sequence[tuple[Line, Account, Sequence[str]]],
    address: str,
    channel: str,
) -> list[LineStatus]:
    """The status on every (line, purpose): ``check`` is the send gate's check."""
    out: list[LineStatus] = []
    for line, account, purposes in lines:
        for purpose in purposes:
            decision = check(address, from_=line.number, purpose=purpose, channel=channel)
            out.append(
                LineStatus(
                    line=line.number,
                    account=account.slug,
                    purpose=purpose,
                    status=status_of(decision),
                    allowed=decision.allowed,
                    reason=decision.reason,
                    event=decision.event,
                )
            )
    return out
