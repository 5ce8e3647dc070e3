"""The ``contact_refs`` table on SQLite and PostgreSQL: adding is idempotent, reads
by address and by reference, erasure deletes an address's references."""

from __future__ import annotations

from consentline import Consentline

X, Y = "+14155550101", "+14155550102"


def row(tenant_id: int, address: str, system: str, ref: str) -> dict[str, object]:
    return {
        "tenant_id": tenant_id,
        "channel": "sms",
        "address": address,
        "system": system,
        "ref": ref,
        "created_us": 1,
    }


def test_refs_are_added_once_read_by_address_and_by_ref_and_deleted(cl: Consentline) -> None:
    tenant = cl.create_account("acme", default_region="US").tenant_id
    other = cl.create_account("globex", default_region="US").tenant_id
    with cl.units() as uow:
        uow.refs.add([row(tenant, X, "sf", "003A"), row(tenant, X, "default", "7")])
        uow.refs.add([row(tenant, X, "sf", "003A"), row(tenant, X, "sf", "003A")])  # ignored
        uow.refs.add([row(tenant, Y, "sf", "003B"), row(other, X, "sf", "003A")])
        uow.commit()
    with cl.units(write=False) as uow:
        assert uow.refs.of_addresses(tenant, "sms", [X, Y, "+14155550199"]) == {
            X: [("default", "7"), ("sf", "003A")],
            Y: [("sf", "003B")],
        }
        assert uow.refs.of_addresses(tenant, "email", [X]) == {}
        assert uow.refs.find(tenant, "003A") == [("sms", X)]
        assert uow.refs.find(tenant, "003A", "sf") == [("sms", X)]
        assert uow.refs.find(tenant, "003A", "hubspot") == []
    with cl.units() as uow:
        assert uow.refs.delete_address(tenant, "sms", X) == 2
        uow.commit()
    with cl.units(write=False) as uow:
        assert uow.refs.of_addresses(tenant, "sms", [X, Y]) == {Y: [("sf", "003B")]}
        assert uow.refs.of_addresses(other, "sms", [X]) == {X: [("sf", "003A")]}


def test_record_stores_refs_and_the_feed_carries_them(cl: Consentline) -> None:
    cl.create_account("acme", default_region="US")
    cl.set_purpose("acme", "marketing", "restrictive")
    first = cl.record(X, "opt_in", account="acme", purpose="marketing", contact_ref="sf:003A")
    cl.record(X, "opt_out", account="acme", contact_ref=["sf:003A", "42"])
    cl.record(Y, "opt_out", account="acme")
    page = cl.events_after(0, 10)
    refs = cl.contact_refs(page)
    assert refs[first.id] == [{"system": "default", "ref": "42"}, {"system": "sf", "ref": "003A"}]
    assert refs[page[-1].id] == []
    assert cl.find_contact_ref("sf:003A", account="acme") == [("sms", X)]
    assert cl.find_contact_ref("42", account="acme") == [("sms", X)]
