"""Operators, their sign-in rate limits and the hosted form's pending consent, on
SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from consentline import Consentline
from consentline.domain.errors import (
    InvalidInput,
    OperatorExists,
    TooManyAttempts,
    Unauthorized,
    UnknownAccount,
)
from consentline.services import join_form
from consentline.services.operators import LOGIN_LIMIT, LOGIN_WINDOW_S, throttle_key, window_of
from tests.conftest import Clock

PASSWORD = "correct horse battery"
X = "+14155550123"


@pytest.fixture
def acme(cl: Consentline) -> Consentline:
    cl.create_account("acme", default_region="US")
    cl.add_line("+18005550100", account="acme")
    cl.set_purpose("acme", "marketing", "restrictive")
    return cl


def _create(cl: Consentline, name: str = "maria", role: str = "write") -> None:
    cl.operators().create(
        name, directory=cl.directory(), account="acme", role=role, password=PASSWORD
    )


def test_an_operator_signs_in_with_their_password_and_only_the_hash_is_stored(
    acme: Consentline,
) -> None:
    _create(acme, "Maria")
    found = acme.operators().authenticate("maria", PASSWORD, ip="127.0.0.1")
    assert (found.name, found.role) == ("maria", "write")
    with acme.units(write=False) as uow:
        row = uow.operators.by_name("maria")
    assert row is not None
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash


def test_a_wrong_password_an_unknown_name_and_a_disabled_operator_answer_the_same(
    acme: Consentline,
) -> None:
    _create(acme)
    ops = acme.operators()
    messages = []
    for name, password in (("maria", "wrong password!"), ("nobody", PASSWORD)):
        with pytest.raises(Unauthorized) as caught:
            ops.authenticate(name, password, ip="127.0.0.1")
        messages.append(str(caught.value))
    ops.disable("maria")
    with pytest.raises(Unauthorized) as caught:
        ops.authenticate("maria", PASSWORD, ip="127.0.0.1")
    messages.append(str(caught.value))
    assert len(set(messages)) == 1


def test_names_are_unique_roles_checked_passwords_long_enough_accounts_known(
    acme: Consentline,
) -> None:
    _create(acme)
    with pytest.raises(OperatorExists):
        _create(acme, "MARIA")
    with pytest.raises(InvalidInput):
        _create(acme, "lee", role="owner")
    with pytest.raises(InvalidInput):
        acme.operators().create(
            "lee", directory=acme.directory(), account="acme", role="read", password="short"
        )
    with pytest.raises(UnknownAccount):
        acme.operators().create(
            "lee", directory=acme.directory(), account="nope", role="read", password=PASSWORD
        )


def test_sign_in_is_refused_after_the_limit_of_failures_per_name_until_the_window_ends(
    acme: Consentline, clock: Clock
) -> None:
    _create(acme)
    ops = acme.operators()
    for n in range(LOGIN_LIMIT):
        with pytest.raises(Unauthorized):
            ops.authenticate("maria", "wrong password!", ip=f"10.0.0.{n}")
    with pytest.raises(TooManyAttempts):  # even the right password, from a new IP
        ops.authenticate("maria", PASSWORD, ip="10.0.1.1")
    clock.advance(seconds=LOGIN_WINDOW_S)
    assert ops.authenticate("maria", PASSWORD, ip="10.0.1.1").name == "maria"


def test_sign_in_is_refused_after_the_limit_of_failures_per_ip(acme: Consentline) -> None:
    _create(acme)
    ops = acme.operators()
    for n in range(LOGIN_LIMIT):
        with pytest.raises(Unauthorized):
            ops.authenticate(f"guess{n}", PASSWORD, ip="10.9.9.9")
    with pytest.raises(TooManyAttempts):
        ops.authenticate("maria", PASSWORD, ip="10.9.9.9")
    assert ops.authenticate("maria", PASSWORD, ip="10.9.9.8").name == "maria"


def test_a_rate_limit_counts_across_clients_of_one_database(acme: Consentline) -> None:
    first, second = acme.operators(), acme.operators()
    first.hit("join_ip", "1.2.3.4", limit=2, seconds=60)
    second.hit("join_ip", "1.2.3.4", limit=2, seconds=60)
    with pytest.raises(TooManyAttempts) as caught:
        first.hit("join_ip", "1.2.3.4", limit=2, seconds=60)
    assert caught.value.data["retry_after"] >= 1
    window = window_of(acme.now(), 60)
    with acme.units(write=False) as uow:  # what is counted is stored as a digest only
        assert uow.operators.hits("join_ip", throttle_key("1.2.3.4"), window) == 3
        assert uow.operators.hits("join_ip", "1.2.3.4", window) == 0


def test_the_hosted_form_records_pending_with_proof_and_queues_the_double_opt_in(
    acme: Consentline,
) -> None:
    acme.configure_account(
        "acme",
        program_name="Acme Deals",
        consent_text="I agree to receive recurring marketing texts from Acme Deals.",
        consent_version="2027-01",
    )
    form = join_form.join_form(acme.account_settings("acme"), account="acme", topic=None)
    request = join_form.join_request(
        form, X, url="https://x.example/join/acme", ip="192.0.2.1", user_agent="test"
    )
    (result,) = acme.record_results([request])
    event = result.event
    assert (event.action, event.source, event.purpose) == ("pending", "web_form", "marketing")
    assert event.proof["consent_version"] == "2027-01"
    assert event.proof["consent_text"] == form.consent_text
    assert len(event.proof["consent_sha256"]) == 64
    assert {"form_url", "ip", "user_agent"} <= set(event.proof)
    queued = [m for m in acme.outbox() if m.kind == "double_opt_in_request"]
    assert len(queued) == 1
    check = acme.check(X, from_="+18005550100", purpose="marketing")
    assert check.reason == "pending_confirmation"
    acme.handle_inbound(from_=X, to="+18005550100", text="YES")  # C24: the handset confirms
    assert acme.check(X, from_="+18005550100", purpose="marketing").reason == "opted_in"


def test_a_form_for_a_topic_the_account_has_no_keyword_for_is_not_found(
    acme: Consentline,
) -> None:
    from consentline.domain.errors import NotFound

    with pytest.raises(NotFound):
        join_form.join_form(acme.account_settings("acme"), account="acme", topic="volunteer")


def test_the_contact_view_reads_the_history_a_page_at_a_time_newest_first(
    acme: Consentline, clock: Clock
) -> None:
    from consentline.services.contact_view import contact_view

    acme.create_account("other", default_region="US")
    for n in range(7):
        clock.advance(seconds=1)
        acme.record(X, "opt_in" if n % 2 else "opt_out", account="acme", purpose="marketing")
    acme.record(X, "opt_out", account="other")  # another tenant's: never shown
    home = acme.directory().account("acme")
    with acme.units(write=False) as uow:
        first = contact_view(uow, acme.directory(), home=home, address=X, per_page=3)
        last = contact_view(uow, acme.directory(), home=home, address=X, page=9, per_page=3)
    assert (first.total_events, first.pages, first.page) == (7, 3, 1)
    assert [e.seq for e in first.events] == [7, 6, 5]
    assert (last.page, [e.seq for e in last.events]) == (3, [1])


def test_the_shipped_password_hash_is_memory_hard() -> None:
    """argon2id at RFC 9106's second recommended profile (the tests run a cheap one)."""
    from argon2 import Type

    from tests.conftest import PRODUCTION_HASHER

    assert PRODUCTION_HASHER.type is Type.ID
    assert PRODUCTION_HASHER.memory_cost >= 64 * 1024 and PRODUCTION_HASHER.time_cost >= 3
    assert PRODUCTION_HASHER.hash("a long password!").startswith("$argon2id$v=19$m=65536,t=3")
