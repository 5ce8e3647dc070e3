"""Times at the ends of ``datetime``'s range are a typed InvalidTime, never an overflow.

``0001-01-01T00:00:00+01:00`` is valid ISO 8601, but its UTC instant is in year 0:
as ``occurred_at`` it was stored and then broke every read of the event; as
``received_at`` it was a 500; as a check's ``at`` on a purpose with quiet hours it
overflowed converting to the recipient's zone (issue 8, #6).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consentline import Consentline, InvalidTime
from consentline.domain.ledger import EARLIEST, LATEST, from_us, to_us
from tests.conftest import worked_setup

OUT_OF_RANGE = [
    "0001-01-01T00:00:00+01:00",  # year 0 in UTC
    "0001-01-01T12:00:00+00:00",  # representable, but not in every zone
    "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
    "9999-12-31T00:00:00+00:00",
]


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_to_us_refuses_a_time_no_zone_can_show(text: str) -> None:
    with pytest.raises(InvalidTime) as info:
        to_us(datetime.fromisoformat(text))
    assert info.value.data["time"] == text
    assert "out of range" in info.value.message


def test_the_ends_of_the_range_round_trip_exactly() -> None:
    for moment in (EARLIEST, LATEST, datetime(1969, 7, 20, 20, 17, 40, 1, tzinfo=UTC)):
        assert from_us(to_us(moment)) == moment
    local = datetime(1, 1, 2, 23, 0, tzinfo=UTC).astimezone()  # shown in any zone
    assert from_us(to_us(local)) == local


@pytest.mark.parametrize("text", OUT_OF_RANGE[:2])
def test_recording_such_an_occurred_at_is_refused_and_nothing_is_written(
    cl: Consentline, text: str
) -> None:
    w = worked_setup(cl)
    with pytest.raises(InvalidTime):
        cl.record(w.x, "opt_out", via=w.L1, occurred_at=datetime.fromisoformat(text))
    assert cl.verify().events == 0


def test_an_old_but_representable_occurred_at_is_recorded_and_read_back(cl: Consentline) -> None:
    w = worked_setup(cl)
    moment = EARLIEST + timedelta(hours=1)
    event = cl.record(w.x, "opt_out", via=w.L1, occurred_at=moment)
    (stored,) = cl.history(w.x, account="a")
    assert stored.occurred_at == event.occurred_at == moment
    assert stored.as_dict()["occurred_at"] == "0001-01-02T01:00:00+00:00"


@pytest.mark.parametrize("text", OUT_OF_RANGE[:2])
def test_an_inbound_message_received_at_such_a_time_is_refused(cl: Consentline, text: str) -> None:
    w = worked_setup(cl)
    with pytest.raises(InvalidTime):
        cl.handle_inbound(from_=w.x, to=w.L1, text="STOP", received_at=datetime.fromisoformat(text))
    assert cl.verify().events == 0


@pytest.mark.parametrize("text", OUT_OF_RANGE)
@pytest.mark.parametrize("purpose", ["marketing", "promo"])
def test_a_check_at_such_a_time_is_refused_even_with_quiet_hours(
    cl: Consentline, text: str, purpose: str
) -> None:
    w = worked_setup(cl)
    cl.set_purpose("a", "promo", "non_restrictive", quiet_hours="21:00-08:00")
    at = datetime.fromisoformat(text)
    with pytest.raises(InvalidTime):
        cl.check(w.x, from_=w.L1, purpose=purpose, at=at)
    with pytest.raises(InvalidTime):
        list(cl.check_many([w.x], from_=w.L1, purpose=purpose, at=at))
