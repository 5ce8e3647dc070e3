"""The storage suite: ledger, chain, projection, idempotency, migrations — on both DBs."""

from __future__ import annotations

import itertools
import threading

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import consentline
from consentline import Consentline, IdempotencyConflict, RecordRequest
from consentline.domain.ledger import GENESIS
from consentline.storage.engine import MIGRATIONS, make_engine, migrate
from consentline.storage.schema import metadata
from tests.conftest import Clock, worked_setup


def sql(cl: Consentline, statement: str, **params: object) -> None:
    with cl.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def fill(cl: Consentline, n: int = 5) -> list[consentline.Event]:
    w = worked_setup(cl)
    return [
        *cl.record_many(
            RecordRequest(
                f"+1415555{i:04d}",
                "opt_in",
                account="a",
                purpose="marketing",
                source="web_form",
                proof={"form_url": f"https://a.example/{i}"},
            )
            for i in range(n)
        ),
        cl.record(w.x, "opt_out", via=w.L1, source="keyword"),
    ]


def _schema_diff_and_revision(engine: sa.Engine) -> tuple[list[object], str | None]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        return compare_metadata(context, metadata), context.get_current_revision()


def _head() -> str | None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_migrations_build_exactly_the_schema_module(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine, replay=True)  # every migration, one after the other
        diff, revision = _schema_diff_and_revision(engine)
    finally:
        engine.dispose()
    assert diff == []
    assert revision == _head()


def test_a_new_database_is_built_from_the_schema_module_at_the_newest_revision(
    cl: Consentline,
) -> None:
    diff, revision = _schema_diff_and_revision(cl.engine)
    assert diff == []
    assert revision == _head()
    migrate(cl.engine)  # and later upgrades find nothing to do
    assert _schema_diff_and_revision(cl.engine) == ([], _head())


def test_connecting_again_migrates_nothing_and_keeps_data(
    cl: Consentline, db_url: str, clock: Clock
) -> None:
    events = fill(cl, 2)
    again = consentline.connect(db_url, clock=clock)
    try:
        assert again.verify().events == len(events)
    finally:
        again.close()


