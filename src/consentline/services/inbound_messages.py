"""The inbound service's values: the message in, the reply and result out, and a plan.

:class:`InboundMessage`, :class:`Reply` and :class:`InboundResult` are public
(``consentline.InboundMessage`` ...); :class:`Plan` is the service's working
record of one message of a batch, shared by ``services.inbound`` (which fills it)
and ``services.inbound_rows`` (which maps it to stored rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from consentline.domain.classifier import Classification
from consentline.domain.ledger import Event
from consentline.domain.scope_question import Ask
from consentline.domain.scopes import Account, Line
from consentline.services.recording import RecordRequest

MAX_BODY: Final = 10_000


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message a handset sent to one of our lines."""

    from_: str
    to: str
    text: str
    provider: str = "api"
    message_id: str | None = None
    received_at: datetime | None = None
    channel: str = "sms"
    provider_hint: str | None = None
    # The provider's webhook answer carries the reply (TwiML, Plivo XML): it is
    # stored as sent ("inline") in the same transaction, for no sender to send again.
    inline_reply: bool = False
    # The account of the API key that relayed the message (``POST /v1/inbound``):
    # its writes that allow sends stay inside that subtree (RecordRequest.within).
    # None for a provider's signed webhook: the handset's own keyword keeps its reach.
    within: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply queued in the outbox (``status`` pending, or dropped when too late)."""

    id: int
    kind: str
    body: str
    language: str
    to: str
    from_line: str
    status: str
    not_after: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the keys of ``OutboxMessage.as_dict`` (CLI and HTTP alike)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "language": self.language,
            "to": self.to,
            "from": self.from_line,
            "body": self.body,
            "not_after": None if self.not_after is None else self.not_after.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class InboundResult:
    id: int
    classification: Classification
    event: Event | None
    reply: Reply | None
    review_id: int | None
    duplicate: bool = False
    decided_by: str = "classifier"  # or "provider_hint"
    events: tuple[Event, ...] = ()


@dataclass
class Plan:
    """What one message will write, decided before anything is written."""

    index: int
    line: Line
    account: Account
    address: str
    channel: str
    provider: str
    message_id: str
    received_us: int
    message: InboundMessage
    classification: Classification | None = None
    requests: list[RecordRequest] = field(default_factory=list)
    reply_kind: str | None = None
    language: str = "en"
    review: bool = False
    decided_by: str = "classifier"
    duplicate_of: int | None = None  # index of an earlier message in the batch
    question: Ask | None = None  # C17: the scope question its confirmation carries
