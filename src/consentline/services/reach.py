"""What a principal of one account reaches: the account and its subtree.

The same isolation rule as an API key's (``consentline.http.auth.Caller``), for the
web UI's operators: an account or line outside the subtree is answered exactly as if
it did not exist (``UnknownAccount`` / ``UnknownLine``, so 404), so nobody learns what
another tenant holds.

>>> reach = Reach(operator.account_id, cl.directory())     # doctest: +SKIP
>>> [a.slug for a in reach.accounts()]
['acme', 'shop']
"""

from __future__ import annotations

from dataclasses import dataclass

from consentline.domain.addresses import normalise_line_id
from consentline.domain.errors import UnknownAccount, UnknownLine
from consentline.domain.scopes import Account, Directory, Line, account_scope, line_scope


class InReach:
    """The reads every principal of a subtree shares (an operator's :class:`Reach`,
    an API key's ``http.auth.Caller``): ``reaches`` says which accounts are in it,
    and whatever is outside is answered exactly as if it did not exist."""

    __slots__ = ()
    directory: Directory

    def reaches(self, account_id: int) -> bool:
        raise NotImplementedError

    def account(self, slug: str) -> Account:
        """The account, if in reach; otherwise exactly the error of a missing one."""
        try:
            account = self.directory.account(slug)
        except UnknownAccount:
            raise UnknownAccount(f"no account {slug!r}", account=slug) from None
        if not self.reaches(account.id):
            raise UnknownAccount(f"no account {slug!r}", account=slug)
        return account

    def line(self, number: str) -> Line:
        """The line (any spelling of its number), if in reach; else as if missing."""
        line = self.directory.find_line(number)
        normalised = number
        if line is None:
            normalised = normalise_line_id(number)
            line = self.directory.find_line(normalised)
        if line is None or not self.reaches(line.account_id):
            raise UnknownLine(f"no line {normalised!r}", line=normalised)
        return line

    def accounts(self) -> list[Account]:
        return [a for a in self.directory.accounts() if self.reaches(a.id)]

    def lines(self) -> list[Line]:
        return sorted(
            (line for line in self.directory.lines() if self.reaches(line.account_id)),
            key=lambda line: line.id,
        )


@dataclass(frozen=True, slots=True)
class Reach(InReach):
    """The subtree of ``home`` in one directory snapshot."""

    home_id: int
    directory: Directory

    @property
    def home(self) -> Account:
        return self.directory.account_by_id(self.home_id)

    def reaches(self, account_id: int) -> bool:
        return self.directory.is_within(account_id, self.home_id)

    def subtree_scopes(self) -> set[str]:
        scopes = {account_scope(a.id) for a in self.accounts()}
        scopes.update(line_scope(line.id) for line in self.lines())
        return scopes

    def governing_scopes(self) -> set[str]:
        """Subtree scopes plus the ancestors whose events cover the subtree's lines."""
        scopes = self.subtree_scopes()
        scopes.update(account_scope(a.id) for a in self.directory.within_boundary(self.home_id))
        return scopes
