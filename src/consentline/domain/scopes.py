"""The account tree, lines, reach and compliance boundaries.

A tenant is a root account. An event is scoped to a line or to an account; it
*covers* a line when its scope is the line itself or an account on the path from
the line's account up to that account's boundary (the nearest ancestor-or-self
that is ``isolated``, or the root). Nothing crosses a boundary in either
direction (docs/model.md, "Where a keyword opt-out applies"; C16).

>>> root = Account(1, "acme", 1, None, "tree", False, "US")
>>> tree = Directory([root], [Line(7, "+18005550100", 1, 1)])
>>> sorted(tree.covering_scopes(tree.line("+18005550100")))
['A1', 'L7']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Final, Literal, NamedTuple, cast

from consentline.domain.errors import (
    AccountCycle,
    InvalidReach,
    InvalidSlug,
    UnknownAccount,
    UnknownLine,
)

Reach = Literal["line", "account", "tree"]
REACHES: Final = ("line", "account", "tree")
DEFAULT_ROOT_REACH: Final[Reach] = "tree"

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def check_slug(slug: str) -> str:
    """Account slugs are lower-case identifiers, unique in the installation."""
    if not isinstance(slug, str) or _SLUG.fullmatch(slug) is None:
        raise InvalidSlug(
            f"{slug!r} is not a valid account slug (lower-case letters, digits, '-', '_';"
            " at most 63 characters)",
            slug=str(slug)[:64],
        )
    return slug


def check_reach(reach: str | None) -> Reach | None:
    if reach is None:
        return None
    if reach in REACHES:
        return cast(Reach, reach)
    raise InvalidReach(f"unknown reach {reach!r}; expected line, account or tree", reach=reach)


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    slug: str
    tenant_id: int
    parent_id: int | None
    reach: Reach | None  # None inherits from the parent
    isolated: bool
    default_region: str | None  # in a Directory: inherited from the nearest ancestor if unset

    @property
    def is_root(self) -> bool:
        return self.parent_id is None


@dataclass(frozen=True, slots=True)
class Line:
    id: int
    number: str  # E.164, short code or sender id
    account_id: int
    tenant_id: int


def line_scope(line_id: int) -> str:
    """Scope key of a line ("L<id>"): the form stored in the state projection."""
    return f"L{line_id}"


def account_scope(account_id: int) -> str:
    """Scope key of an account ("A<id>")."""
    return f"A{account_id}"


class ScopeKey(NamedTuple):
    """A parsed scope key: a line's or an account's id."""

    kind: Literal["line", "account"]
    id: int

    @property
    def is_line(self) -> bool:
        return self.kind == "line"


_SCOPE_KEY: Final = re.compile(r"([LA])([0-9]{1,19})")


def parse_scope(key: str) -> ScopeKey:
    """The inverse of :func:`line_scope` and :func:`account_scope`.

    The one reader of the stored form: code that needs to know what a scope key
    names asks here instead of slicing the string.

    >>> parse_scope("L7"), parse_scope("A12").is_line
    (ScopeKey(kind='line', id=7), False)
    """
    match = _SCOPE_KEY.fullmatch(key)
    if match is None:
        raise ValueError(f"not a scope key: {key!r} (L<line id> or A<account id>)")
    return ScopeKey("line" if match[1] == "L" else "account", int(match[2]))


class Directory:
    """An immutable snapshot of accounts and lines, with the tree logic.

    Services load one from storage and cache it; every question about scopes is
    answered here without I/O.
    """

    def __init__(self, accounts: Iterable[Account], lines: Iterable[Line]) -> None:
        self._accounts: dict[int, Account] = {a.id: a for a in accounts}
        # A sub-account without a default region uses its nearest ancestor's.
        for account in list(self._accounts.values()):
            if account.default_region is None:
                region = next(
                    (
                        a.default_region
                        for a in self._safe_ancestors(account.id)
                        if a.default_region
                    ),
                    None,
                )
                self._accounts[account.id] = replace(account, default_region=region)
        self._by_slug: dict[str, Account] = {a.slug: a for a in self._accounts.values()}
        self._lines: dict[str, Line] = {}
        self._lines_by_id: dict[int, Line] = {}
        for line in lines:
            self._lines[line.number] = line
            self._lines_by_id[line.id] = line
        self._covering: dict[int, frozenset[str]] = {}

    # -- lookups -----------------------------------------------------------------
    def account(self, slug: str) -> Account:
        try:
            return self._by_slug[slug]
        except KeyError:
            raise UnknownAccount(f"no account {slug!r}", account=slug) from None

    def has_account_id(self, account_id: int) -> bool:
        return account_id in self._accounts

    def has_line_id(self, line_id: int) -> bool:
        return line_id in self._lines_by_id

    def account_by_id(self, account_id: int) -> Account:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise UnknownAccount(f"no account #{account_id}", account=account_id) from None

    def has_account(self, slug: str) -> bool:
        return slug in self._by_slug

    def line(self, number: str) -> Line:
        try:
            return self._lines[number]
        except KeyError:
            raise UnknownLine(f"no line {number!r}", line=number) from None

    def find_line(self, number: str) -> Line | None:
        return self._lines.get(number)

    def line_by_id(self, line_id: int) -> Line:
        try:
            return self._lines_by_id[line_id]
        except KeyError:
            raise UnknownLine(f"no line #{line_id}", line=line_id) from None

    def accounts(self) -> list[Account]:
        return list(self._accounts.values())

    def lines(self) -> list[Line]:
        return list(self._lines.values())

    def lines_of(self, account_id: int) -> list[Line]:
        return [line for line in self._lines.values() if line.account_id == account_id]

    # -- tree --------------------------------------------------------------------
    def _safe_ancestors(self, account_id: int) -> Iterator[Account]:
        seen: set[int] = set()
        current: int | None = account_id
        while current is not None and current not in seen and current in self._accounts:
            seen.add(current)
            yield self._accounts[current]
            current = self._accounts[current].parent_id

    def ancestors(self, account_id: int) -> list[Account]:
        """The account and its ancestors up to the root, nearest first."""
        chain: list[Account] = []
        seen: set[int] = set()
        current: int | None = account_id
        while current is not None:
            if current in seen:
                raise AccountCycle(
                    f"the account tree has a cycle through #{current}", account=current
                )
            seen.add(current)
            account = self.account_by_id(current)
            chain.append(account)
            current = account.parent_id
        return chain

    def is_within(self, account_id: int, home_id: int) -> bool:
        """Is ``account_id`` the account ``home_id`` itself or one of its descendants?"""
        return any(a.id == home_id for a in self.ancestors(account_id))

    def scope_account(self, scope: str) -> int:
        """The account a scope key belongs to: ``A<id>`` itself, a line's owner for ``L<id>``."""
        kind, ident = parse_scope(scope)
        return self.line_by_id(ident).account_id if kind == "line" else ident

    def boundary(self, account_id: int) -> Account:
        """Nearest ancestor-or-self that is isolated, or the tenant root."""
        for account in self.ancestors(account_id):
            if account.isolated or account.is_root:
                return account
        raise AssertionError("unreachable: the root ends every chain")  # pragma: no cover

    def within_boundary(self, account_id: int) -> list[Account]:
        """The account and its ancestors up to and including its boundary."""
        chain: list[Account] = []
        for account in self.ancestors(account_id):
            chain.append(account)
            if account.isolated or account.is_root:
                break
        return chain

    def effective_reach(self, account_id: int) -> Reach:
        """The account's reach, inherited from the nearest ancestor that sets one."""
        for account in self.ancestors(account_id):
            if account.reach is not None:
                return account.reach
        return DEFAULT_ROOT_REACH

    def covering_scopes(self, line: Line) -> frozenset[str]:
        """Every scope key whose events cover sends from ``line``."""
        cached = self._covering.get(line.id)
        if cached is None:
            keys = {line_scope(line.id)}
            keys.update(account_scope(a.id) for a in self.within_boundary(line.account_id))
            cached = frozenset(keys)
            self._covering[line.id] = cached
        return cached

    def reach_scope(self, line: Line, reach: Reach | None = None) -> str:
        """Scope key for an opt-out received on ``line`` under the account's reach."""
        effective = reach or self.effective_reach(line.account_id)
        if effective == "line":
            return line_scope(line.id)
        if effective == "account":
            return account_scope(line.account_id)
        return account_scope(self.boundary(line.account_id).id)

    def check_parent(self, account_id: int | None, new_parent_id: int) -> None:
        """Raise AccountCycle if making ``new_parent_id`` the parent would close a loop."""
        for ancestor in self.ancestors(new_parent_id):
            if ancestor.id == account_id:
                raise AccountCycle(
                    "an account cannot be placed under itself or its own descendant",
                    account=ancestor.slug,
                )

    def describe_scope(self, key: str) -> str:
        """Human form of a scope key: ``line +1800…`` or ``account acme``."""
        kind, ident = parse_scope(key)
        if kind == "line":
            line = self._lines_by_id.get(ident)
            return f"line {line.number}" if line else f"line #{ident}"
        account = self._accounts.get(ident)
        return f"account {account.slug}" if account else f"account #{ident}"
