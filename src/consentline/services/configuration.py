"""Linting an account's inbound settings before they are saved.

The lint itself is pure (:func:`consentline.domain.settings.lint`); this use case
supplies what it needs from the ledger: the settings the account inherits, so that
templates are checked with the program details the account will actually have.
"""

from __future__ import annotations

from consentline.domain import settings as account_settings
from consentline.domain.settings import AccountSettings
from consentline.services.context import Context


def lint(ctx: Context, account_id: int, settings: AccountSettings) -> list[str]:
    """Raise InvalidKeyword / InvalidConfig for a breach; return the warnings."""
    inherited = [
        ctx.settings.get(a.id, AccountSettings())
        for a in reversed(ctx.directory.ancestors(account_id))
        if a.id != account_id
    ]
    return account_settings.lint(settings, inherited)
