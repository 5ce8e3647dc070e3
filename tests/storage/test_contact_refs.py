"""The ``contact_refs`` table on SQLite and PostgreSQL: adding is idempotent, reads
by address and by reference, erasure deletes an address's references."""

from __future__ import annotations

from pathlib import Path

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


def test_a_sub_account_finds_only_the_references_of_its_own_subtree(cl: Consentline) -> None:
    """References are stored per tenant; a sub-account (an operator's search box)
    learns the number behind a record id only when that number has consent on
    record in its subtree: at one of its accounts or lines."""
    cl.create_account("acme", default_region="US")
    cl.create_account("east", parent="acme")
    cl.create_account("west", parent="acme")
    cl.create_account("east-shop", parent="east")
    cl.add_line("+18005550100", account="east-shop")
    cl.record(X, "opt_in", account="west", contact_ref="sf:003A")  # a sibling's customer
    cl.record(X, "opt_out", account="acme")  # at the root: not an event inside east
    cl.record(Y, "opt_out", line="+18005550100", contact_ref="sf:003B")  # below east
    cl.record(Y, "opt_in", account="acme", contact_ref="sf:003A")  # the same id, at the root
    assert sorted(cl.find_contact_ref("sf:003A", account="acme")) == [("sms", X), ("sms", Y)]
    assert cl.find_contact_ref("sf:003A", account="west") == [("sms", X)]
    # Y is east's too (its line's opt-out), whichever event gave it the id; X is not.
    assert cl.find_contact_ref("sf:003A", account="east") == [("sms", Y)]
    assert cl.find_contact_ref("sf:003B", account="east") == [("sms", Y)]
    assert cl.find_contact_ref("sf:003B", account="west") == []
    assert cl.find_contact_ref("sf:nothing", account="east") == []


def test_an_import_and_its_re_run_on_each_database(cl: Consentline, tmp_path: Path) -> None:
    cl.create_account("acme", default_region="US")
    cl.add_line("+18005550100", account="acme")
    path = tmp_path / "list.csv"
    path.write_text(
        "Id,Phone,Opted Out\n"
        + "".join(
            f"00{n},+1415555{n:04d},{'true' if n % 3 else 'false'}\n" for n in range(200, 230)
        )
    )
    mapping = {"address": "Phone", "contact_ref.salesforce": "Id"}
    first = cl.import_records(
        path, account="acme", mapping=mapping, preset="legacy-opt-out:Opted Out", chunk_size=7
    )
    assert (first.written, first.errors) == (30, 0)
    again = cl.import_records(
        path, account="acme", mapping=mapping, preset="legacy-opt-out:Opted Out", chunk_size=7
    )
    assert (again.written, again.unchanged) == (0, 30)
    page = cl.events_after(0, 100)
    assert [e.seq for e in page] == list(range(1, 31))
    assert cl.contact_refs(page)[page[0].id] == [{"system": "salesforce", "ref": "00200"}]
    assert cl.verify().ok
