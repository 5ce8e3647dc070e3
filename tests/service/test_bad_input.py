"""Every kind of bad input is a typed ConsentlineError and writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import consentline as c
from consentline import Consentline
from tests.conftest import worked_setup


def ledger_size(cl: Consentline) -> int:
    return cl.verify().events


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"address": "not a number"}, c.InvalidAddress),
        ({"address": "+15555550100"}, c.InvalidAddress),
        ({"action": "unsubscribe"}, c.InvalidAction),
        ({"channel": "fax"}, c.InvalidChannel),
        ({"account": "nobody"}, c.UnknownAccount),
        ({"account": None, "line": "+18009999999"}, c.UnknownLine),
        ({"account": None}, c.InvalidInput),
        ({"line": "+18005550101"}, c.InvalidInput),  # two scopes
        ({"purpose": "astrology"}, c.UnknownPurpose),
        ({"purpose": "Marketing!"}, c.InvalidConfig),
        ({"topic": "Big Sale"}, c.InvalidConfig),
        ({"source": "web form"}, c.InvalidConfig),
        ({"proof": {"ip": object()}}, c.InvalidInput),
        ({"proof": {1: "x"}}, c.InvalidInput),
        ({"proof": ["not", "a", "mapping"]}, c.InvalidInput),
        ({"proof": {"blob": "x" * 20_000}}, c.InvalidInput),
        ({"occurred_at": datetime(2026, 1, 1)}, c.InvalidTime),  # naive
        ({"idempotency_key": "k" * 300}, c.InvalidInput),
        ({"idempotency_key": ""}, c.InvalidInput),
    ],
)
def test_bad_record_input_is_a_typed_error_and_nothing_is_written(
    cl: Consentline, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    w = worked_setup(cl)
    args: dict[str, Any] = {
        "address": w.x,
        "action": "opt_in",
        "account": "a",
        "purpose": "marketing",
        "source": "api",
    }
    args.update(kwargs)
    with pytest.raises(error) as info:
        cl.record(args.pop("address"), args.pop("action"), **args)
    assert isinstance(info.value, c.ConsentlineError)
    assert info.value.to_dict()["code"] == info.value.code
    assert ledger_size(cl) == 0


def test_a_future_occurred_at_is_refused(cl: Consentline) -> None:
    w = worked_setup(cl)
    with pytest.raises(c.InvalidTime):
        cl.record(w.x, "opt_in", account="a", occurred_at=cl.now() + timedelta(hours=1))


def test_one_bad_request_in_a_batch_writes_nothing_at_all(cl: Consentline) -> None:
    w = worked_setup(cl)
    batch = [
        c.RecordRequest(w.x, "opt_in", account="a", purpose="marketing"),
        c.RecordRequest("+14155550199", "opt_out", via=w.L1, source="keyword"),
        c.RecordRequest("garbage", "opt_out", via=w.L1),
    ]
    with pytest.raises(c.InvalidAddress):
        cl.record_many(batch)
    assert ledger_size(cl) == 0
    assert cl.check(w.x, from_=w.L1, purpose="marketing").reason == "no_consent"


def test_check_refuses_bad_input_with_typed_errors(cl: Consentline) -> None:
    w = worked_setup(cl)
    with pytest.raises(c.InvalidAddress):
        cl.check("garbage", from_=w.L1, purpose="marketing")
    with pytest.raises(c.InvalidAddress):
        cl.check("+15555550100", from_=w.L1, purpose="marketing")  # E.164-shaped, not valid
    with pytest.raises(c.UnknownLine):
        cl.check(w.x, from_="+18009999999", purpose="marketing")
    with pytest.raises(c.InvalidInput):
        cl.check(w.x, from_="!!", purpose="marketing")
    with pytest.raises(c.InvalidChannel):
        cl.check(w.x, from_=w.L1, purpose="marketing", channel="fax")
    with pytest.raises(c.InvalidTime):
        cl.check(w.x, from_=w.L1, purpose="marketing", at=datetime(2026, 1, 1))


def test_account_and_line_errors_are_typed(cl: Consentline) -> None:
    worked_setup(cl)
    with pytest.raises(c.AccountExists):
        cl.create_account("a", parent="t")
    with pytest.raises(c.UnknownAccount):
        cl.create_account("z", parent="nobody")
    with pytest.raises(c.InvalidSlug):
        cl.create_account("Not A Slug")
    with pytest.raises(c.InvalidReach):
        cl.create_account("z", parent="t", reach="galaxy")
    with pytest.raises(c.InvalidConfig):
        cl.create_account("z", parent="t", default_region="usa")
    with pytest.raises(c.LineExists):
        cl.add_line("+1 800 555 0101", account="b")
    with pytest.raises(c.UnknownAccount):
        cl.add_line("+18005550177", account="nobody")
    with pytest.raises(c.InvalidAddress):
        cl.add_line("+1 555 555 0100 99", account="a")


def test_moving_an_account_under_its_descendant_is_an_account_cycle(cl: Consentline) -> None:
    worked_setup(cl)
    with pytest.raises(c.AccountCycle):
        cl.update_account("a", parent="b")
    with pytest.raises(c.AccountCycle):
        cl.update_account("a", parent="a")
    assert cl.directory().account("a").parent_id == cl.directory().account("t").id


def test_accounts_never_move_between_tenants(cl: Consentline) -> None:
    worked_setup(cl)
    cl.create_account("other")
    with pytest.raises(c.CrossTenant):
        cl.update_account("a", parent="other")
    with pytest.raises(c.CrossTenant):
        cl.update_account("other", parent="t")
    with pytest.raises(c.CrossTenant):
        cl.update_account("a", parent=None)


def test_purpose_and_policy_settings_are_validated(cl: Consentline) -> None:
    worked_setup(cl)
    with pytest.raises(c.InvalidConfig):
        cl.set_purpose("t", "marketing", "strict")
    with pytest.raises(c.InvalidTime):
        cl.set_purpose("t", "marketing", "restrictive", quiet_hours="late")
    with pytest.raises(c.InvalidTime):
        cl.set_purpose("t", "marketing", "restrictive", consent_ttl=timedelta(days=-1))
    with pytest.raises(c.InvalidTime):
        cl.set_policy("t", pending_ttl=timedelta(0))
    with pytest.raises(c.InvalidInput):
        cl.set_policy("t", retention=timedelta(days=1))
    with pytest.raises(c.InvalidInput):
        cl.update_account("a", colour="blue")


def test_errors_print_usefully_and_mask_numbers(cl: Consentline) -> None:
    w = worked_setup(cl)
    with pytest.raises(c.InvalidAddress) as info:
        cl.record("+1 555 555 0100", "opt_in", account="a")
    assert "555 555 0100" not in str(info.value)
    assert info.value.to_dict()["code"] == "invalid_address"
    with pytest.raises(c.UnknownAccount) as missing:
        cl.record(w.x, "opt_in", account="ghost")
    assert missing.value.to_dict() == {
        "code": "unknown_account",
        "message": "no account 'ghost'",
        "account": "ghost",
    }


def test_a_recipient_that_is_not_a_string_is_an_invalid_address(cl: Consentline) -> None:
    w = worked_setup(cl)
    with pytest.raises(c.InvalidAddress):
        cl.check(4155550123, from_=w.L1, purpose="marketing")  # type: ignore[arg-type]
    results = list(cl.check_many([4155550123, None], from_=w.L1, purpose="marketing"))  # type: ignore[list-item]
    assert [d.reason for d in results] == ["invalid_address", "invalid_address"]
