"""Recording with contact references on the fake unit of work: stored with the
address, validated before anything is written, rolled back with the write."""

from __future__ import annotations

import pytest

from consentline.domain.errors import InvalidContactRef
from consentline.services import contact_refs, recording
from consentline.services.recording import RecordRequest
from tests.conftest import START
from tests.service.fakes import FakeUnitOfWork, acme_ledger

X = "+14155550123"


def test_refs_are_stored_with_the_address_and_read_per_event() -> None:
    ledger = acme_ledger(START)
    request = RecordRequest(X, "opt_out", account="acme", contact_ref=["sf:003A", "9"])
    with FakeUnitOfWork(ledger) as uow:
        (event,) = recording.record(
            uow, ledger.load_directory(), ledger.policies, [request], now=START
        )
    with FakeUnitOfWork(ledger) as uow:
        assert contact_refs.events_refs(uow, [event]) == {
            event.id: [{"system": "default", "ref": "9"}, {"system": "sf", "ref": "003A"}]
        }


def test_a_bad_ref_writes_nothing() -> None:
    ledger = acme_ledger(START)
    bad = RecordRequest(X, "opt_out", account="acme", contact_ref="+14155550123")
    with FakeUnitOfWork(ledger) as uow, pytest.raises(InvalidContactRef):
        recording.record(uow, ledger.load_directory(), ledger.policies, [bad], now=START)
    assert ledger.events == {} and ledger.contact_refs == {}
