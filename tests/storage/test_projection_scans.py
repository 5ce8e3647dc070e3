"""Campaign-sized reads of the projection (fastpath): the scan and the shape groups.

On SQLite a tenant holding a quarter of the table or more is read in one pass over the
whole table (``NOT INDEXED``) rather than through the primary-key index; either way
exactly the tenant's rows of the channel come back. ``shape_groups`` gives the same
rows grouped by shape, or None where the grouped read cannot be trusted.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from consentline import Consentline

LINE = "+18005550100"
OTHER_LINE = "+18005550200"
ACME = [f"+1415555{n:04d}" for n in range(100, 130)]
GLOBEX = [f"+1212555{n:04d}" for n in range(100, 106)]


@pytest.fixture
def two(cl: Consentline) -> Consentline:
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    cl.create_account("globex", default_region="US")
    cl.add_line(OTHER_LINE, account="globex")
    for i, number in enumerate(ACME):
        cl.record(number, "opt_in", account="acme", purpose="marketing", source="api")
        if i % 3 == 0:
            cl.record(number, "opt_out", line=LINE, source="keyword")
    cl.record("pat@example.com", "opt_in", account="acme", purpose="marketing", channel="email")
    for number in GLOBEX:
        cl.record(number, "opt_out", account="globex", source="keyword")
    return cl


def _tenant(cl: Consentline, slug: str) -> int:
    return cl.directory().account(slug).tenant_id


@pytest.mark.parametrize("rows", [None, 1, 10**6], ids=["counted", "index", "whole-table"])
def test_the_scan_returns_exactly_the_tenants_rows_of_the_channel(
    two: Consentline, rows: int | None
) -> None:
    reader = two._reader
    acme, globex = _tenant(two, "acme"), _tenant(two, "globex")
    table = reader.scan_table(acme, "sms", rows)
    assert sorted(table) == sorted(ACME)
    assert all(row[0] == address for address, row in table.items())
    assert table == reader.get_many(acme, "sms", ACME)
    assert sorted(reader.scan_table(globex, "sms", rows)) == sorted(GLOBEX)
    assert list(reader.scan_table(acme, "email", rows)) == ["pat@example.com"]


@pytest.mark.parametrize("rows", [None, 1, 10**6], ids=["counted", "index", "whole-table"])
def test_shape_groups_are_the_scanned_rows_grouped_by_shape(
    two: Consentline, rows: int | None
) -> None:
    reader = two._reader
    acme = _tenant(two, "acme")
    groups = reader.shape_groups(acme, "sms", rows)
    assert groups is not None
    expected: dict[str, set[str]] = {}
    for address, row in reader.scan_table(acme, "sms").items():
        expected.setdefault(row[1], set()).add(address)
    assert {shape: set(addresses) for shape, addresses in groups} == expected
    assert sum(len(addresses) for _, addresses in groups) == len(ACME)
    assert len(expected) == 2  # opted in; opted in then out


def test_shape_groups_give_way_when_an_address_would_split_wrongly(two: Consentline) -> None:
    acme = _tenant(two, "acme")
    with two.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO consent_state (tenant_id, channel, address, shape, ids, times,"
                " max_us) VALUES (:t, 'sms', :a, 'x', '', '', 0)"
            ),
            {"t": acme, "a": "bad\nrow"},
        )
    assert two._reader.shape_groups(acme, "sms") is None


def test_shape_groups_give_way_for_a_tenant_with_erasures(db_url: str) -> None:
    import consentline

    cl = consentline.connect(db_url, cache_seconds=0.0, erasure_key="k" * 32)
    try:
        cl.create_account("acme", default_region="US")
        cl.add_line(LINE, account="acme")
        for number in ACME[:3]:
            cl.record(number, "opt_out", account="acme", source="keyword")
        cl.erase(ACME[0], account="acme")
        assert cl._reader.shape_groups(_tenant(cl, "acme"), "sms") is None
    finally:
        cl.close()
