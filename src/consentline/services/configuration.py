"""Linting an account's inbound settings before they are saved.

Keywords go through :func:`lint_keyword` (collisions and everyday words are
refused, short ones warned about); every reply template the account overrides
goes through :func:`lint_template` (C18) with the program details the account
will actually have once its settings are inherited.
"""

from __future__ import annotations

from consentline.domain.keywords import lint_keyword
from consentline.domain.replies import lint_template
from consentline.domain.settings import AccountSettings, merge
from consentline.services.context import Context


def lint(ctx: Context, account_id: int, settings: AccountSettings) -> list[str]:
    """Raise InvalidKeyword / InvalidConfig for a breach; return the warnings."""
    warnings: list[str] = []
    for word in settings.opt_out_keywords:
        warnings.extend(lint_keyword(word, "opt_out"))
    for word in (*settings.opt_in_keywords, *settings.confirm_keywords):
        warnings.extend(lint_keyword(word, "opt_in"))
    for word in settings.help_keywords:
        warnings.extend(lint_keyword(word, "help"))
    for word in settings.topic_keywords:
        warnings.extend(lint_keyword(word, "topic"))
    chain = [
        settings if a.id == account_id else ctx.settings.get(a.id, AccountSettings())
        for a in reversed(ctx.directory.ancestors(account_id))
    ]
    program = merge(chain).program
    for language, kinds in settings.templates.items():
        for kind, text in kinds.items():
            warnings.extend(lint_template(kind, language, text, program))
    return warnings
