"""ApiKeys on an in-memory unit-of-work factory and key reader (no database).

The class depends only on ``services.ports``: a factory of units of work and the
key read port, so its caching and revocation rules can be checked on fakes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self, cast

import pytest

from consentline.domain.errors import NotFound, Unauthorized
from consentline.services import ports
from consentline.services.api_keys import ApiKeys, digest

START = datetime(2024, 3, 1, 12, tzinfo=UTC)


class FakeApi:
    """The key half of ``ApiRepository``, in a dictionary."""

    def __init__(self) -> None:
        self.rows: dict[int, ports.ApiKeyRecord] = {}

    def insert_key(
        self, *, prefix: str, hash_: str, account_id: int | None, role: str, now_us: int
    ) -> int:
        key_id = len(self.rows) + 1
        self.rows[key_id] = ports.ApiKeyRecord(
            key_id, prefix, hash_, account_id, role, now_us, None
        )
        return key_id

    def key(self, key_id: int) -> ports.ApiKeyRecord | None:
        return self.rows.get(key_id)

    def key_by_hash(self, hash_: str) -> ports.ApiKeyRecord | None:
        return next((r for r in self.rows.values() if r.hash == hash_), None)

    def count_installation_admins(self) -> int:
        return sum(1 for r in self.rows.values() if r.account_id is None and r.role == "admin")

    def revoke_key(self, key_id: int, now_us: int) -> None:
        row = self.rows.get(key_id)
        if row is not None and row.revoked_us is None:
            self.rows[key_id] = replace(row, revoked_us=now_us)


class FakeUnit:
    def __init__(self, api: FakeApi, log: list[str], write: bool) -> None:
        self._api, self._log, self._write = api, log, write

    @property
    def api(self) -> ports.ApiRepository:
        return cast(ports.ApiRepository, self._api)

    def __enter__(self) -> Self:
        self._log.append("write" if self._write else "read")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def commit(self) -> None:
        self._log.append("commit")


class FakeUnits:
    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.log: list[str] = []

    def __call__(self, *, write: bool = True) -> ports.UnitOfWork:
        return cast(ports.UnitOfWork, FakeUnit(self.api, self.log, write))


class FakeReader:
    def __init__(self, api: FakeApi) -> None:
        self.api, self.reads, self.closed = api, 0, False

    def api_key(self, hash_: str) -> ports.ApiKeyRow | None:
        self.reads += 1
        row = self.api.key_by_hash(hash_)
        if row is None:
            return None
        return (row.id, row.prefix, row.account_id, row.role, row.created_us, row.revoked_us)

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def parts() -> tuple[FakeUnits, FakeReader, Clock]:
    api = FakeApi()
    return FakeUnits(api), FakeReader(api), Clock()


def test_a_key_is_read_once_per_revalidation_interval(
    parts: tuple[FakeUnits, FakeReader, Clock],
) -> None:
    units, reader, clock = parts
    keys = ApiKeys(units, reader, clock)
    raw, key = keys.create(account_id=7, role="write")
    assert units.log == ["write", "commit"]
    assert units.api.rows[key.id].hash == digest(raw)  # only the hash is stored
    for _ in range(5):
        assert keys.authenticate(raw).role == "write"
    assert reader.reads == 1  # no read per request
    clock.now += timedelta(seconds=1)
    keys.authenticate(raw)
    assert reader.reads == 2


def test_revoking_refuses_at_once_here_and_within_the_interval_elsewhere(
    parts: tuple[FakeUnits, FakeReader, Clock],
) -> None:
    units, reader, clock = parts
    here, there = ApiKeys(units, reader, clock), ApiKeys(units, reader, clock)
    raw, key = here.create(account_id=None, role="admin")
    there.authenticate(raw)
    assert here.revoke(key.id).revoked_at == START
    with pytest.raises(Unauthorized):
        here.authenticate(raw)
    assert there.authenticate(raw).id == key.id  # trusted for up to a second
    clock.now += timedelta(seconds=1)
    with pytest.raises(Unauthorized):
        there.authenticate(raw)
    with pytest.raises(NotFound):
        here.revoke(99)


def test_bootstrap_generates_one_admin_key_and_stores_a_configured_one_once(
    parts: tuple[FakeUnits, FakeReader, Clock],
) -> None:
    units, reader, clock = parts
    keys = ApiKeys(units, reader, clock)
    first = keys.bootstrap(None)
    assert first is not None and keys.authenticate(first).installation
    assert keys.bootstrap(None) is None
    assert keys.bootstrap("cl_configured") is None
    assert keys.bootstrap("cl_configured") is None
    assert units.api.count_installation_admins() == 2
    keys.close()
    assert reader.closed
