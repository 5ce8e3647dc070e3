"""Contact references parse as system:ref or a bare ref, and are never a number."""

from __future__ import annotations

import pytest

from consentline.domain.contact_refs import (
    MAX_REFS,
    ContactRef,
    parse_contact_ref,
    parse_contact_refs,
)
from consentline.domain.errors import InvalidContactRef


def test_a_system_prefix_names_the_system_and_a_bare_ref_is_the_default_system() -> None:
    assert parse_contact_ref("salesforce:003xx00000Abc") == ContactRef(
        "salesforce", "003xx00000Abc"
    )
    assert parse_contact_ref(" 12345 ") == ContactRef("default", "12345")
    assert parse_contact_ref("hubspot:51:x") == ContactRef("hubspot", "51:x")
    assert parse_contact_ref("Lead:00Q1").system == "default"  # not a system name


@pytest.mark.parametrize(
    "bad",
    ["", "sf:", "  ", "+14155550123", "sf:+14155550123", "a b", "x@example.com", "é", "a" * 256],
)
def test_bad_refs_are_refused_without_echoing_them(bad: str) -> None:
    with pytest.raises(InvalidContactRef) as caught:
        parse_contact_ref(bad)
    assert caught.value.code == "invalid_contact_ref"
    if len(bad) > 3:
        assert bad not in str(caught.value)


def test_lists_are_deduplicated_in_order_and_bounded() -> None:
    assert parse_contact_refs(None) == ()
    assert parse_contact_refs(["sf:1", "b", "sf:1"]) == (
        ContactRef("sf", "1"),
        ContactRef("default", "b"),
    )
    with pytest.raises(InvalidContactRef):
        parse_contact_refs([f"r{i}" for i in range(MAX_REFS + 1)])
