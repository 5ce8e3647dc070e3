"""Idempotent replays are reported by the write itself: exactly one request of a
key is fresh, however many arrive at once (issue 8, #12)."""

from __future__ import annotations

import threading

import consentline
from consentline import Consentline, RecordRequest, RecordResult
from tests.conftest import Clock, worked_setup

WRITERS = 6


def _request(key: str, action: str = "pending") -> RecordRequest:
    return RecordRequest(
        "+14155550123",
        action,
        line="+18005550101",
        purpose="marketing",
        source="web_form",
        idempotency_key=key,
    )


def test_a_batch_reports_which_requests_were_replays(cl: Consentline) -> None:
    worked_setup(cl)
    first = cl.record_results([_request("k1"), _request("k1"), _request("k2")])
    assert [r.replayed for r in first] == [False, True, False]
    assert first[0].event == first[1].event
    again = cl.record_results([_request("k2"), _request("k3")])
    assert [r.replayed for r in again] == [True, False]
    assert again[0].event == first[2].event
    assert cl.record_many([_request("k1")]) == [first[0].event]  # unchanged return type
    assert cl.verify().events == 3


def test_a_replayed_double_opt_in_request_queues_no_second_message(cl: Consentline) -> None:
    worked_setup(cl)
    for _ in range(3):  # same clock tick each time: only the flag tells a replay apart
        cl.record_results([_request("form-7")])
    assert [m.kind for m in cl.outbox()] == ["double_opt_in_request"]


def test_concurrent_replays_of_one_key_are_fresh_exactly_once(
    cl: Consentline, db_url: str, clock: Clock
) -> None:
    worked_setup(cl)
    start = threading.Barrier(WRITERS)
    results: list[RecordResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer() -> None:
        client = consentline.connect(db_url, clock=clock, migrate_schema=False)
        try:
            client.directory()  # warm the caches, so the writes start together
            start.wait()
            (result,) = client.record_results([_request("same-key", "opt_in")])
            with lock:
                results.append(result)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.replayed for r in results) == [False] + [True] * (WRITERS - 1)
    assert len({r.event.id for r in results}) == 1
    assert cl.verify().events == 1