def test_events_are_hash_chained_per_tenant(cl: Consentline) -> None:
    events = fill(cl, 3)
    assert events[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(events):
        assert after.prev_hash == before.hash
        assert after.seq == before.seq + 1
    cl.create_account("other")
    cl.add_line("+18005550198", account="other")
    other = cl.record("+14155550101", "opt_out", line="+18005550198")
    assert (other.seq, other.prev_hash) == (1, GENESIS)
    report = cl.verify()
    assert report.ok and report.tenants == 2 and report.events == len(events) + 1


def test_verify_catches_a_modified_event(cl: Consentline) -> None:
    events = fill(cl)
    sql(
        cl,
        'UPDATE events SET proof = \'{"form_url":"https://evil.example"}\' WHERE id = :id',
        id=events[1].id,
    )
    report = cl.verify()
    assert not report.ok
    assert [(p.kind, p.event_id) for p in report.problems] == [("modified", events[1].id)]


def test_verify_catches_a_modified_and_rehashed_event(cl: Consentline) -> None:
    events = fill(cl)
    sql(cl, "UPDATE events SET hash = :h WHERE id = :id", h="f" * 64, id=events[2].id)
    kinds = {p.kind for p in cl.verify().problems}
    assert "modified" in kinds


def test_verify_catches_a_deleted_event(cl: Consentline) -> None:
    events = fill(cl)
    sql(cl, "DELETE FROM events WHERE id = :id", id=events[2].id)
    problems = cl.verify().problems
    assert ("deleted", events[2].seq) in {(p.kind, p.seq) for p in problems}


def test_verify_catches_a_deleted_tail(cl: Consentline) -> None:
    events = fill(cl)
    sql(cl, "DELETE FROM events WHERE id = :id", id=events[-1].id)
    assert "deleted" in {p.kind for p in cl.verify().problems}


def test_verify_catches_reordered_events(cl: Consentline) -> None:
    events = fill(cl)
    a, b = events[1], events[2]
    sql(cl, "UPDATE events SET seq = -1 WHERE id = :id", id=a.id)
    sql(cl, "UPDATE events SET seq = :s WHERE id = :id", s=a.seq, id=b.id)
    sql(cl, "UPDATE events SET seq = :s WHERE id = :id", s=b.seq, id=a.id)
    assert "reordered" in {p.kind for p in cl.verify().problems}


def test_verify_catches_a_tampered_projection_and_rebuild_repairs_it(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(w.x, "opt_out", via=w.L1, source="keyword")
    sql(cl, "DELETE FROM consent_state")
    assert cl.check(w.x, from_=w.L1, purpose="transactional").allowed  # the damage is real
    report = cl.verify()
    assert [p.kind for p in report.problems] == ["projection"]
    assert cl.rebuild_projection("t") == 1
    assert cl.verify().ok
    assert cl.check(w.x, from_=w.L1, purpose="transactional").reason == "opted_out"


def test_an_applied_idempotency_key_returns_the_original_and_appends_nothing(
    cl: Consentline, clock: Clock
) -> None:
    w = worked_setup(cl)
    first = cl.record(w.x, "opt_out", via=w.L1, source="keyword", idempotency_key="SM123")
    clock.advance(minutes=3)
    again = cl.record(w.x, "opt_out", via=w.L1, source="keyword", idempotency_key="SM123")
    assert again == first
    assert cl.verify().events == 1
    with pytest.raises(IdempotencyConflict):
        cl.record(w.x, "opt_in", account="a", idempotency_key="SM123")


def test_a_key_repeated_inside_one_batch_is_applied_once(cl: Consentline) -> None:
    w = worked_setup(cl)
    request = RecordRequest(w.x, "opt_out", via=w.L1, source="keyword", idempotency_key="k1")
    events = cl.record_many([request, request])
    assert events[0] == events[1]
    assert cl.verify().events == 1
    other = RecordRequest(w.x, "opt_in", account="a", idempotency_key="k1")
    with pytest.raises(IdempotencyConflict):
        cl.record_many(
            [
                RecordRequest(w.x, "resume", via=w.L1, idempotency_key="k2"),
                RecordRequest(w.x, "opt_out", via=w.L1, idempotency_key="k2"),
            ]
        )
    with pytest.raises(IdempotencyConflict):
        cl.record_many([other])
    assert cl.verify().events == 1


def test_history_returns_every_event_with_proof_and_hashes_oldest_first(cl: Consentline) -> None:
    w = worked_setup(cl)
    cl.record(
        w.x,
        "opt_in",
        account="a",
        purpose="marketing",
        source="web_form",
        proof={"form_url": "https://a.example/join", "ip": "198.51.100.4"},
    )
    cl.record(w.x, "opt_out", via=w.L1, source="keyword", proof={"text": "STOP"})
    history = cl.history("(415) 555-0123", account="a")
    assert [e.action for e in history] == ["opt_in", "opt_out"]
    assert history[0].proof == {"form_url": "https://a.example/join", "ip": "198.51.100.4"}
    assert history[1].prev_hash == history[0].hash
    assert cl.history(w.x, account="a", channel="whatsapp") == []


def test_concurrent_writers_keep_one_unbroken_chain(
    cl: Consentline, db_url: str, clock: Clock
) -> None:
    w = worked_setup(cl)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        client = consentline.connect(db_url, clock=clock, migrate_schema=False)
        try:
            for i in range(15):
                client.record(f"+1415555{n}{i:03d}", "opt_out", via=w.L1, source="keyword")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = cl.verify()
    assert report.ok and report.events == 60


def test_a_line_added_by_another_client_is_found_without_waiting(db_url: str, clock: Clock) -> None:
    first = consentline.connect(db_url, clock=clock, cache_seconds=3600)
    second = consentline.connect(db_url, clock=clock, cache_seconds=3600)
    try:
        first.create_account("acme", default_region="US")
        first.check  # noqa: B018 - warm the cache of the first client
        second.add_line("+18005550100", account="acme")
        second.record("+14155550101", "opt_out", line="+18005550100")
        d = first.check("+14155550101", from_="+18005550100", purpose="marketing")
        assert d.reason == "opted_out"
        first.record("+14155550102", "opt_in", line="+18005550100", purpose="marketing")
    finally:
        first.close()
        second.close()


def test_database_failures_become_storage_errors() -> None:
    with pytest.raises(consentline.StorageError):
        consentline.connect("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with pytest.raises(consentline.InvalidConfig):
        consentline.connect("mysql://root@127.0.0.1/test")
    with pytest.raises(consentline.InvalidConfig):
        consentline.connect("not a url")


def test_an_unusable_database_folder_is_a_storage_error() -> None:
    with pytest.raises(consentline.StorageError):
        consentline.connect("sqlite:////proc/no/such/place.db")


def test_a_bad_url_is_refused_without_echoing_a_password() -> None:
    with pytest.raises(consentline.InvalidConfig) as info:
        consentline.connect("mysql://root:hunter2@127.0.0.1/test")
    assert "hunter2" not in str(info.value.to_dict())


def test_history_finds_email_addresses_without_naming_the_channel(cl: Consentline) -> None:
    worked_setup(cl)
    cl.record("Ann@Example.com", "opt_out", account="a", channel="email", source="web_form")
    assert [e.action for e in cl.history("ann@example.com", account="a")] == ["opt_out"]
