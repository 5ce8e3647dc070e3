"""Driver errors are translated at the storage boundary, for every statement (issue 8 #6).

A statement failing inside a unit of work (here: a table dropped under a live
client) raises ``StorageError`` — HTTP 503 — never a raw SQLAlchemy or driver
error, and nothing is half-written. A value the database cannot take (a lone
surrogate anywhere, a NUL on PostgreSQL) is ``InvalidInput``. Neither error, nor
the driver error it chains, quotes a bound value (C23).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from consentline import Consentline
from consentline.domain.errors import InvalidInput, StorageError
from consentline.http import create_app
from consentline.settings import Settings
from consentline.storage.uow import UnitOfWork
from tests.conftest import Clock

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

LINE = "+18005550100"
NUMBER = "+14155550123"
DIGITS = ("4155550123", "8005550100")


@pytest.fixture
def acme(cl: Consentline) -> Consentline:
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    cl.record(NUMBER, "opt_in", account="acme", purpose="marketing", source="web_form")
    return cl


def drop(cl: Consentline, table: str) -> None:
    cascade = " CASCADE" if cl.engine.dialect.name == "postgresql" else ""
    with cl.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {table}{cascade}")


def count(cl: Consentline, table: str) -> int:
    with cl.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def chain(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def assert_quotes_no_number(error: BaseException) -> None:
    for link in chain(error):
        text = f"{link} {getattr(link, 'data', '')}"
        for digits in DIGITS:
            assert digits not in text, (type(link).__name__, text)


def record_opt_out(cl: Consentline, n: int) -> object:
    return cl.record(
        NUMBER,
        "opt_out",
        via=LINE,
        source="keyword",
        proof={"text": "STOP"},
        idempotency_key=f"k{n}",
    )


def check(cl: Consentline, _n: int) -> object:
    return cl.check(NUMBER, from_=LINE, purpose="marketing")


def inbound(cl: Consentline, n: int) -> object:
    """A first STOP from a new number: an event, a message and a confirmation."""
    return cl.handle_inbound(from_=f"+1415555020{n}", to=LINE, text="STOP", provider="twilio")


@pytest.mark.parametrize(
    ("table", "operation"),
    [
        ("consent_state", record_opt_out),  # fails after the event row was inserted
        ("idempotency", record_opt_out),  # the last write of a keyed record
        ("consent_state", check),
        ("consent_state", inbound),
        ("inbound_messages", inbound),
        ("outbox", inbound),  # the last write of an inbound STOP
    ],
)
def test_a_statement_failing_inside_a_unit_of_work_is_a_storage_error(
    acme: Consentline, table: str, operation: object
) -> None:
    assert callable(operation)
    operation(acme, 1)  # works before
    events = count(acme, "events")
    drop(acme, table)
    with pytest.raises(StorageError) as caught:
        operation(acme, 2)
    assert caught.value.code == "storage_error"
    assert_quotes_no_number(caught.value)
    assert count(acme, "events") == events  # rolled back: nothing half-written


@pytest.mark.parametrize("operation", [record_opt_out, check, inbound])
@pytest.mark.parametrize("table", ["events", "consent_state", "inbound_messages"])
def test_each_entry_point_raises_a_storage_error_for_any_dropped_table(
    acme: Consentline, table: str, operation: object
) -> None:
    """record, check and handle_inbound: whichever table a call needs is gone, the
    caller sees StorageError, and one that does not need it still works."""
    assert callable(operation)
    operation(acme, 1)
    with acme.engine.begin() as conn:  # renamed, not dropped: SQLite keeps the foreign keys
        conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {table}_gone")
    needs = {
        "events": {record_opt_out, inbound},
        "consent_state": {record_opt_out, check, inbound},
        "inbound_messages": {inbound},
    }[table]
    if operation not in needs:
        operation(acme, 2)
        return
    with pytest.raises(StorageError) as caught:
        operation(acme, 2)
    assert caught.value.code == "storage_error"
    assert_quotes_no_number(caught.value)


def test_engines_never_put_bound_parameters_in_messages(acme: Consentline) -> None:
    assert acme.engine.hide_parameters is True


def test_a_value_the_database_cannot_take_is_invalid_input(acme: Consentline) -> None:
    tenant = acme.directory().account("acme").tenant_id
    with UnitOfWork(acme.engine) as uow, pytest.raises(InvalidInput) as caught:
        uow.inbox.find_inbound(tenant, "twilio", [f"{NUMBER}\ud800"])
    assert_quotes_no_number(caught.value)
    with UnitOfWork(acme.engine) as uow:
        if acme.engine.dialect.name == "postgresql":
            with pytest.raises(InvalidInput):
                uow.inbox.find_inbound(tenant, "twilio", [f"{NUMBER}\x00"])
        else:  # SQLite keeps NUL like any character
            assert uow.inbox.find_inbound(tenant, "twilio", [f"{NUMBER}\x00"]) == {}


def test_a_broken_database_answers_503_json_over_http(acme: Consentline, clock: Clock) -> None:
    keys = acme.api_keys(clock)
    admin = keys.bootstrap(None)
    assert admin is not None
    with TestClient(create_app(acme, Settings(), keys=keys)) as http:
        headers = {"Authorization": f"Bearer {admin}"}
        body = {"address": NUMBER, "action": "opt_out", "via": LINE, "source": "keyword"}
        assert http.post("/v1/consents", json=body, headers=headers).status_code == 201
        drop(acme, "consent_state")
        answer = http.post("/v1/consents", json=body, headers=headers)
        assert answer.status_code == 503
        assert answer.json()["code"] == "storage_error"
        assert not any(digits in answer.text for digits in DIGITS)
        inbound = {"from": NUMBER, "to": LINE, "text": "STOP"}
        answer = http.post("/v1/inbound", json=inbound, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (503, "storage_error")
