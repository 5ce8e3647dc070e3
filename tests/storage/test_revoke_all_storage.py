"""The tenant's revoke-all date (C16) on SQLite and PostgreSQL: migration 0011 and round trips."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import consentline
from consentline import Consentline
from consentline.storage.engine import MIGRATIONS, make_engine
from tests.conftest import Clock


def _upgrade(engine: sa.Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    made = make_engine(db_url)
    try:
        yield made
    finally:
        made.dispose()


def test_existing_tenants_get_the_default_date(engine: sa.Engine, db_url: str) -> None:
    _upgrade(engine, "0007")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO accounts (id, slug, tenant_id, reach, isolated, settings, created_us)"
                " VALUES (1, 'old', 1, 'tree', false, '{}', 0)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO tenants (id, chain_seq, chain_head, pending_ttl_s, created_us)"
                " VALUES (1, 0, :genesis, 172800, 0)"
            ),
            {"genesis": "0" * 64},
        )
    _upgrade(engine, "0011")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT revoke_all_from FROM tenants")).scalar_one()
    assert stored == "2027-01-31"
    cl = consentline.connect(db_url, cache_seconds=0.0)
    try:
        assert cl.policy("old").revoke_all_from == date(2027, 1, 31)
    finally:
        cl.close()


def test_the_date_and_off_survive_a_reconnect(db_url: str, clock: Clock) -> None:
    cl: Consentline = consentline.connect(db_url, clock=clock, cache_seconds=0.0)
    try:
        cl.create_account("acme")
        cl.create_account("globex")
        assert cl.policy("acme").revoke_all_from == date(2027, 1, 31)  # new tenants too
        cl.set_policy("acme", revoke_all_from=date(2026, 5, 1))
        cl.set_policy("globex", revoke_all_from=None)
    finally:
        cl.close()
    again = consentline.connect(db_url, clock=clock, cache_seconds=0.0)
    try:
        assert again.policy("acme").revoke_all_from == date(2026, 5, 1)
        assert again.policy("globex").revoke_all_from is None
    finally:
        again.close()
