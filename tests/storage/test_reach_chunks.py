"""The chunked reach of campaign sends: its codec, and migration 0015 on both databases
(the old per-address rows moved into chunks, and back on a downgrade)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from consentline.storage import reach_chunks
from consentline.storage.campaigns import CampaignStore
from consentline.storage.engine import MIGRATIONS, make_engine

NUMBERS = [f"+1415555{n:04d}" for n in range(1000, 1100)]


def test_a_chunk_holds_exactly_its_addresses() -> None:
    data, size = reach_chunks.encode(NUMBERS[:50])
    assert size == 50
    text = reach_chunks.decode(data)
    assert reach_chunks.addresses_of(text) == NUMBERS[:50]
    few = [NUMBERS[0], NUMBERS[49], NUMBERS[50], NUMBERS[0][:-1]]  # searched one by one
    assert reach_chunks.members(text, few) == {NUMBERS[0], NUMBERS[49]}
    many = NUMBERS[25:100]  # enough probes to split the chunk into a set
    assert len(many) >= reach_chunks._SET_FROM
    assert reach_chunks.members(text, many) == set(NUMBERS[25:50])
    # No partial match: a prefix or suffix of a stored address is not held.
    assert reach_chunks.members(text, [NUMBERS[1][1:], NUMBERS[1] + "0"]) == set()


def test_an_empty_chunk_and_an_address_with_a_newline() -> None:
    assert reach_chunks.addresses_of(reach_chunks.decode(reach_chunks.encode([])[0])) == []
    data, size = reach_chunks.encode(["a@example.com", "b\nc", "d@example.com"])
    assert size == 2
    text = reach_chunks.decode(data)
    assert reach_chunks.addresses_of(text) == ["a@example.com", "d@example.com"]
    assert reach_chunks.members(text, ["b", "c", "b\nc"]) == set()


def _alembic(engine: sa.Engine, step: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, step)(config, revision)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    made = make_engine(db_url)
    try:
        yield made
    finally:
        made.dispose()


def _send(conn: sa.Connection, send_id: int, kind: str, sent_us: int) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO campaign_sends (id, tenant_id, account_id, line_id, campaign, purpose,"
            " channel, kind, status, sent_us, last_us, recipients, allowed, opt_outs)"
            " VALUES (:id, 1, 1, 7, 'c', 'marketing', 'sms', :kind, 'complete', :us, :us,"
            " 0, 0, 0)"
        ),
        {"id": send_id, "kind": kind, "us": sent_us},
    )


def test_migration_0015_moves_the_reach_into_chunks_and_back(engine: sa.Engine) -> None:
    _alembic(engine, "upgrade", "0014")
    big = [f"+1212{n:07d}" for n in range(50_001)]  # one chunk more than full
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO accounts (id, slug, tenant_id, reach, isolated, settings,"
                " created_us) VALUES (1, 'acme', 1, 'tree', false, '{}', 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO tenants (id, chain_seq, chain_head, pending_ttl_s, created_us)"
                " VALUES (1, 0, :genesis, 172800, 0)"
            ),
            {"genesis": "0" * 64},
        )
        _send(conn, 1, "bulk", 1_000)
        _send(conn, 2, "gateway", 2_000)
        insert = sa.text(
            "INSERT INTO campaign_reach (tenant_id, channel, address, line_id, send_id, sent_us)"
            " VALUES (1, 'sms', :a, 7, :send, :us)"
        )
        conn.execute(insert, [{"a": a, "send": 1, "us": 1_000} for a in big])
        # The gateway send reached its numbers one message at a time.
        conn.execute(insert, [{"a": a, "send": 2, "us": 2_000 + i} for i, a in enumerate(NUMBERS)])
    _alembic(engine, "upgrade", "0015")
    with engine.connect() as conn:
        assert "campaign_reach" not in sa.inspect(conn).get_table_names()
        rows = conn.execute(
            sa.text(
                "SELECT send_id, chunk, line_id, first_us, last_us, size, data"
                " FROM campaign_reach_chunks ORDER BY send_id, chunk"
            )
        ).all()
        assert [(r.send_id, r.chunk, r.size) for r in rows] == [
            (1, 0, 50_000),
            (1, 1, 1),
            (2, 0, len(NUMBERS)),
        ]
        assert {r.line_id for r in rows} == {7}
        assert (rows[2].first_us, rows[2].last_us) == (2_000, 2_000 + len(NUMBERS) - 1)
        held = [a for r in rows[:2] for a in reach_chunks.addresses_of(reach_chunks.decode(r.data))]
        assert sorted(held) == big
        store = CampaignStore(conn)
        assert store.reached(1, [big[0], big[-1], NUMBERS[5], "+14155550000"]) == {
            big[0],
            big[-1],
            NUMBERS[5],
        }
    _alembic(engine, "downgrade", "0014")
    with engine.connect() as conn:
        back = conn.execute(
            sa.text("SELECT address, send_id, sent_us FROM campaign_reach WHERE send_id = 2")
        ).all()
        assert "campaign_reach_chunks" not in sa.inspect(conn).get_table_names()
        total = conn.execute(sa.text("SELECT count(*) FROM campaign_reach")).scalar_one()
    assert sorted(r.address for r in back) == NUMBERS
    assert {r.sent_us for r in back} == {2_000 + len(NUMBERS) - 1}  # the chunk's last time
    assert total == len(big) + len(NUMBERS)
