"""Reading the ledger back: a number's history (C28), the change feed, and the
state of a number at a moment in the past (a point-in-time check).

Every function takes an entered unit of work and plain values; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Collection

from consentline.domain.addresses import check_channel, normalise_address
from consentline.domain.ledger import Event, encode, fold, parse_shape, to_us, widened_entries
from consentline.domain.scopes import Account
from consentline.services.ports import Row, UnitOfWork


def of_address(
    uow: UnitOfWork, owner: Account, address: str, channel: str | None = None
) -> list[Event]:
    """Every event for ``address`` in ``owner``'s tenant, oldest first (C28).

    The channel is ``email`` for an address with an ``@``, else ``sms``, unless given;
    the address is normalised in the account's default region.
    """
    kind = channel or ("email" if isinstance(address, str) and "@" in address else "sms")
    normalised = normalise_address(address, check_channel(kind), owner.default_region)
    return uow.store.history(owner.tenant_id, normalised, channel)


def feed(
    uow: UnitOfWork,
    after: int = 0,
    limit: int = 100,
    *,
    tenant_ids: Collection[int] | None = None,
    scopes: Collection[str] | None = None,
) -> list[Event]:
    """The change feed: events with ``id > after`` in id order, at most ``limit``;
    only of ``tenant_ids`` and with a scope in ``scopes`` when given."""
    return uow.api.events_after(after, limit, tenant_ids=tenant_ids, scopes=scopes)


def fold_at(
    uow: UnitOfWork,
    tenant_id: int,
    channel: str,
    address: str,
    scopes: frozenset[str],
    purpose: str,
    topic: str,
    at_us: int,
    revoke_all_us: int | None = None,
    aliases: Collection[str] = (),
) -> tuple[str, int, Row | None]:
    """The gate's slow path: the state the ledger gave ``address`` at ``at_us``,
    folded from its history (the projection only holds the present).

    ``revoke_all_us`` is the tenant's revoke-all instant for this purpose (C16):
    scoped opt-outs dated on or after it cover every purpose and topic, those
    before it keep their scope, so a moment on either side shows its own rule.
    ``aliases``: the keyed hash of an erased number, whose erased events fold with
    it (C22).
    """
    events = uow.store.history(tenant_id, address, channel)
    for alias in aliases:
        events.extend(uow.store.history(tenant_id, alias, channel))
    events.sort(key=lambda e: (e.occurred_at, e.id))
    entries = [e.entry() for e in events if to_us(e.occurred_at) <= at_us]
    projection = encode(entries)
    widened = widened_entries(entries, revoke_all_us)
    state, index = fold(parse_shape(projection.shape), scopes, purpose, topic, widened)
    return state, index, (projection.shape, projection.ids, projection.times, at_us)
