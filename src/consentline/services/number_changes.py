"""A number changed: the consents its old holder gave end there (docs/lifecycle.md).

``change_number(old, new)`` appends one ``lapse`` (source ``number_change``) for
every opt-in or pending request ``old`` still holds within the caller's subtree,
with proof naming the new number. Opt-outs stay with ``old``: a lapse never clears
one (the fold's own rule), so the suppression keeps protecting whoever holds that
number next. Nothing is written for ``new``: its holder must consent there again.

The lapses carry idempotency keys derived from the two numbers and the consent
they end, so running the same change twice appends nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from consentline.domain.addresses import check_channel, normalise_address
from consentline.domain.errors import InvalidInput, UnknownAccount, UnknownLine
from consentline.domain.ledger import Entry, Event, decode
from consentline.domain.lifecycle import NUMBER_CHANGE_SOURCE, held, lapse_key
from consentline.domain.policy import TenantPolicy
from consentline.domain.scopes import Account, Directory, parse_scope
from consentline.services import recording
from consentline.services.ports import UnitOfWork
from consentline.services.recording import RecordRequest


@dataclass(frozen=True, slots=True)
class NumberChange:
    """What :func:`change_number` did: the lapses it appended (empty on a re-run)."""

    old: str
    new: str
    channel: str
    lapsed: tuple[Event, ...]
    replayed: int  # lapses a previous run of the same change had already appended

    def as_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "channel": self.channel,
            "lapsed": [
                {
                    "event_id": e.id,
                    "scope": e.scope,
                    "purpose": e.purpose,
                    "topic": e.topic,
                    "lapsed_event": e.proof.get("lapsed_event"),
                }
                for e in self.lapsed
            ],
            "replayed": self.replayed,
        }


def subtree_filter(directory: Directory, home: Account) -> Callable[[str], bool]:
    """A predicate on scope keys: does the scope lie in ``home``'s subtree?"""

    def keep(scope: str) -> bool:
        try:
            return directory.is_within(directory.scope_account(scope), home.id)
        except (UnknownAccount, UnknownLine):
            return False

    return keep


def lapse_request(
    directory: Directory,
    address: str,
    channel: str,
    entry: Entry,
    *,
    source: str,
    proof: Mapping[str, Any],
    key: str,
    occurred_at: datetime | None,
    within: str,
) -> RecordRequest:
    """The ``lapse`` that ends the consent ``entry`` gave, at the same key."""
    kind, ident = parse_scope(entry.scope)
    line = directory.line_by_id(ident).number if kind == "line" else None
    account = None if line is not None else directory.account_by_id(ident).slug
    return RecordRequest(
        address=address,
        action="lapse",
        account=account,
        line=line,
        purpose=entry.purpose or None,
        topic=entry.topic or None,
        channel=channel,
        source=source,
        proof=proof,
        occurred_at=occurred_at,
        idempotency_key=key,
        within=within,
    )


def change_number(
    uow: UnitOfWork,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    *,
    old: str,
    new: str,
    account: str,
    channel: str = "sms",
    now: datetime,
) -> NumberChange:
    """Lapse every consent ``old`` holds in ``account``'s subtree; commit once.

    >>> cl.change_number("+14155550101", "+14155550199", account="acme")  # doctest: +SKIP
    NumberChange(old='+14155550101', new='+14155550199', ..., lapsed=(Event(...),), replayed=0)
    """
    home = directory.account(account)
    checked = check_channel(channel)
    if checked == "email":
        raise InvalidInput("a number change needs a phone channel (sms or whatsapp)")
    old_address = normalise_address(old, checked, home.default_region)
    new_address = normalise_address(new, checked, home.default_region)
    if old_address == new_address:
        raise InvalidInput("the old and the new number are the same number", field="new")
    key = (home.tenant_id, checked, old_address)
    found = uow.store.load_state([key]).get(key)
    entries = decode(found.shape, found.ids, found.times) if found is not None else []
    requests = [
        lapse_request(
            directory,
            old_address,
            checked,
            entry,
            source=NUMBER_CHANGE_SOURCE,
            proof={"changed_to": new_address, "lapsed_event": entry.id},
            key=lapse_key(
                "number-change",
                home.tenant_id,
                checked,
                old_address,
                new_address,
                entry.scope,
                entry.purpose,
                entry.topic,
                entry.id,
            ),
            occurred_at=None,
            within=home.slug,
        )
        for entry in held(entries, subtree_filter(directory, home))
    ]
    results = recording.append_results(uow, directory, policies, requests, now=now)
    uow.commit()
    return NumberChange(
        old_address,
        new_address,
        checked,
        tuple(r.event for r in results if not r.replayed),
        sum(1 for r in results if r.replayed),
    )
