"""Per-account inbound settings, inherited down the account tree.

Keyword sets accumulate from the root down; mappings merge with the nearer
account winning; a scalar set on an account overrides its ancestors'.

>>> root = AccountSettings(opt_out_keywords=("STOPALL",), program_name="Acme")
>>> team = AccountSettings(topic_keywords={"VOLUNTEER": "volunteer"})
>>> merged = merge([root, team])
>>> merged.opt_out_keywords, dict(merged.topic_keywords), merged.program_name
(('STOPALL',), {'VOLUNTEER': 'volunteer'}, 'Acme')
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from consentline.domain.classifier import lint_keyword
from consentline.domain.errors import InvalidConfig, InvalidInput
from consentline.domain.policy import PurposeRule, check_name
from consentline.domain.replies import LANGUAGES, REPLY_KINDS, Program, lint_template, render
from consentline.domain.scope_question import ScopeQuestion
from consentline.domain.scope_question import lint as lint_scope_question
from consentline.domain.scopes import REACHES, Reach, check_reach

_LISTS = ("opt_out_keywords", "opt_in_keywords", "help_keywords", "confirm_keywords")
_MAPS = ("topic_keywords", "keyword_reach", "templates")


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """What one account sets; ``None`` / empty means "inherit"."""

    opt_out_keywords: tuple[str, ...] = ()
    opt_in_keywords: tuple[str, ...] = ()
    help_keywords: tuple[str, ...] = ()
    confirm_keywords: tuple[str, ...] = ()
    topic_keywords: Mapping[str, str] = field(default_factory=dict)  # VOLUNTEER -> volunteer
    keyword_reach: Mapping[str, Reach] = field(default_factory=dict)  # STOPALL -> tree
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # lang -> kind -> text
    start_creates_opt_in: bool | None = None
    typo_tolerance: bool | None = None
    program_name: str | None = None
    support_contact: str | None = None
    frequency: str | None = None
    language: str | None = None  # default reply language
    scope_question: ScopeQuestion | None = None  # C17: the confirmation may ask (off: None)
    # The hosted opt-in form (/join/...): the consent text shown beside the checkbox and
    # its version; both go into the proof of every submission (C24, C25).
    consent_text: str | None = None
    consent_version: str | None = None

    @property
    def program(self) -> Program:
        default = Program()
        return Program(
            self.program_name or default.name,
            self.support_contact or default.support,
            self.frequency or default.frequency,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value in (None, (), {}):
                continue
            if f.name in _MAPS:
                value = {k: dict(v) if isinstance(v, Mapping) else v for k, v in value.items()}
            elif isinstance(value, ScopeQuestion):
                value = value.to_json()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccountSettings:
        """Build and validate settings from JSON-like data (unknown keys are refused)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidConfig(
                f"unknown account setting(s): {', '.join(sorted(unknown))}",
                settings=sorted(unknown),
            )
        values: dict[str, Any] = {}
        for name in _LISTS:
            if name in data:
                values[name] = tuple(_keyword(k, name) for k in _list(data[name], name))
        if "topic_keywords" in data:
            values["topic_keywords"] = {
                _keyword(k, "topic_keywords"): _topic(v)
                for k, v in _mapping(data["topic_keywords"], "topic_keywords").items()
            }
        if "keyword_reach" in data:
            reach: dict[str, Reach] = {}
            for k, v in _mapping(data["keyword_reach"], "keyword_reach").items():
                checked = check_reach(v) if isinstance(v, str) else None
                if checked is None:
                    raise InvalidConfig(f"keyword_reach values are one of {', '.join(REACHES)}")
                reach[_keyword(k, "keyword_reach")] = checked
            values["keyword_reach"] = reach
        if "templates" in data:
            templates: dict[str, dict[str, str]] = {}
            for lang, kinds in _mapping(data["templates"], "templates").items():
                if lang not in LANGUAGES:
                    raise InvalidConfig(f"no templates for language {lang!r}", language=lang)
                for kind, text in _mapping(kinds, "templates").items():
                    if kind not in REPLY_KINDS or not isinstance(text, str) or not text.strip():
                        raise InvalidConfig(f"bad template {lang}/{kind}", kind=str(kind))
                    templates.setdefault(lang, {})[kind] = text
            values["templates"] = templates
        for name in ("start_creates_opt_in", "typo_tolerance"):
            if name in data and data[name] is not None:
                if not isinstance(data[name], bool):
                    raise InvalidConfig(f"{name} must be true or false", setting=name)
                values[name] = data[name]
        for name in ("program_name", "support_contact", "frequency"):
            if name in data and data[name] is not None:
                text = data[name]
                if not isinstance(text, str) or not 1 <= len(text.strip()) <= 80:
                    raise InvalidConfig(f"{name} must be 1 to 80 characters", setting=name)
                values[name] = text.strip()
        if data.get("consent_text") is not None:
            text = data["consent_text"]
            if not isinstance(text, str) or not 20 <= len(text.strip()) <= 1000:
                raise InvalidConfig(
                    "consent_text must be 20 to 1000 characters", setting="consent_text"
                )
            values["consent_text"] = text.strip()
        if data.get("consent_version") is not None:
            version = data["consent_version"]
            if not isinstance(version, str) or not 1 <= len(version.strip()) <= 32:
                raise InvalidConfig(
                    "consent_version must be 1 to 32 characters", setting="consent_version"
                )
            values["consent_version"] = version.strip()
        if data.get("language") is not None:
            if data["language"] not in LANGUAGES:
                raise InvalidConfig(f"no templates for language {data['language']!r}")
            values["language"] = data["language"]
        if data.get("scope_question") is not None:
            values["scope_question"] = ScopeQuestion.from_json(data["scope_question"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the lint found, on the setting it is about: a field name
    (``opt_out_keywords``) or a template (``templates.en.help``). ``error`` is set for
    a breach (the save is refused with it); a finding without one is a warning."""

    setting: str
    message: str
    error: InvalidInput | None = None

    @property
    def breach(self) -> bool:
        return self.error is not None


def findings(
    settings: AccountSettings,
    inherited: Sequence[AccountSettings] = (),
    purposes: Mapping[str, PurposeRule] | None = None,
) -> list[Finding]:
    """Every finding of :func:`lint`, each on its setting, breaches included (nothing
    raised): what an editor shows next to each field before saving.

    >>> [(f.setting, f.breach) for f in findings(AccountSettings(opt_in_keywords=("OK", "GO")))]
    [('opt_in_keywords', True), ('opt_in_keywords', False)]
    """
    found: list[Finding] = []

    def run(setting: str, check: Callable[[], list[str]]) -> None:
        try:
            found.extend(Finding(setting, warning) for warning in check())
        except InvalidInput as exc:
            found.append(Finding(setting, str(exc), exc))

    keywords: tuple[tuple[str, Literal["opt_out", "opt_in", "help"]], ...] = (
        ("opt_out_keywords", "opt_out"),
        ("opt_in_keywords", "opt_in"),
        ("confirm_keywords", "opt_in"),
        ("help_keywords", "help"),
    )
    for name, intent in keywords:
        for word in getattr(settings, name):
            run(name, functools.partial(lint_keyword, word, intent))
    for word in settings.topic_keywords:
        run("topic_keywords", functools.partial(lint_keyword, word, "topic"))
    effective = merge([*inherited, settings])
    program = effective.program
    for language, kinds in settings.templates.items():
        for kind, text in kinds.items():
            run(
                f"templates.{language}.{kind}",
                functools.partial(lint_template, kind, language, text, program),
            )
    question = settings.scope_question
    if question is not None and question.enabled:
        languages = dict.fromkeys([effective.language or "en", *question.wording])
        confirmations = {
            lang: render("opt_out_confirmation", lang, program, effective.templates)
            for lang in languages
        }
        keywords_in_use = [
            *effective.opt_out_keywords,
            *effective.opt_in_keywords,
            *effective.help_keywords,
            *effective.confirm_keywords,
            *effective.topic_keywords,
        ]
        run(
            "scope_question",
            functools.partial(
                lint_scope_question,
                question,
                purposes=purposes if purposes is not None else {},
                confirmations=confirmations,
                program=program.name,
                keywords=keywords_in_use,
                topics=set(effective.topic_keywords.values()),
            ),
        )
    return found


def lint(
    settings: AccountSettings,
    inherited: Sequence[AccountSettings] = (),
    purposes: Mapping[str, PurposeRule] | None = None,
) -> list[str]:
    """Check an account's settings before they are saved; return the warnings.

    Raises :class:`~consentline.domain.errors.InvalidKeyword` or
    :class:`~consentline.domain.errors.InvalidConfig` for a breach (the first one
    :func:`findings` lists). Keywords go
    through :func:`~consentline.domain.classifier.lint_keyword` (collisions and
    everyday words are refused, short ones warned about); every reply template
    the account overrides goes through :func:`~consentline.domain.replies.lint_template`
    (C18) with the program details the account will have once ``inherited`` (its
    ancestors' settings, root first) are merged in. A scope question the account
    sets goes through :func:`~consentline.domain.scope_question.lint` with the
    tenant's ``purposes`` (C17).

    >>> lint(AccountSettings(opt_in_keywords=("GO",)))
    ['GO is shorter than 4 characters: short keywords are often sent by accident']
    """
    found = findings(settings, inherited, purposes)
    for finding in found:
        if finding.error is not None:
            raise finding.error
    return [finding.message for finding in found]


def merge(chain: Sequence[AccountSettings]) -> AccountSettings:
    """Effective settings from the root (first) down to the account (last)."""
    values: dict[str, Any] = {}
    for name in _LISTS:
        values[name] = tuple(dict.fromkeys(k for s in chain for k in getattr(s, name)))
    for name in ("topic_keywords", "keyword_reach"):
        merged: dict[str, Any] = {}
        for s in chain:
            merged.update(getattr(s, name))
        values[name] = merged
    templates: dict[str, dict[str, str]] = {}
    for s in chain:
        for lang, kinds in s.templates.items():
            templates.setdefault(lang, {}).update(kinds)
    values["templates"] = templates
    for f in fields(AccountSettings):
        if f.name in values:
            continue
        found = None
        for s in chain:
            if getattr(s, f.name) is not None:
                found = getattr(s, f.name)
        values[f.name] = found
    return AccountSettings(**values)


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidConfig(f"{name} must be a list", setting=name)
    return list(value)


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidConfig(f"{name} must be an object", setting=name)
    return value


def _keyword(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidConfig(f"{name} entries must be non-empty words", setting=name)
    return " ".join(value.split()).upper()


def _topic(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidConfig("topic names must be strings")
    return check_name("topic", value)
