"""An account's inbound settings: linted, then saved.

The lint itself is pure (:func:`consentline.domain.settings.lint`); this use case
supplies what it needs from the ledger: the settings the account inherits, so that
templates are checked with the program details the account will actually have.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consentline.domain import settings as account_settings
from consentline.domain.settings import AccountSettings
from consentline.services.context import Context
from consentline.services.ports import UnitOfWork


def lint(ctx: Context, account_id: int, settings: AccountSettings) -> list[str]:
    """Raise InvalidKeyword / InvalidConfig for a breach; return the warnings."""
    inherited = [
        ctx.settings.get(a.id, AccountSettings())
        for a in reversed(ctx.directory.ancestors(account_id))
        if a.id != account_id
    ]
    tenant = ctx.directory.account_by_id(account_id).tenant_id
    return account_settings.lint(settings, inherited, ctx.policies[tenant].purposes)


def load(uow: UnitOfWork) -> dict[int, AccountSettings]:
    """Every account's own settings (not inherited), by account id."""
    return {k: AccountSettings.from_json(v) for k, v in uow.inbox.all_settings().items()}


def configure(
    uow: UnitOfWork, ctx: Context, account_id: int, changes: Mapping[str, Any]
) -> list[str]:
    """Merge ``changes`` into the account's own settings, lint them (raising for a
    breach) and save them; the lint's warnings. The caller commits."""
    current = ctx.settings.get(account_id, AccountSettings()).to_json()
    current.update(changes)
    parsed = AccountSettings.from_json(current)
    warnings = lint(ctx, account_id, parsed)
    uow.inbox.save_settings(account_id, parsed.to_json())
    return warnings
