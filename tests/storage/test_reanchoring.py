"""Migration 0010 re-anchors v1 chains openly, on both databases.

A database is built at revision 0007 with v1-chained events in it; the upgrade
verifies each tenant's v1 chain, keeps every v1 hash, re-seals under v2 and
records an anchor row, and ``verify`` then checks both chains and the anchor.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import consentline as c
from consentline.domain.ledger import GENESIS, chain_hash, chain_payload_v1
from consentline.storage.engine import MIGRATIONS, make_engine, migrate
from tests.conftest import Clock

KEY = "k" * 40
X = "+14155550123"


def _upgrade(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _legacy_ledger(url: str, *, break_at: int | None = None) -> None:
    """Revision 0007 with one tenant, one line and three v1-chained events."""
    engine = make_engine(url)
    try:
        _upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO accounts (id, slug, tenant_id, parent_id, reach, isolated,"
                " default_region, settings, created_us) VALUES"
                " (1, 'acme', 1, NULL, 'tree', false, 'US', '{}', 0)"
            )
            conn.exec_driver_sql(
                "INSERT INTO lines (id, number, account_id, tenant_id, created_us) VALUES"
                " (1, '+18005550101', 1, 1, 0)"
            )
            head = GENESIS
            rows = []
            for seq, action in enumerate(["opt_in", "opt_out", "opt_in"], start=1):
                fields = {
                    "tenant_id": 1,
                    "address": X,
                    "channel": "sms",
                    "action": action,
                    "scope": "A1",
                    "purpose": None,
                    "topic": None,
                    "occurred_us": 1_700_000_000_000_000 + seq,
                    "recorded_us": 1_700_000_000_000_000 + seq,
                    "source": "api",
                    "proof": json.dumps({"ip": "203.0.113.7"}, separators=(",", ":")),
                    "idempotency_key": None,
                }
                digest = chain_hash(head, chain_payload_v1(**fields))
                if seq == break_at:
                    fields["source"] = "edited"
                rows.append({**fields, "seq": seq, "prev_hash": head, "hash": digest})
                head = digest
            conn.execute(
                sa.text(
                    "INSERT INTO tenants (id, chain_seq, chain_head, consent_ttl_s,"
                    " pending_ttl_s, created_us) VALUES (1, 3, :head, NULL, 86400, 0)"
                ),
                {"head": head},
            )
            meta = sa.MetaData()
            events = sa.Table("events", meta, autoload_with=conn)
            conn.execute(events.insert(), rows)
    finally:
        engine.dispose()


def test_a_v1_ledger_is_re_anchored_and_verifies(db_url: str, clock: Clock) -> None:
    _legacy_ledger(db_url)
    with c.connect(db_url, clock=clock, cache_seconds=0.0, erasure_key=KEY) as cl:
        cl.rebuild_projection("acme")  # the fixture wrote events only
        cl.set_purpose("acme", "marketing", model="restrictive")
        report = cl.verify()
        assert report.ok, report.problems
        with cl.units(write=False) as uow:
            [anchor] = uow.privacy.anchors(1)
            chain = list(uow.store.chain_rows(1))
        assert (anchor.first_seq, anchor.last_seq) == (1, 3)
        assert anchor.v1_head == chain[-1].v1_hash and anchor.v2_head == chain[-1].hash
        assert all(e.salt and e.v1_hash for e in chain)
        # The v1 hashes are still checked: editing a legacy event breaks both chains.
        with cl.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE events SET v1_hash = 'x' WHERE seq = 2")
        assert not cl.verify().ok
        with cl.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE events SET v1_hash = :h WHERE seq = 2"), {"h": chain[1].v1_hash}
            )
        assert cl.verify().ok
        # New events after the anchor carry no v1 hash; erasure of legacy events verifies.
        cl.record("+14155550999", "opt_out", account="acme")
        cl.erase(X, account="acme")
        assert cl.verify().ok, cl.verify().problems
        assert not cl.check(X, from_="+18005550101", purpose="marketing").allowed


def test_a_broken_v1_chain_is_not_re_sealed_over(db_url: str) -> None:
    _legacy_ledger(db_url, break_at=2)
    engine = make_engine(db_url)
    try:
        with pytest.raises(c.StorageError, match="does not verify at seq 2"):
            migrate(engine)
    finally:
        engine.dispose()
