"""The operator dashboard's figures, read in one unit of work (C23: counts only).

Every figure comes from something that stays small as the ledger grows, so the
dashboard costs about the same over a thousand numbers or a million
(bench/bench_webui.py):

* opt-outs per day and line: the ``opt_outs`` report (:mod:`services.reports`, the
  rollups: whole UTC days, and 15-minute slots near the local midnights);
* the newest campaign sends with their opt-out rate and spike flag:
  :func:`services.report_campaigns.latest_sends` (one index read, newest first);
* the open review queue, its size and oldest item: :func:`services.reports.review_queue`;
* the reply outbox of the subtree's lines: replies due now and waiting for a retry,
  failed and dropped, each count stopped at :data:`CAP`, and how overdue the oldest
  due reply is (all read from ``ix_outbox_due``, never from the rows already sent);
* the subtree's webhook subscriptions: delivered, failing, and how many of the
  tenant's chain events each has still to look at.

>>> board = read(uow, directory, account="acme", within="acme", now=now)  # doctest: +SKIP
>>> board.review["review_open"], board.outbox.due, board.per_line()
(3, 0, {'+18005550100': [0, 2, 0, ...]})
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

from consentline.domain.errors import InvalidInput
from consentline.domain.ledger import to_us
from consentline.domain.reports import Report, Row
from consentline.domain.scopes import Directory
from consentline.services import report_campaigns, reports, subscriptions
from consentline.services.ports import UnitOfWork
from consentline.services.subscriptions import Subscription

CAP: Final = 10_000  # outbox rows counted per state at most ("more than 10,000")
MAX_DAYS: Final = 92
LATE_S: Final = 300  # a due reply waiting longer than this: the sender is behind
ACCOUNT_WIDE: Final = "account-wide"  # opt-outs recorded on an account, not a line


@dataclass(frozen=True, slots=True)
class OutboxHealth:
    """Replies of the subtree's lines by state; a count above :attr:`cap` means
    "more than cap" (counting stops there)."""

    due: int
    waiting: int
    failed: int
    dropped: int
    oldest_due_age_s: int | None
    cap: int = CAP

    @property
    def behind(self) -> bool:
        """Has a due reply waited longer than :data:`LATE_S`? (is the sender running?)"""
        return self.oldest_due_age_s is not None and self.oldest_due_age_s > LATE_S


@dataclass(frozen=True, slots=True)
class HookHealth:
    """A webhook subscription's delivery state. ``destination`` is the URL's scheme
    and host only (a chat webhook's path is its secret); ``behind``: events of the
    tenant's chain after its cursor (an upper bound of what it has still to send)."""

    subscription: Subscription
    destination: str
    format: str
    behind: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    account: str
    timezone: str
    days: tuple[str, ...]  # the local days charted, oldest first
    opt_outs: Report  # the opt_outs report by line and day over ``days``
    sends: tuple[Row, ...]  # newest first, rows of the campaigns report
    review: Row  # review_open, review_oldest_age_s
    outbox: OutboxHealth
    hooks: tuple[HookHealth, ...]
    at: datetime

    def per_line(self) -> dict[str, list[int]]:
        """Opt-outs per day for each line that had any (account-wide ones under
        :data:`ACCOUNT_WIDE`), one count per entry of :attr:`days`, lines sorted."""
        index = {day: i for i, day in enumerate(self.days)}
        out: dict[str, list[int]] = {}
        for row in self.opt_outs.rows:
            at = index.get(str(row.get("day")))
            count = int(row.get("opt_outs") or 0)
            if at is None or not count:
                continue
            name = str(row.get("line") or ACCOUNT_WIDE)
            out.setdefault(name, [0] * len(self.days))[at] += count
        return dict(sorted(out.items()))


def read(
    uow: UnitOfWork,
    directory: Directory,
    *,
    account: str,
    within: str | None,
    now: datetime,
    days: int = 30,
    timezone: str = "UTC",
    sends: int = 10,
) -> Dashboard:
    """The dashboard of ``account``'s subtree; ``within`` is the caller's account (an
    account outside it is :class:`UnknownAccount`, as if absent)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
    zone = reports.time_zone(timezone)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    query = reports.build_query(
        directory,
        "opt_outs",
        account=account,
        by=["line"],
        bucket="day",
        timezone=timezone,
        since=datetime(first.year, first.month, first.day, tzinfo=zone),
        within=within,
        now=now,
    )
    owner = directory.account(query.account)
    ids = [
        a.id
        for a in directory.accounts()
        if a.tenant_id == owner.tenant_id and directory.is_within(a.id, owner.id)
    ]
    subtree = set(ids)
    lines = [line.number for line in directory.lines() if line.account_id in subtree]
    now_us = to_us(now)
    found = uow.inbox.outbox_health(owner.tenant_id, lines, now_us, CAP)
    outbox = OutboxHealth(
        due=found.due,
        waiting=found.waiting,
        failed=found.failed,
        dropped=found.dropped,
        oldest_due_age_s=(
            None if found.oldest_due_us is None else max(0, now_us - found.oldest_due_us) // 10**6
        ),
    )
    return Dashboard(
        account=owner.slug,
        timezone=timezone,
        days=tuple((first + timedelta(days=i)).isoformat() for i in range(days)),
        opt_outs=reports.run(uow, directory, query, now=now),
        sends=tuple(report_campaigns.latest_sends(uow, directory, owner.slug, limit=sends)),
        review=reports.review_queue(uow, directory, owner.slug, now_us),
        outbox=outbox,
        hooks=_hooks(uow, directory, owner.tenant_id, ids),
        at=now,
    )


def _hooks(
    uow: UnitOfWork, directory: Directory, tenant_id: int, account_ids: list[int]
) -> tuple[HookHealth, ...]:
    shown = subscriptions.listed(uow, directory, account_ids)
    records = {r.id: r for r in uow.hooks.of_accounts(account_ids)}
    head = uow.hooks.chain_seq(tenant_id) if shown else 0
    out = []
    for sub in shown:
        record = records.get(sub.id)
        if record is None:  # deleted between the two reads of this transaction
            continue
        out.append(
            HookHealth(
                subscription=sub,
                destination=destination(sub.url),
                format=record.format,
                behind=max(0, head - record.cursor_seq),
            )
        )
    return tuple(out)


def destination(url: str) -> str:
    """Where a subscription delivers, without what could be a secret: a URL's scheme
    and host (``https://hooks.example.com``), a mail address's domain."""
    parts = urlsplit(url)
    if parts.scheme == "mailto":
        domain = parts.path.rpartition("@")[2].split("?")[0]
        return f"mail to …@{domain}" if domain else "mail"
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}"
