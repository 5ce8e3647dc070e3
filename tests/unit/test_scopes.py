"""Account tree, reach and compliance boundaries (docs/model.md, reach; C16)."""

from __future__ import annotations

import pytest

from consentline.domain.errors import AccountCycle, InvalidReach, InvalidSlug, UnknownLine
from consentline.domain.scopes import (
    Account,
    Directory,
    Line,
    ScopeKey,
    account_scope,
    check_reach,
    check_slug,
    line_scope,
    parse_scope,
)


def tree(*, b_isolated: bool = False, a_reach: str | None = None) -> Directory:
    return Directory(
        [
            Account(1, "t", 1, None, "tree", False, "US"),
            Account(2, "a", 1, 1, check_reach(a_reach), False, None),
            Account(3, "b", 1, 2, None, b_isolated, None),
            Account(4, "c", 1, 3, None, False, None),
        ],
        [Line(10, "+18005550101", 2, 1), Line(30, "+18005550103", 3, 1), Line(40, "777", 4, 1)],
    )


def test_lines_are_covered_by_their_line_and_every_account_up_to_the_root() -> None:
    d = tree()
    assert d.covering_scopes(d.line("777")) == {"L40", "A4", "A3", "A2", "A1"}


def test_an_isolated_account_is_the_boundary_for_lines_below_it() -> None:
    d = tree(b_isolated=True)
    assert d.covering_scopes(d.line("777")) == {"L40", "A4", "A3"}
    assert d.boundary(4).slug == "b"
    assert d.covering_scopes(d.line("+18005550101")) == {"L10", "A2", "A1"}


def test_reach_is_inherited_from_the_nearest_account_that_sets_it() -> None:
    d = tree(a_reach="account")
    assert d.effective_reach(4) == "account"
    assert tree().effective_reach(4) == "tree"


def test_reach_scope_of_a_keyword_follows_the_effective_reach() -> None:
    line = tree().line("777")
    assert tree(a_reach="line").reach_scope(line) == "L40"
    assert tree(a_reach="account").reach_scope(line) == "A4"
    assert tree().reach_scope(line) == "A1"
    assert tree(b_isolated=True).reach_scope(line) == "A3"
    assert tree().reach_scope(line, "line") == "L40"  # per-keyword override


def test_moving_an_account_under_its_own_descendant_is_a_cycle() -> None:
    d = tree()
    with pytest.raises(AccountCycle):
        d.check_parent(2, 4)
    with pytest.raises(AccountCycle):
        d.check_parent(2, 2)
    d.check_parent(4, 2)  # moving c up under a is fine


def test_a_stored_cycle_is_reported_not_looped_forever() -> None:
    d = Directory(
        [Account(1, "x", 1, 2, None, False, None), Account(2, "y", 1, 1, None, False, None)], []
    )
    with pytest.raises(AccountCycle):
        d.ancestors(1)


@pytest.mark.parametrize("slug", ["", "Acme", "a b", "-x", "x" * 64, "ünï"])
def test_bad_slugs_are_refused(slug: str) -> None:
    with pytest.raises(InvalidSlug):
        check_slug(slug)


def test_unknown_reach_and_line_are_typed_errors() -> None:
    with pytest.raises(InvalidReach):
        check_reach("planet")
    with pytest.raises(UnknownLine):
        tree().line("+19999999999")


def test_scopes_are_described_for_people() -> None:
    d = tree()
    assert d.describe_scope("A2") == "account a"
    assert d.describe_scope("L10") == "line +18005550101"


def test_an_account_is_within_itself_and_its_ancestors_subtrees_only() -> None:
    d = tree()
    assert d.is_within(4, 4) and d.is_within(4, 2) and d.is_within(4, 1)
    assert not d.is_within(2, 3)  # a parent is not inside its child's subtree


def test_a_scope_belongs_to_its_account_or_to_its_lines_owner() -> None:
    d = tree()
    assert (d.scope_account("A3"), d.scope_account("L40"), d.scope_account("L10")) == (3, 4, 2)


@pytest.mark.parametrize("ident", [1, 42, 2**63 - 1])
def test_parse_scope_reads_back_what_line_scope_and_account_scope_write(ident: int) -> None:
    assert parse_scope(line_scope(ident)) == ScopeKey("line", ident)
    assert parse_scope(account_scope(ident)) == ScopeKey("account", ident)
    assert parse_scope(line_scope(ident)).is_line and not parse_scope(account_scope(ident)).is_line


@pytest.mark.parametrize("key", ["", "L", "A", "X7", "l7", "L-1", "L 7", "L7 ", "A1.5", "L٣"])
def test_a_string_that_is_no_scope_key_is_refused(key: str) -> None:
    with pytest.raises(ValueError, match="not a scope key"):
        parse_scope(key)
