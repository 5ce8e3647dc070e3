"""The fold (docs/model.md, "The decision" 2-3) and the projection's compaction, pure."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from consentline.domain.ledger import (
    IN,
    NONE,
    OUT,
    PENDING,
    Entry,
    compact,
    decode,
    encode,
    fold,
    insert_entry,
    parse_shape,
)

SCOPES = frozenset({"L1", "A1"})


def entries(*specs: str) -> list[Entry]:
    """'i:A1:marketing:topic' -> Entry (ids and times follow the order given)."""
    out = []
    for n, spec in enumerate(specs, start=1):
        code, scope, purpose, topic = ([*spec.split(":"), "", "", ""])[:4]
        out.append(Entry(n, code, scope, purpose, topic, n * 1_000_000, "api"))
    return out


def shapes(items: list[Entry]) -> tuple[tuple[str, ...], ...]:
    return parse_shape(encode(items).shape)


def run(items: list[Entry], purpose: str = "marketing", topic: str = "") -> tuple[str, int]:
    return fold(shapes(items), SCOPES, purpose, topic)


def test_nothing_known_is_none() -> None:
    assert run([]) == (NONE, -1)


def test_opt_in_then_opt_out_is_out_citing_the_opt_out() -> None:
    assert run(entries("i:A1", "o:L1")) == (OUT, 1)


def test_resume_returns_to_the_state_the_opt_out_masked() -> None:
    assert run(entries("i:A1", "o:L1", "r:L1")) == (IN, 0)


def test_resume_after_two_stops_clears_the_whole_opt_out() -> None:
    assert run(entries("i:A1", "o:L1", "o:A1", "r:L1")) == (IN, 0)


def test_resume_without_an_opt_out_changes_nothing() -> None:
    assert run(entries("r:L1")) == (NONE, -1)
    assert run(entries("i:A1", "r:L1")) == (IN, 0)


def test_lapse_forgets_an_opt_in() -> None:
    assert run(entries("i:A1", "l:A1")) == (NONE, 1)


def test_a_lapse_never_clears_an_opt_out_but_forgets_what_it_masked() -> None:
    assert run(entries("i:A1", "o:L1", "l:A1")) == (OUT, 1)
    assert run(entries("i:A1", "o:L1", "l:A1", "r:L1")) == (NONE, 2)


def test_pending_does_not_displace_an_opt_in_or_clear_an_opt_out() -> None:
    assert run(entries("i:A1", "p:A1")) == (IN, 0)
    assert run(entries("o:A1", "p:A1")) == (OUT, 0)
    assert run(entries("o:A1", "p:A1", "r:A1")) == (PENDING, 1)


def test_opt_in_clears_an_opt_out() -> None:
    assert run(entries("o:L1", "i:L1")) == (IN, 1)


def test_events_outside_the_covering_scopes_are_ignored() -> None:
    assert run(entries("o:L9", "o:A7")) == (NONE, -1)


def test_purpose_bound_events_cover_only_that_purpose() -> None:
    items = entries("o:A1:marketing")
    assert run(items, purpose="marketing") == (OUT, 0)
    assert run(items, purpose="transactional") == (NONE, -1)


def test_untopical_opt_out_covers_topic_sends_but_untopical_opt_in_does_not() -> None:
    assert run(entries("o:A1"), topic="volunteer") == (OUT, 0)
    assert run(entries("i:A1"), topic="volunteer") == (NONE, -1)
    assert run(entries("i:A1::volunteer"), topic="volunteer") == (IN, 0)
    assert run(entries("i:A1::volunteer"), topic="") == (NONE, -1)


def test_topic_opt_out_leaves_other_topics_alone() -> None:
    items = entries("i:A1::news", "o:L1::volunteer")
    assert run(items, topic="news") == (IN, 0)
    assert run(items, topic="volunteer") == (OUT, 1)


def test_encode_decode_round_trip() -> None:
    items = entries("i:A1:marketing:news", "o:L1", "p:A1")
    projection = encode(items)
    assert decode(projection.shape, projection.ids, projection.times) == items
    assert projection.max_us == 3_000_000


def test_insert_entry_keeps_fold_order_for_backdated_events() -> None:
    items = entries("i:A1", "o:L1")
    backdated = Entry(9, "o", "A1", "", "", 500_000, "import")
    insert_entry(items, backdated)
    assert [e.id for e in items] == [9, 1, 2]


def test_compaction_drops_history_before_a_wider_opt_in() -> None:
    items = entries("i:A1:marketing", "p:A1:marketing", "o:A1:marketing:news", "i:A1::news", "i:A1")
    assert [(e.code, e.topic) for e in compact(items)] == [("i", "news"), ("i", "")]


def test_compaction_keeps_an_untopical_opt_out_before_an_opt_in() -> None:
    items = entries("o:A1", "i:A1")
    assert compact(items) == items  # the opt-out still covers topic sends


# -- property: compaction never changes any fold -------------------------------------
_entry = st.tuples(
    st.sampled_from("iorlp"),
    st.sampled_from(["L1", "A1", "A2"]),
    st.sampled_from(["", "marketing", "transactional"]),
    st.sampled_from(["", "news", "volunteer"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_entry, max_size=12))
def test_compaction_never_changes_the_fold_of_any_send(specs: list[tuple[str, ...]]) -> None:
    items = [Entry(n, c, s, p, t, n, "api") for n, (c, s, p, t) in enumerate(specs, start=1)]
    kept = compact(items)
    for scopes in (frozenset({"L1", "A1"}), frozenset({"A2"}), frozenset({"L1", "A1", "A2"})):
        for purpose in ("marketing", "transactional"):
            for topic in ("", "news", "volunteer"):
                full_state, full_index = fold(shapes(items), scopes, purpose, topic)
                state, index = fold(shapes(kept), scopes, purpose, topic)
                assert state == full_state
                full_id = items[full_index].id if full_index >= 0 else None
                assert (kept[index].id if index >= 0 else None) == full_id


def test_shape_survives_the_round_trip_through_its_string_form() -> None:
    items = entries("i:A1:marketing", "o:L1::news", "r:L1")
    assert shapes(items) == (
        ("i", "A1", "marketing", "", "api"),
        ("o", "L1", "", "news", "api"),
        ("r", "L1", "", "", "api"),
    )
