"""An in-process API per test: two tenants, a sub-account, and a key of every kind.

acme (root, US) ── shop (sub-account)       globex (another tenant)
  line ACME_LINE      line SHOP_LINE          line GLOBEX_LINE
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import consentline
from consentline import Consentline
from consentline.http import create_app
from consentline.services.api_keys import ApiKeys
from consentline.settings import Settings
from tests.conftest import Clock

with warnings.catch_warnings():
    # Starlette >= 1.x suggests httpx2 for its TestClient; httpx is what we ship.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ACME_LINE = "+18005550100"
SHOP_LINE = "+18005550101"
GLOBEX_LINE = "+18005550199"
X = "+14155550123"
Y = "+14155550124"


@dataclass
class Api:
    http: TestClient
    cl: Consentline
    keys: ApiKeys
    admin: str
    named: dict[str, str] = field(default_factory=dict)

    def key(self, name: str) -> dict[str, str]:
        """Headers with the named key (``admin``, ``acme_write``, ``shop_read``...)."""
        raw = self.admin if name == "admin" else self.named[name]
        return {"Authorization": f"Bearer {raw}"}

    def make_key(self, account: str | None, role: str) -> str:
        account_id = None if account is None else self.cl.directory().account(account).id
        raw, _ = self.keys.create(account_id=account_id, role=role)
        return raw

    def consent(self, key: str, **body: Any) -> Any:
        payload = {
            "address": X,
            "action": "opt_in",
            "account": "acme",
            "purpose": "marketing",
            "source": "web_form",
            **body,
        }
        return self.http.post("/v1/consents", json=payload, headers=self.key(key))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"


@pytest.fixture
def settings() -> Settings:
    return Settings(max_body=64 * 1024, max_bulk_body=8 * 1024 * 1024)


@pytest.fixture
def api(url: str, clock: Clock, settings: Settings) -> Iterator[Api]:
    cl = consentline.connect(url, clock=clock, cache_seconds=0.0)
    keys = cl.api_keys(clock)
    admin = keys.bootstrap(None)
    assert admin is not None
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    cl.create_account("globex", default_region="US")
    cl.add_line(ACME_LINE, account="acme")
    cl.add_line(SHOP_LINE, account="shop")
    cl.add_line(GLOBEX_LINE, account="globex")
    found = Api(TestClient(create_app(cl, settings, keys=keys)), cl, keys, admin)
    for account in ("acme", "shop", "globex"):
        for role in ("read", "write", "admin"):
            found.named[f"{account}_{role}"] = found.make_key(account, role)
    try:
        with found.http:
            yield found
    finally:
        cl.close()
