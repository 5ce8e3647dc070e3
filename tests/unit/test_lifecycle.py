"""Which consents a number still holds: the pure half of number changes and deactivations."""

from __future__ import annotations

from consentline.domain.ledger import Entry
from consentline.domain.lifecycle import held, held_before, lapse_key


def e(ident: int, code: str, scope: str = "A1", purpose: str = "", topic: str = "") -> Entry:
    return Entry(ident, code, scope, purpose, topic, ident * 10, "api")


def ids(entries: list[Entry]) -> list[int]:
    return [entry.id for entry in entries]


def test_the_newest_opt_in_or_pending_of_each_key_is_held() -> None:
    entries = [e(1, "i", purpose="marketing"), e(2, "p", purpose="marketing"), e(3, "i", topic="v")]
    assert ids(held(entries)) == [2, 3]


def test_an_opt_out_does_not_end_a_consent_it_masks() -> None:
    assert ids(held([e(1, "i", purpose="marketing"), e(2, "o")])) == [1]


def test_a_lapse_ends_what_it_covers_and_nothing_else() -> None:
    entries = [
        e(1, "i", purpose="marketing"),
        e(2, "i", purpose="transactional"),
        e(3, "i", purpose="marketing", topic="v"),
        e(4, "i", "A2", purpose="marketing"),
        e(5, "l", purpose="marketing"),  # covers marketing at A1, topic or not
    ]
    assert ids(held(entries)) == [2, 4]
    assert ids(held([*entries, e(6, "l")])) == [4]  # all purposes and topics at A1


def test_a_consent_given_after_a_lapse_is_held_again() -> None:
    assert ids(held([e(1, "i"), e(2, "l"), e(3, "i")])) == [3]


def test_scopes_outside_the_filter_are_ignored() -> None:
    entries = [e(1, "i", "A1"), e(2, "i", "L7")]
    assert ids(held(entries, lambda scope: scope.startswith("L"))) == [2]


def test_held_before_keeps_only_consents_given_before_the_instant() -> None:
    entries = [e(1, "i", purpose="marketing"), e(3, "i", topic="v")]
    assert ids(held_before(entries, 30)) == [1]  # occurred at 10 and 30 µs


def test_lapse_keys_are_stable_and_tell_changes_apart() -> None:
    assert lapse_key("k", 1, "a") == lapse_key("k", 1, "a")
    assert lapse_key("k", 1, "a") != lapse_key("k", 1, "b")
    assert lapse_key("k", "1a", "") != lapse_key("k", "1", "a")
    assert len(lapse_key("number-change", "x")) <= 255
