"""Shared fixtures: a controllable clock and a consentline on each backend.

``backend`` runs a test on SQLite and, when ``CONSENTLINE_TEST_POSTGRES_URL`` is
set, on PostgreSQL too (each test in a schema of its own, dropped afterwards).
Without the variable the PostgreSQL half is skipped, unless
``CONSENTLINE_REQUIRE_POSTGRES=1`` (set by .ci/run), where it fails instead.

The log scan of :mod:`tests.logscan` runs over every session: a log line of the
run that holds a number the tests use, or a canary message body, fails it (C23).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

import consentline
from consentline import Consentline
from consentline.services import operators as _operators
from tests import logscan

POSTGRES_URL = os.environ.get("CONSENTLINE_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("CONSENTLINE_REQUIRE_POSTGRES") == "1"

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 15:00 UTC


def pytest_configure(config: pytest.Config) -> None:
    logscan.configure(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    logscan.sessionfinish(session)


def pytest_terminal_summary(terminalreporter: object, config: pytest.Config) -> None:
    logscan.terminal_summary(terminalreporter, config)


def pytest_unconfigure(config: pytest.Config) -> None:
    logscan.unconfigure(config)


# The operators' hasher as the product ships it (tests/service/test_operators.py checks
# its cost); the tests' own passwords are hashed with argon2id at a small cost.
PRODUCTION_HASHER = _operators._HASHER


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashes() -> Iterator[None]:
    """argon2id at 1 MiB and one pass for the session: the tests sign in thousands
    of times, and the production cost (64 MiB, 3 passes) is the slow part of each."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_operators, "_HASHER", cheap)
        patch.setattr(_operators, "_DUMMY", cheap.hash("consentline: no such operator"))
        yield


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _postgres_schema_url() -> Iterator[str]:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("CONSENTLINE_REQUIRE_POSTGRES=1 but CONSENTLINE_TEST_POSTGRES_URL is unset")
        pytest.skip("PostgreSQL not configured (set CONSENTLINE_TEST_POSTGRES_URL)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at CONSENTLINE_TEST_POSTGRES_URL is unreachable: {exc}")
        pytest.skip("PostgreSQL unreachable")
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'consent.db'}"
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def cl(db_url: str, clock: Clock) -> Iterator[Consentline]:
    client = consentline.connect(db_url, clock=clock, cache_seconds=0.0)
    try:
        yield client
    finally:
        client.close()


@dataclass
class WorkedSetup:
    """The worked-example tenant of docs/model.md: T > A (L1, L2) > B (L3)."""

    cl: Consentline
    L1: str = "+18005550101"
    L2: str = "+18005550102"
    L3: str = "+18005550103"
    x: str = "+14155550123"


def worked_setup(
    cl: Consentline,
    *,
    a_reach: str | None = None,
    b_isolated: bool = False,
) -> WorkedSetup:
    cl.create_account("t", reach="tree", default_region="US")
    cl.create_account("a", parent="t", reach=a_reach)
    cl.create_account("b", parent="a", isolated=b_isolated)
    setup = WorkedSetup(cl)
    cl.add_line(setup.L1, account="a")
    cl.add_line(setup.L2, account="a")
    cl.add_line(setup.L3, account="b")
    return setup
