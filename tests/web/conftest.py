"""The web UI in process: the API's app with the UI installed, on a fresh database.

acme (root, US) ── shop (sub-account)       globex (another tenant)
  line ACME_LINE      line SHOP_LINE          line GLOBEX_LINE

Operators (password PASSWORD): ``acme-admin``, ``acme-write``, ``acme-read``,
``shop-write`` (of shop), ``globex-write`` (of globex).
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import consentline
from consentline import Consentline
from consentline.http import create_app
from consentline.settings import Secret, Settings
from consentline.web import install
from tests.conftest import Clock

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ACME_LINE = "+18005550100"
SHOP_LINE = "+18005550101"
GLOBEX_LINE = "+18005550199"
X = "+14155550123"
PASSWORD = "correct horse battery"
ERASURE_KEY = "e" * 40
OPERATORS = {
    "acme-admin": ("acme", "admin"),
    "acme-write": ("acme", "write"),
    "acme-read": ("acme", "read"),
    "shop-write": ("shop", "write"),
    "globex-write": ("globex", "write"),
}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def seed(cl: Consentline) -> None:
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    cl.create_account("globex", default_region="US")
    cl.add_line(ACME_LINE, account="acme")
    cl.add_line(SHOP_LINE, account="shop")
    cl.add_line(GLOBEX_LINE, account="globex")
    for tenant in ("acme", "globex"):
        cl.set_purpose(tenant, "marketing", "restrictive")
        cl.set_purpose(tenant, "transactional", "non_restrictive")
    ops = cl.operators()
    for name, (account, role) in OPERATORS.items():
        ops.create(name, directory=cl.directory(), account=account, role=role, password=PASSWORD)


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


@dataclass
class Ui:
    http: TestClient
    cl: Consentline

    def login(self, name: str, password: str = PASSWORD) -> str:
        """Sign in as ``name``; returns the session's CSRF token."""
        self.http.cookies.clear()
        page = self.http.get("/ui/login")
        answer = self.http.post(
            "/ui/login",
            data={"csrf": csrf_of(page.text), "username": name, "password": password},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return csrf_of(self.http.get("/ui/").text)


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded database made once: hashing five passwords with argon2 is the slow
    part of a test, so each test gets a copy of this file instead."""
    path = tmp_path_factory.mktemp("seeded") / "ui.db"
    with consentline.connect(f"sqlite:///{path}", clock=Clock(), cache_seconds=0.0) as cl:
        seed(cl)
    return path


@pytest.fixture
def ui(tmp_path: Path, clock: Clock, seeded: Path) -> Iterator[Ui]:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{seeded}{suffix}").exists():
            shutil.copy(f"{seeded}{suffix}", tmp_path / f"ui.db{suffix}")
    cl = consentline.connect(
        f"sqlite:///{tmp_path / 'ui.db'}", clock=clock, cache_seconds=0.0, erasure_key=ERASURE_KEY
    )
    settings = Settings(session_secret=Secret("s" * 40))
    app = create_app(cl, settings)
    install(app, cl, settings)
    with TestClient(app, base_url="http://127.0.0.1") as http:
        yield Ui(http, cl)
    cl.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ui_both(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Ui]:
    """:func:`ui` on SQLite, and on PostgreSQL (a schema of its own, seeded afresh)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("ui")
        return
    from tests.conftest import _postgres_schema_url

    for url in _postgres_schema_url():
        cl = consentline.connect(url, clock=clock, cache_seconds=0.0, erasure_key=ERASURE_KEY)
        seed(cl)
        settings = Settings(session_secret=Secret("s" * 40))
        app = create_app(cl, settings)
        install(app, cl, settings)
        with TestClient(app, base_url="http://127.0.0.1") as http:
            yield Ui(http, cl)
        cl.close()
