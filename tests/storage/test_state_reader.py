"""The send gate's reader connections never hold the engine's pool (fastpath).

They used to be kept one per thread, checked out of the engine's pool for good:
a server whose worker threads came and went ran the pool dry and then hung every
write. Now they are detached from the pool and lent per call.
"""

from __future__ import annotations

import threading

import pytest

from consentline import Consentline

LINE = "+18005550100"
X = "+14155550123"


@pytest.fixture
def acme(cl: Consentline) -> Consentline:
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    cl.record(X, "opt_out", account="acme", source="keyword")
    return cl


def test_checks_from_many_short_lived_threads_leave_the_pool_free(acme: Consentline) -> None:
    reasons: list[str] = []

    def one_check() -> None:
        reasons.append(acme.check(X, from_=LINE, purpose="marketing").reason)

    for _ in range(3):  # more threads than the pool has connections, in waves
        threads = [threading.Thread(target=one_check) for _ in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert reasons == ["opted_out"] * 120
    assert acme.engine.pool.checkedout() == 0
    acme.record(X, "resume", account="acme", source="keyword")  # a write still gets a slot
    assert acme.check(X, from_=LINE, purpose="marketing").reason != "opted_out"


def test_a_bulk_check_abandoned_half_way_does_not_break_later_checks(acme: Consentline) -> None:
    decisions = acme.check_many([X, X, X], from_=LINE, purpose="marketing")
    assert next(iter(decisions)).reason == "opted_out"
    del decisions
    assert acme.check(X, from_=LINE, purpose="marketing").reason == "opted_out"
    assert acme.engine.pool.checkedout() == 0
