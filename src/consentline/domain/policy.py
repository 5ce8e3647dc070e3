"""Purposes, their enforcement models and time rules, and the decision.

>>> rule = PurposeRule("marketing", "restrictive")
>>> decide_state(NONE, None, rule, TenantPolicy(), at_us=0)
(False, 'no_consent')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final, Literal, cast, get_args
from zoneinfo import ZoneInfo

from consentline.domain.errors import InvalidConfig, InvalidTime, mask
from consentline.domain.ledger import IN, OUT, PENDING, EventRef, entry_at

Model = Literal["restrictive", "non_restrictive", "disabled"]
MODELS: Final = ("restrictive", "non_restrictive", "disabled")

Reason = Literal[
    "enforcement_disabled",
    "opted_out",
    "opted_in",
    "no_consent",
    "consent_expired",
    "pending_confirmation",
    "not_opted_out",
    "quiet_hours",
    "invalid_address",
]
REASONS: Final = get_args(Reason)

DEFAULT_PENDING_TTL: Final = timedelta(hours=48)
# C16: the FCC's revoke-all rule, 47 CFR 64.1200(a)(10), whose effective date was
# postponed to 2027-01-31. From that day a revocation naming one purpose or topic
# revokes every purpose and topic at its scope. A tenant may move it or turn it off.
DEFAULT_REVOKE_ALL_FROM: Final = date(2027, 1, 31)
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


def check_name(kind: str, name: str) -> str:
    """Purpose, topic and source names are short lower-case identifiers."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise InvalidConfig(
            f"{kind} {name!r} is not a valid name (lower-case letters, digits, '_', '-', '.')",
            **{kind: str(name)[:64]},
        )
    return name


def check_model(model: str) -> Model:
    if model in MODELS:
        return cast(Model, model)
    raise InvalidConfig(
        f"unknown enforcement model {model!r}; expected one of {', '.join(MODELS)}", model=model
    )


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window, in the recipient's local time, when sends are refused.

    ``start`` > ``end`` wraps past midnight (21:00–08:00).
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise InvalidTime("quiet hours need a start different from the end")

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"21:00-08:00"`` -> QuietHours(21:00, 08:00)."""
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise InvalidTime(f"{text!r} is not a window like '21:00-08:00'") from None
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class PurposeRule:
    name: str
    model: Model
    quiet_hours: QuietHours | None = None
    consent_ttl: timedelta | None = None  # overrides the tenant TTL for this purpose


DEFAULT_PURPOSES: Final = (
    PurposeRule("marketing", "restrictive"),
    PurposeRule("transactional", "non_restrictive"),
    PurposeRule("informational", "non_restrictive"),
)


@dataclass(frozen=True, slots=True)
class TenantPolicy:
    consent_ttl: timedelta | None = None  # C26: None = consent does not expire
    pending_ttl: timedelta = DEFAULT_PENDING_TTL  # C24
    purposes: Mapping[str, PurposeRule] = field(
        default_factory=lambda: {p.name: p for p in DEFAULT_PURPOSES}
    )
    # C16: from this day (00:00 UTC) a scoped revocation covers every purpose and
    # topic at its scope; None turns the rule off.
    revoke_all_from: date | None = DEFAULT_REVOKE_ALL_FROM

    @property
    def revoke_all_us(self) -> int | None:
        """The revoke-all instant in UTC microseconds (None: the rule is off)."""
        return revoke_all_instant(self.revoke_all_from)

    def revoke_all_for(self, rule: PurposeRule) -> int | None:
        """The revoke-all instant for sends of ``rule``: None for a ``disabled``
        purpose, which the rule never reaches (C16)."""
        return None if rule.model == "disabled" else self.revoke_all_us


@lru_cache(maxsize=256)  # pure, and asked once per recorded event
def revoke_all_instant(day: date | None) -> int | None:
    """00:00 UTC of ``day`` in microseconds since the epoch (None stays None).

    UTC midnight comes before midnight anywhere in the Americas, so a US tenant's
    rule starts no later than its own local date.
    """
    if day is None:
        return None
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return _us(moment - datetime(1970, 1, 1, tzinfo=UTC))


def check_revoke_all_from(value: object) -> date | None:
    """A ``revoke_all_from`` setting: a date, an ISO date string, or None (off)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        raise InvalidConfig("revoke_all_from is a date (YYYY-MM-DD), not a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidConfig(
        f"revoke_all_from {str(value)[:32]!r} is not a date like 2027-01-31 (or None: off)",
        revoke_all_from=str(value)[:32],
    )


