"""Reading the ledger back (services/history.py) and listing the outbox, on the fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consentline.domain.errors import InvalidAddress, InvalidInput
from consentline.domain.ledger import IN, to_us
from consentline.domain.scopes import account_scope
from consentline.services import history, outbox, recording
from consentline.services.recording import RecordRequest
from tests.service.fakes import FakeLedger, FakeUnitOfWork, acme_ledger

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def ledger() -> FakeLedger:
    return acme_ledger(NOW)


def _record(ledger: FakeLedger, action: str, at: datetime) -> None:
    request = RecordRequest(
        address="+14155550123",
        action=action,
        account="acme",
        purpose="marketing",
        source="api",
        occurred_at=at,
    )
    with FakeUnitOfWork(ledger) as uow:
        recording.record(uow, ledger.load_directory(), ledger.load_policies(), [request], now=NOW)


def test_history_reads_a_number_written_the_way_a_person_types_it(ledger: FakeLedger) -> None:
    _record(ledger, "opt_in", NOW - timedelta(days=2))
    _record(ledger, "opt_out", NOW - timedelta(days=1))
    acme = ledger.load_directory().account("acme")
    with FakeUnitOfWork(ledger) as uow:
        events = history.of_address(uow, acme, "(415) 555-0123")
    assert [e.action for e in events] == ["opt_in", "opt_out"]


def test_history_refuses_what_is_not_a_number_before_reading(ledger: FakeLedger) -> None:
    acme = ledger.load_directory().account("acme")
    with FakeUnitOfWork(ledger) as uow, pytest.raises(InvalidAddress):
        history.of_address(uow, acme, "not a number")


def test_the_state_at_a_past_moment_ignores_what_came_later(ledger: FakeLedger) -> None:
    _record(ledger, "opt_in", NOW - timedelta(days=2))
    _record(ledger, "opt_out", NOW - timedelta(days=1))
    acme = ledger.load_directory().account("acme")
    scopes = frozenset({account_scope(acme.id)})

    def state_at(moment: datetime) -> str:
        with FakeUnitOfWork(ledger) as uow:
            state, _index, _row = history.fold_at(
                uow, acme.tenant_id, "sms", "+14155550123", scopes, "marketing", "", to_us(moment)
            )
        return state

    assert state_at(NOW - timedelta(days=1, hours=12)) == IN
    assert state_at(NOW) != IN


@pytest.mark.parametrize(
    ("status", "limit"), [("bogus", 10), (None, 0), (None, 10_001), ("sent", "7")]
)
def test_a_bad_outbox_listing_is_refused_before_the_outbox_is_read(
    status: str | None, limit: int
) -> None:
    # The fake's inbox fails loudly if reached: the check must come first.
    with FakeUnitOfWork(FakeLedger()) as uow, pytest.raises(InvalidInput):
        outbox.listed(uow, status=status, limit=limit)
