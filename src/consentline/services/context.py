"""What the services read besides the database: the directory, policies and settings.

The façade (``client.Consentline``) caches one :class:`Context` and hands it to the
inbound, review, outbox and configuration services with each unit of work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from consentline.domain.classifier import ClassifierConfig
from consentline.domain.policy import TenantPolicy
from consentline.domain.scopes import Directory
from consentline.domain.settings import AccountSettings, merge


@dataclass(frozen=True, slots=True)
class Context:
    """What the inbound service reads besides the database."""

    directory: Directory
    policies: Mapping[int, TenantPolicy]
    settings: Mapping[int, AccountSettings]
    # A provider's own verdict from its hint (``providers.hints.provider_verdict``),
    # passed in: the vocabulary of provider hints is provider knowledge.
    provider_verdict: Callable[[str, str | None], str | None]
    _memo: dict[tuple[str, int], Any] = field(default_factory=dict, compare=False, repr=False)

    def effective(self, account_id: int) -> AccountSettings:
        """The account's settings as inherited down the tree (memoised per context)."""
        found = self._memo.get(("settings", account_id))
        if found is None:
            chain = [
                self.settings.get(a.id, AccountSettings())
                for a in reversed(self.directory.ancestors(account_id))
            ]
            found = self._memo[("settings", account_id)] = merge(chain)
        return cast(AccountSettings, found)

    def classifier(self, account_id: int) -> ClassifierConfig:
        found = self._memo.get(("classifier", account_id))
        if found is None:
            found = self._memo[("classifier", account_id)] = self._classifier(account_id)
        return cast(ClassifierConfig, found)

    def _classifier(self, account_id: int) -> ClassifierConfig:
        eff = self.effective(account_id)
        tenant = self.directory.account_by_id(account_id).tenant_id
        return ClassifierConfig(
            extra_opt_out=frozenset(eff.opt_out_keywords),
            extra_opt_in=frozenset(eff.opt_in_keywords),
            extra_help=frozenset(eff.help_keywords),
            topic_keywords=dict(eff.topic_keywords),
            purposes=frozenset(self.policies[tenant].purposes),
            confirm_keywords=frozenset({"YES", *eff.confirm_keywords}),
            typo_tolerance=True if eff.typo_tolerance is None else eff.typo_tolerance,
            locale=eff.language,  # picks the language of words two packs share (CANCELAR)
        )
