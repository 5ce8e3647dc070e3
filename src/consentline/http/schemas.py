"""The shapes of the API's answers, as Pydantic models for the OpenAPI document.

Each route names its answer here, with ``response_model=`` (FastAPI then checks
the answer at run time) or, for routes that build their own response
(``JSONResponse``, a stream, a provider's native body), with
``responses={status: {"model": ...}}`` (documented only). The suite's schemathesis
run checks every answer it provokes against these. The dicts themselves are built
in :mod:`consentline.services.views` and the domain's ``as_dict`` methods; a test
keeps the two in step (``tests/http/test_openapi_fuzz.py``).

Fields are required when the answer always has them (``null`` where they may be
empty), enums come from the domain's own ``Literal`` types, and times are strings
in ISO 8601 (``date-time``), exactly as the routes write them. The models accept
fields they do not list (``additionalProperties``), so that a field added to an
answer is passed on rather than silently dropped by ``response_model``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from consentline.domain.addresses import Channel
from consentline.domain.classifier import Intent, ProviderIntent
from consentline.domain.ledger import Action
from consentline.domain.policy import Reason
from consentline.domain.replies import ReplyKind
from consentline.domain.scopes import Reach
from consentline.services.api_keys import Role

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
State = Literal["defined", "not_defined"]


class Answer(BaseModel):
    """Base of every answer model: unlisted fields are kept, not dropped."""

    model_config = ConfigDict(extra="allow")


class HealthStatus(Answer):
    status: Literal["ok"]


class ReadyStatus(Answer):
    status: Literal["ready"]


class AccountOut(Answer):
    id: int
    slug: str
    parent: str | None
    tenant: str
    reach: Reach | None
    effective_reach: Reach
    isolated: bool
    default_region: str | None


class LineOut(Answer):
    id: int
    number: str
    account: str


class KeyOut(Answer):
    id: int
    prefix: str
    account: str | None
    role: Role
    created_at: Timestamp
    revoked_at: Timestamp | None


class NewKeyOut(KeyOut):
    key: str = Field(description="the key itself: shown this once, only its hash is stored")


class ContactRefOut(Answer):
    system: str
    ref: str


class EventOut(Answer):
    """A stored event, complete: proof and hash-chain links included."""

    id: int
    seq: int
    address: str
    channel: Channel
    action: Action
    scope: str = Field(description="L<line id> or A<account id>")
    where: str = Field(description="the scope in words: line +1800... or account acme")
    purpose: str | None
    topic: str | None
    occurred_at: Timestamp
    recorded_at: Timestamp
    source: str
    proof: dict[str, Any]
    idempotency_key: str | None
    prev_hash: str
    hash: str
    contact_refs: list[ContactRefOut] | None = Field(
        default=None, description="the address's external record ids (in the change feed)"
    )
    salt: str = Field(
        default="", description="the event's salt for its chained digests; empty once erased"
    )
    erased: dict[str, Any] | None = Field(
        default=None, description="digests of the personal fields an erasure removed (C22)"
    )
    v1_hash: str | None = Field(
        default=None, description="the event's hash before the chain was re-anchored (0010)"
    )


class EventRefOut(Answer):
    """The event a decision cites."""

    id: int
    action: Action
    scope: str
    purpose: str | None
    topic: str | None
    occurred_at: Timestamp
    source: str
    where: str


class DecisionOut(Answer):
    to: str
    allowed: bool
    reason: Reason
    event: EventRefOut | None


class BulkDecision(Answer):
    to: str
    allowed: bool
    reason: Reason


class BulkCheckOut(Answer):
    results: list[BulkDecision] = Field(description="one per recipient, in order")
    error: dict[str, Any] | None = Field(
        default=None,
        description="present when the check stopped after the answer had begun (its time"
        " budget ran out): {code, message, answered}; the results before it are correct",
    )


class PurposeStatus(Answer):
    allowed: bool
    reason: Reason
    state: State
    event: int | None = Field(description="id of the deciding event")


class LineStatus(Answer):
    line: str
    account: str
    state: State
    purposes: dict[str, PurposeStatus]


class ConsentOut(Answer):
    address: str
    channel: str = Field(description="the channel asked for, or the address's own")
    lines: list[LineStatus]


class ScopeCategoryOut(Answer):
    code: str
    label: str
    purpose: str | None = Field(default=None, description="a purpose, or else")
    topic: str | None = Field(default=None, description="a topic")


class ScopeOfferOut(ScopeCategoryOut):
    scope: str = Field(description="where an answer's opt-in for it lands")


class ScopeQuestionSetting(Answer):
    enabled: bool
    categories: list[ScopeCategoryOut]
    window_hours: int
    wording: dict[str, str] | None = None


class ScopeQuestionSettingOut(Answer):
    account: str
    scope_question: ScopeQuestionSetting | None = Field(
        description="the effective setting (null: off, never set)"
    )
    inherited: bool = Field(description="the effective setting is an ancestor's")
    warnings: list[str]


class ScopeReplyOut(Answer):
    id: int
    status: str | None


class ScopeRevocationOut(Answer):
    event: int
    hash: str


class ScopeAnswerOut(Answer):
    inbound_id: int
    provider: str | None
    message_id: str | None
    text: str | None = Field(description="the answer as received: evidence")
    events: list[int] = Field(description="the opt-ins it recorded")


class AskedQuestionOut(Answer):
    id: int
    line: str
    channel: str
    address: str
    asked_at: Timestamp
    expires_at: Timestamp
    status: Literal["open", "expired", "answered", "declined", "superseded"]
    text: str = Field(description="the whole confirmation, as sent")
    text_sha256: str
    version: str
    reply: ScopeReplyOut
    offered: list[ScopeOfferOut]
    revocation: ScopeRevocationOut
    settled_at: Timestamp | None
    answer: ScopeAnswerOut | None


class HistoryOut(Answer):
    events: list[EventOut]
    scope_questions: list[AskedQuestionOut] = Field(
        description="scope questions asked with opt-out confirmations, and their answers (C17)"
    )


class EventPage(Answer):
    events: list[EventOut]
    next: int = Field(description="pass back as after= for the next page")


class KeywordScopeOut(Answer):
    kind: Literal["default", "all", "purpose", "topic"]
    name: str | None


class ClassificationOut(Answer):
    intent: Intent
    rule: str
    keyword: str | None
    language: str | None
    scope: KeywordScopeOut
    provider_exact: ProviderIntent
    version: str
    normalised: str
    topic: str | None


class ReplyOut(Answer):
    id: int
    kind: ReplyKind
    status: Literal["pending", "sent", "dropped", "failed"]
    language: str
    to: str
    from_: str = Field(alias="from")
    body: str
    not_after: Timestamp | None


class InboundOut(Answer):
    id: int
    duplicate: bool
    decided_by: Literal["classifier", "provider_hint"]
    classification: ClassificationOut
    events: list[EventOut]
    reply: ReplyOut | None
    review_id: int | None


class CredentialsOut(Answer):
    """Which credential fields are set, never their values."""

    account: str
    provider: str
    fields_set: list[str]
    updated_at: Timestamp | None


class CredentialsStatus(CredentialsOut):
    configured: bool = Field(description="the account has credentials of its own")
    inherited: bool | None = Field(
        default=None, description="only when not configured: an ancestor's apply"
    )
    inherited_from: str | None


class SubscriptionOut(Answer):
    id: int
    account: str
    url: str
    events: list[str]
    status: Literal["active", "retrying"]
    created_at: Timestamp
    delivered: int
    failures: int
    last_error: str | None
    last_success_at: Timestamp | None
    next_attempt_at: Timestamp | None


class NewSubscriptionOut(SubscriptionOut):
    secret: str = Field(description="the signing secret: shown this once")


class SubscriptionList(Answer):
    webhooks: list[SubscriptionOut]


class WebhookReceipt(Answer):
    """A delivery report that names no number of ours: nothing recorded."""

    recorded: Literal[0]
    reason: str


# A provider webhook is answered in the provider's own format.
WEBHOOK_ANSWER: dict[str, Any] = {
    "description": (
        "handled. Twilio: TwiML (text/xml); Plivo: Message XML (application/xml); "
        "the others: an empty body. A delivery report naming no number of ours: "
        'JSON {"recorded": 0, "reason"}'
    ),
    "content": {
        "text/xml": {"schema": {"type": "string"}},
        "application/xml": {"schema": {"type": "string"}},
    },
    "model": WebhookReceipt,
}


class NumberChangeOut(Answer):
    """What a number change lapsed (``lapsed`` is empty when it was already applied)."""

    old: str
    new: str
    channel: Channel
    lapsed: list[EventOut]
    replayed: int


class RowProblemOut(Answer):
    row: int = Field(description="the row in the file (a CSV's header is row 1)")
    column: str | None
    code: str
    message: str = Field(description="what is wrong; numbers masked")


class ImportReportOut(Answer):
    """What an import did (docs/imports.md)."""

    batch_id: str
    dry_run: bool
    rows: int
    written: int
    unchanged: int
    kept_opt_out: int = Field(description="opt-ins left out: an opt-out holds (C25)")
    errors: int
    by_action: dict[str, int]
    first_errors: list[RowProblemOut]
