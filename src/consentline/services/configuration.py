"""An account's inbound settings: linted, then saved.

The lint itself is pure (:func:`consentline.domain.settings.lint`); this use case
supplies what it needs from the ledger: the settings the account inherits, so that
templates are checked with the program details the account will actually have.
:func:`check` runs the same lint on a change without saving it (what an editor shows
next to each field before the save).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consentline.domain import settings as account_settings
from consentline.domain.errors import InvalidInput
from consentline.domain.settings import AccountSettings, Finding
from consentline.services.context import Context
from consentline.services.ports import UnitOfWork


def _inherited(ctx: Context, account_id: int) -> list[AccountSettings]:
    return [
        ctx.settings.get(a.id, AccountSettings())
        for a in reversed(ctx.directory.ancestors(account_id))
        if a.id != account_id
    ]


def _purposes(ctx: Context, account_id: int) -> Any:
    return ctx.policies[ctx.directory.account_by_id(account_id).tenant_id].purposes


def lint(ctx: Context, account_id: int, settings: AccountSettings) -> list[str]:
    """Raise InvalidKeyword / InvalidConfig for a breach; return the warnings."""
    return account_settings.lint(settings, _inherited(ctx, account_id), _purposes(ctx, account_id))


def load(uow: UnitOfWork) -> dict[int, AccountSettings]:
    """Every account's own settings (not inherited), by account id."""
    return {k: AccountSettings.from_json(v) for k, v in uow.inbox.all_settings().items()}


def _merged(ctx: Context, account_id: int, changes: Mapping[str, Any]) -> AccountSettings:
    current = ctx.settings.get(account_id, AccountSettings()).to_json()
    current.update(changes)
    return AccountSettings.from_json(current)


def check(ctx: Context, account_id: int, changes: Mapping[str, Any]) -> list[Finding]:
    """What :func:`configure` would find in ``changes``, each finding on its setting,
    saving nothing. A value a setting cannot take at all (not a list, an unknown
    language) is a breach on that setting, and then the lint itself does not run."""
    shape: list[Finding] = []
    for name, value in changes.items():
        try:
            AccountSettings.from_json({name: value})
        except InvalidInput as exc:
            shape.append(Finding(name, str(exc), exc))
    if shape:
        return shape
    return account_settings.findings(
        _merged(ctx, account_id, changes),
        _inherited(ctx, account_id),
        _purposes(ctx, account_id),
    )


def configure(
    uow: UnitOfWork, ctx: Context, account_id: int, changes: Mapping[str, Any]
) -> list[str]:
    """Merge ``changes`` into the account's own settings, lint them (raising for a
    breach) and save them; the lint's warnings. The caller commits."""
    parsed = _merged(ctx, account_id, changes)
    warnings = lint(ctx, account_id, parsed)
    uow.inbox.save_settings(account_id, parsed.to_json())
    return warnings