def decide_state(
    state: str,
    decided_us: int | None,
    rule: PurposeRule,
    policy: TenantPolicy,
    at_us: int,
) -> tuple[bool, Reason]:
    """Step 4 of the decision: state + model -> (allowed, reason).

    ``decided_us`` is when the deciding event occurred (for the TTLs).
    """
    if state == OUT:
        return False, "opted_out"
    restrictive = rule.model == "restrictive"
    if state == IN:
        ttl = rule.consent_ttl or policy.consent_ttl
        if ttl is None or decided_us is None or at_us - decided_us < _us(ttl):
            return True, "opted_in"
        return (False, "consent_expired") if restrictive else (True, "not_opted_out")
    if not restrictive:
        return True, "not_opted_out"
    if state == PENDING and decided_us is not None and at_us - decided_us < _us(policy.pending_ttl):
        return False, "pending_confirmation"
    return False, "no_consent"


def quiet_now(quiet: QuietHours, zones: tuple[str, ...], at: datetime) -> bool:
    """Step 5: True when the send time is inside the quiet window in ANY possible zone.

    A number that maps to several zones may be in any of them, so it is only
    sendable when every zone is outside the window. For a number whose zone
    cannot be known the caller passes fallback zones (the service uses UTC).
    """
    moment = at.astimezone(UTC)
    for zone in zones or ("UTC",):
        local = moment.astimezone(ZoneInfo(zone)).time()
        if quiet.contains(local):
            return True
    return False


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Decision:
    """The answer to "may I send this?": ``allowed``, ``reason`` and the deciding event.

    ``to`` is the normalised recipient. ``event`` (an :class:`EventRef`, or None
    when nothing in the ledger decided) is built on first access, so a bulk check
    of a million recipients does not pay for a million event objects nobody reads.
    Treat decisions as immutable.

    >>> Decision("+14155550101", False, "no_consent")
    Decision(to='+1415***0101', allowed=False, reason='no_consent', event=None)
    """

    __slots__ = ("_event", "_source", "allowed", "reason", "to")

    def __init__(
        self,
        to: str,
        allowed: bool,
        reason: Reason,
        event: EventRef | None = None,
        source: tuple[str, str, str, int] | None = None,
    ) -> None:
        self.to = to
        self.allowed = allowed
        self.reason = reason
        self._event = event
        self._source = source  # (shape, ids, times, index): decoded on demand

    @property
    def event(self) -> EventRef | None:
        if self._event is None and self._source is not None:
            shape, ids, times, index = self._source
            self._event = entry_at(shape, ids, times, index).ref()
            self._source = None
        return self._event

    def as_dict(self) -> dict[str, object]:
        event = self.event
        return {
            "to": self.to,
            "allowed": self.allowed,
            "reason": self.reason,
            "event": None if event is None else event_dict(event),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return (self.to, self.allowed, self.reason, self.event) == (
            other.to,
            other.allowed,
            other.reason,
            other.event,
        )

    def __hash__(self) -> int:
        return hash((self.to, self.allowed, self.reason))

    def __repr__(self) -> str:
        return (
            f"Decision(to={mask(self.to)!r}, allowed={self.allowed!r}, "
            f"reason={self.reason!r}, event={self.event!r})"
        )


def event_dict(event: EventRef) -> dict[str, object]:
    return {
        "id": event.id,
        "action": event.action,
        "scope": event.scope,
        "purpose": event.purpose,
        "topic": event.topic,
        "occurred_at": event.occurred_at.isoformat(),
        "source": event.source,
    }
