"""The revoke-all rule in the pure fold and compaction (C16)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentline.domain.errors import InvalidConfig
from consentline.domain.ledger import (
    NONE,
    OUT,
    Entry,
    compact,
    encode,
    fold,
    parse_shape,
    revoking_all,
    scoped_opt_outs,
    widened_entries,
)
from consentline.domain.policy import (
    DEFAULT_REVOKE_ALL_FROM,
    PurposeRule,
    TenantPolicy,
    check_revoke_all_from,
    revoke_all_instant,
)

SCOPES = frozenset({"L1", "A1"})


def items(*specs: str) -> list[Entry]:
    """'o:A1:marketing:topic@time' -> Entry."""
    out = []
    for n, spec in enumerate(specs, start=1):
        body, _, when = spec.partition("@")
        code, scope, purpose, topic = ([*body.split(":"), "", "", ""])[:4]
        out.append(Entry(n, code, scope, purpose, topic, int(when or n), "api"))
    return out


def run(entries: list[Entry], purpose: str, topic: str = "", from_us: int | None = 10) -> str:
    shape = parse_shape(encode(entries).shape)
    return fold(shape, SCOPES, purpose, topic, widened_entries(entries, from_us))[0]


def test_a_scoped_opt_out_from_the_instant_covers_other_purposes_and_topics() -> None:
    after = items("o:A1:marketing@10")
    assert run(after, "transactional") == OUT
    assert run(after, "marketing", "volunteer") == OUT
    assert run(after, "transactional", from_us=None) == NONE  # the rule off


def test_one_before_the_instant_keeps_its_scope() -> None:
    assert run(items("o:A1:marketing@9"), "transactional") == NONE
    assert run(items("o:A1::volunteer@9"), "marketing") == NONE


def test_the_widened_opt_out_stays_at_its_own_scope() -> None:
    assert run(items("o:A2:marketing@10"), "transactional") == NONE


def test_an_unscoped_resume_clears_it_and_a_scoped_one_only_for_its_purpose() -> None:
    assert run(items("i:A1:marketing@1", "o:A1:marketing@10", "r:L1@11"), "marketing") == "in"
    scoped = items("o:A1:marketing@10", "r:A1:marketing@11")
    assert run(scoped, "marketing") == NONE
    assert run(scoped, "transactional") == OUT


def test_the_indexes_of_scoped_opt_outs_and_those_dated_on_or_after() -> None:
    entries = items("o:A1@1", "o:A1:marketing@5", "i:A1:marketing@6", "o:L1::news@12")
    shape = parse_shape(encode(entries).shape)
    assert scoped_opt_outs(shape) == (1, 3)
    times = [e.occurred_us for e in entries]
    assert revoking_all((1, 3), times, 5) == {1, 3}
    assert revoking_all((1, 3), times, 6) == {3}
    assert revoking_all((1, 3), times, None) == frozenset()
    assert widened_entries(entries, 6) == {3}


def test_compaction_keeps_a_widened_topic_opt_out_that_a_topic_opt_in_follows() -> None:
    entries = items("o:A1::news@10", "i:A1::news@11")
    assert compact(entries, 10) == entries
    assert compact(entries, 11) == entries[1:]  # before the instant: dropped as ever
    assert compact(entries) == entries[1:]


_entry = st.tuples(
    st.sampled_from("iorlp"),
    st.sampled_from(["L1", "A1", "A2"]),
    st.sampled_from(["", "marketing", "transactional"]),
    st.sampled_from(["", "news", "volunteer"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_entry, max_size=12), st.sampled_from([None, 1, 4, 8, 20]))
def test_compaction_never_changes_a_fold_under_the_rule(
    specs: list[tuple[str, ...]], from_us: int | None
) -> None:
    entries = [Entry(n, c, s, p, t, n, "api") for n, (c, s, p, t) in enumerate(specs, start=1)]
    kept = compact(entries, from_us)
    for scopes in (frozenset({"L1", "A1"}), frozenset({"A2"}), frozenset({"L1", "A1", "A2"})):
        for purpose in ("marketing", "transactional"):
            for topic in ("", "news", "volunteer"):
                full = fold(
                    parse_shape(encode(entries).shape),
                    scopes,
                    purpose,
                    topic,
                    widened_entries(entries, from_us),
                )
                part = fold(
                    parse_shape(encode(kept).shape),
                    scopes,
                    purpose,
                    topic,
                    widened_entries(kept, from_us),
                )
                assert full[0] == part[0]
                full_id = entries[full[1]].id if full[1] >= 0 else None
                assert (kept[part[1]].id if part[1] >= 0 else None) == full_id


def test_the_policy_default_instant_and_the_disabled_exception() -> None:
    policy = TenantPolicy()
    assert policy.revoke_all_from == DEFAULT_REVOKE_ALL_FROM == date(2027, 1, 31)
    assert policy.revoke_all_us == revoke_all_instant(date(2027, 1, 31)) == 1_801_353_600_000_000
    assert policy.revoke_all_for(PurposeRule("fraud", "disabled")) is None
    assert policy.revoke_all_for(PurposeRule("marketing", "restrictive")) == policy.revoke_all_us
    assert TenantPolicy(revoke_all_from=None).revoke_all_us is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2027-01-31", date(2027, 1, 31)), (" 2026-06-01 ", date(2026, 6, 1)), (None, None)],
)
def test_revoke_all_from_accepts_a_date_or_none(value: object, expected: date | None) -> None:
    assert check_revoke_all_from(value) == expected


@pytest.mark.parametrize("value", ["soon", "2026-13-01", 2027, datetime(2027, 1, 31), ""])
def test_revoke_all_from_refuses_anything_else(value: object) -> None:
    with pytest.raises(InvalidConfig):
        check_revoke_all_from(value)
