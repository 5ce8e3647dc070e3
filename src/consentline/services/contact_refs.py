"""Contact references read alongside events: the change feed, webhook deliveries and
exports carry each event's address's references, looked up in one query per page
(per tenant and channel present), never one per event.

>>> refs = events_refs(uow, page)                         # doctest: +SKIP
>>> refs[page[0].id]
[{'system': 'salesforce', 'ref': '003xx00000Abc'}]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from consentline.domain.contact_refs import parse_contact_ref
from consentline.domain.ledger import Event, decode
from consentline.domain.scopes import Directory, parse_scope
from consentline.services.ports import UnitOfWork

RefList = list[dict[str, str]]


def events_refs(uow: UnitOfWork, events: Sequence[Event]) -> dict[int, RefList]:
    """Each event id -> the references of its address (``[]`` when it has none)."""
    groups: dict[tuple[int, str], set[str]] = {}
    for event in events:
        groups.setdefault((event.tenant_id, event.channel), set()).add(event.address)
    found: dict[tuple[int, str, str], RefList] = {}
    for (tenant_id, channel), addresses in groups.items():
        for address, pairs in uow.refs.of_addresses(tenant_id, channel, addresses).items():
            found[(tenant_id, channel, address)] = [{"system": s, "ref": r} for s, r in pairs]
    return {
        event.id: found.get((event.tenant_id, event.channel, event.address), []) for event in events
    }


def addresses_of(
    uow: UnitOfWork, tenant_id: int, refs: Iterable[str]
) -> dict[str, list[tuple[str, str]]]:
    """Each reference text (``system:ref`` or bare: any system) -> the
    ``(channel, address)`` pairs it points at."""
    out: dict[str, list[tuple[str, str]]] = {}
    for text in refs:
        parsed = parse_contact_ref(text)
        system = None if ":" not in text.strip() else parsed.system
        out[text] = uow.refs.find(tenant_id, parsed.ref, system)
    return out


def addresses_in_subtree(
    uow: UnitOfWork, directory: Directory, home_id: int, ref: str
) -> list[tuple[str, str]]:
    """:func:`addresses_of` one reference, kept to the addresses that have consent
    on record inside the subtree of account ``home_id`` (an event at an account in
    it, or at one of its lines): references are stored per tenant, and a sub-account
    must not learn the number behind a sibling's record id. One read of the
    projection rows of what the reference points at."""
    tenant_id = directory.account_by_id(home_id).tenant_id
    pairs = addresses_of(uow, tenant_id, [ref])[ref]
    if not pairs or directory.account_by_id(home_id).is_root:
        return pairs  # the tenant's root reaches every address of the tenant
    state = uow.store.load_state((tenant_id, channel, address) for channel, address in pairs)

    def inside(scope_text: str) -> bool:
        scope = parse_scope(scope_text)
        if scope.is_line:
            if not directory.has_line_id(scope.id):
                return False
            return directory.is_within(directory.line_by_id(scope.id).account_id, home_id)
        return directory.is_within(scope.id, home_id)

    kept = []
    for channel, address in pairs:
        found = state.get((tenant_id, channel, address))
        entries = decode(found.shape, found.ids, found.times) if found is not None else []
        if any(inside(e.scope) for e in entries):
            kept.append((channel, address))
    return kept
