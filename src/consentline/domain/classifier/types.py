"""The classifier's values: what a message means, and an account's settings for it.

:class:`Classification` is the result of :func:`~consentline.domain.classifier.classify`
and the evidence stored with an inbound message (C13); :class:`ClassifierConfig`
is what an account changes about classification; :class:`KeywordScope` is what a
keyword reply covers (C5, C16).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "ALL_LANGUAGES",
    "ALL_SCOPE",
    "CLASSIFIER_VERSION",
    "DEFAULT_CONFIG",
    "DEFAULT_SCOPE",
    "Classification",
    "ClassifierConfig",
    "Intent",
    "KeywordScope",
    "ProviderIntent",
]


CLASSIFIER_VERSION = "2026.12.1"

Intent = Literal["opt_out", "opt_in", "help", "ambiguous", "none"]
ProviderIntent = Literal["opt_out", "opt_in", "help", "none"]

ALL_LANGUAGES = frozenset({"en", "fr", "es", "pt", "no", "sv", "nl"})


@dataclass(frozen=True, slots=True)
class KeywordScope:
    """What a keyword reply covers (C5, C16).

    ``default`` is the account's configured reach; ``all`` is everything the sender
    sends; ``purpose`` names a purpose (``marketing``); ``topic`` names a topic.
    """

    kind: Literal["default", "all", "purpose", "topic"]
    name: str | None = None


DEFAULT_SCOPE = KeywordScope("default")
ALL_SCOPE = KeywordScope("all")


@dataclass(frozen=True, slots=True)
class Classification:
    """The meaning of one inbound message, with everything needed as evidence (C13)."""

    intent: Intent
    rule: str
    keyword: str | None
    language: str | None
    scope: KeywordScope
    provider_exact: ProviderIntent
    version: str
    normalised: str
    topic: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready, scope as ``{"kind": ..., "name": ...}`` (C13)."""
        return {
            "intent": self.intent,
            "rule": self.rule,
            "keyword": self.keyword,
            "language": self.language,
            "scope": {"kind": self.scope.kind, "name": self.scope.name},
            "provider_exact": self.provider_exact,
            "version": self.version,
            "normalised": self.normalised,
            "topic": self.topic,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Classification:
        """The inverse of :meth:`as_dict` (stored classifications are read back)."""
        return cls(
            intent=data["intent"],
            rule=data["rule"],
            keyword=data["keyword"],
            language=data["language"],
            scope=KeywordScope(data["scope"]["kind"], data["scope"]["name"]),
            provider_exact=data["provider_exact"],
            version=data["version"],
            normalised=data["normalised"],
            topic=data.get("topic"),
        )


@dataclass(frozen=True, slots=True)
class ClassifierConfig:
    """Per-account classifier settings.

    Account keywords are upper-case canonical (``"ARRET"``, not ``"arrêt"``).
    English (C2/C3 are the law and provider parity) is always on; ``languages``
    switches the other packs. ``locale`` ("fr-CA") picks the language recorded
    for words that several packs share (CANCELAR: es/pt; STOPP: no/sv).
    """

    extra_opt_out: frozenset[str] = frozenset()
    extra_opt_in: frozenset[str] = frozenset()
    extra_help: frozenset[str] = frozenset()
    topic_keywords: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    purposes: frozenset[str] = frozenset({"marketing", "transactional", "informational"})
    confirm_keywords: frozenset[str] = frozenset({"YES"})
    typo_tolerance: bool = True
    languages: frozenset[str] = ALL_LANGUAGES
    locale: str | None = None


DEFAULT_CONFIG = ClassifierConfig()
