"""The services' orchestration, on the in-memory unit of work (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consentline.domain.errors import (
    AccountExists,
    IdempotencyConflict,
    InvalidInput,
    UnknownPurpose,
)
from consentline.domain.ledger import GENESIS, Event
from consentline.services import accounts, recording, verification
from consentline.services.recording import RecordRequest
from tests.service.fakes import FakeLedger, FakeUnitOfWork, acme_ledger

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)
NUMBER = "+14155550123"


@pytest.fixture
def ledger() -> FakeLedger:
    return acme_ledger(NOW)


def record(ledger: FakeLedger, *requests: RecordRequest) -> list[Event]:
    with FakeUnitOfWork(ledger) as uow:
        return recording.record(
            uow, ledger.load_directory(), ledger.load_policies(), requests, now=NOW
        )


def test_a_root_account_is_a_new_tenant_with_its_own_chain(ledger: FakeLedger) -> None:
    acme = ledger.load_directory().account("acme")
    assert acme.tenant_id == acme.id
    assert ledger.heads[acme.id] == (0, GENESIS)


def test_creating_an_existing_account_writes_nothing(ledger: FakeLedger) -> None:
    before = ledger.writes
    with FakeUnitOfWork(ledger) as uow:
        with pytest.raises(AccountExists):
            accounts.create_account(
                uow,
                ledger.load_directory(),
                slug="acme",
                parent=None,
                reach=None,
                isolated=False,
                default_region=None,
                now=NOW,
            )
        assert ledger.writes == before and uow.committed == 0  # checked before any write


def test_a_record_appends_a_chained_event_and_projects_it(ledger: FakeLedger) -> None:
    (event,) = record(ledger, RecordRequest(NUMBER, "opt_in", account="acme"))
    assert (event.seq, event.prev_hash) == (1, GENESIS)
    assert ledger.heads[event.tenant_id] == (1, event.hash)
    assert (event.tenant_id, "sms", NUMBER) in ledger.state
    with FakeUnitOfWork(ledger) as uow:
        assert verification.verify(uow).ok


def test_a_replayed_key_returns_the_original_and_appends_nothing(ledger: FakeLedger) -> None:
    request = RecordRequest(NUMBER, "opt_out", account="acme", idempotency_key="k1")
    (first,) = record(ledger, request)
    (again,) = record(ledger, request)
    assert again == first
    assert len(ledger.events) == 1


def test_one_key_for_two_requests_is_a_conflict(ledger: FakeLedger) -> None:
    record(ledger, RecordRequest(NUMBER, "opt_out", account="acme", idempotency_key="k1"))
    with pytest.raises(IdempotencyConflict):
        record(ledger, RecordRequest(NUMBER, "opt_in", account="acme", idempotency_key="k1"))
    assert len(ledger.events) == 1


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (RecordRequest("not a number", "opt_in", account="acme"), InvalidInput),
        (RecordRequest(NUMBER, "opt_in", account="acme", purpose="nope"), UnknownPurpose),
    ],
)
def test_a_bad_request_in_a_batch_is_refused_before_any_write(
    ledger: FakeLedger, bad: RecordRequest, error: type[Exception]
) -> None:
    good = RecordRequest(NUMBER, "opt_in", account="acme")
    before = ledger.writes
    with FakeUnitOfWork(ledger) as uow:
        with pytest.raises(error):
            recording.record(
                uow, ledger.load_directory(), ledger.load_policies(), [good, bad], now=NOW
            )
        assert ledger.writes == before and uow.committed == 0  # not even the good one
    assert ledger.events == {}
