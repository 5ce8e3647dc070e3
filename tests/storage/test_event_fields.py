"""An event's fields are listed once (StoredEvent); everything else must follow.

A column added to ``events`` but not to the record, a field not covered by the
chain, or an Event that lost a field would each let ``verify`` pass over a change
it should catch, or break reading the ledger back.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime

import pytest

from consentline.domain.ledger import (
    CHAINED,
    EVENT_FIELDS,
    UNCHAINED,
    Event,
    StoredEvent,
    canonical_proof,
    chain_payload,
    to_us,
)
from consentline.storage import schema
from consentline.storage.repository import EVENT_COLUMNS

AT = to_us(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
RECORD = StoredEvent(
    id=7,
    tenant_id=1,
    seq=3,
    address="+14155550123",
    channel="sms",
    action="opt_out",
    scope="L1",
    purpose="marketing",
    topic="news",
    occurred_us=AT,
    recorded_us=AT + 1,
    source="keyword",
    proof=canonical_proof({"text": "STOP"}),
    idempotency_key="k1",
    prev_hash="0" * 64,
    hash="f" * 64,
)
# Event's fields, where they differ from the stored record's.
AS_EVENT = {"occurred_us": "occurred_at", "recorded_us": "recorded_at"}


def test_the_events_table_has_exactly_the_records_fields_in_order() -> None:
    assert tuple(c.name for c in schema.events.columns) == EVENT_FIELDS
    assert tuple(c.name for c in EVENT_COLUMNS) == EVENT_FIELDS


def test_the_chain_covers_every_field_but_the_row_id_position_and_links() -> None:
    # CHAINED, then the proof object a writer may pass along with its proof text
    assert tuple(inspect.signature(chain_payload).parameters) == (*CHAINED, "proof_value")
    assert set(CHAINED) | UNCHAINED == set(EVENT_FIELDS)
    assert {"id", "seq", "prev_hash", "hash"} == UNCHAINED


@pytest.mark.parametrize("name", CHAINED)
def test_changing_any_chained_field_changes_the_payload(name: str) -> None:
    value = getattr(RECORD, name)
    other: object
    if isinstance(value, int):
        other = value + 1
    elif name == "proof":
        other = canonical_proof({"text": "QUIT"})
    else:
        other = None if value is not None else "x"
        if other is None and name not in ("purpose", "topic", "idempotency_key"):
            other = f"{value}x"
    changed = dataclasses.replace(RECORD, **{name: other})
    assert changed.payload() != RECORD.payload()


def test_an_event_carries_every_stored_field_and_serialises_all_of_them() -> None:
    expected = tuple(AS_EVENT.get(name, name) for name in EVENT_FIELDS)
    assert tuple(f.name for f in dataclasses.fields(Event)) == expected
    event = RECORD.event()
    # The API never shows the internal tenant id; everything else, always.
    assert set(event.as_dict()) == set(expected) - {"tenant_id"}
    assert event.id == 7 and RECORD.event(9).id == 9
    assert event.proof == {"text": "STOP"}
    assert to_us(event.occurred_at) == RECORD.occurred_us
    assert event.entry() == RECORD.entry()
