"""What the services need from storage: the unit of work, its repositories, the
fast read path, and the plain records they return.

Services and jobs depend on these Protocols only; ``storage/`` implements them on
SQLAlchemy (``storage.uow.UnitOfWork`` and its factory ``storage.uow.UnitsOfWork``,
``storage.fastpath.StateReader``) and
``tests/service/fakes.py`` in memory. Records are frozen dataclasses whose fields
are their table's columns, in order (a repository maps a row positionally); the
send gate's rows stay plain tuples, since a check must not pay for an object.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from consentline.domain.ledger import Event, Projection, StoredEvent
from consentline.domain.policy import PurposeRule, TenantPolicy
from consentline.domain.scopes import Directory

# -- the fast path's rows (driver tuples, as they come) --------------------------------
Row = tuple[str, str, str, int]  # a projection row: shape, ids, times, max_us
StateRow = tuple[str, str, str, str, int]  # address, shape, ids, times, max_us
ApiKeyRow = tuple[int, str, int | None, str, int, int | None]
# an API key: id, prefix, account_id, role, created_us, revoked_us


# -- records ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InboundRecord:
    """A stored inbound message (``inbound_messages``)."""

    id: int
    tenant_id: int
    account_id: int
    line_id: int
    provider: str
    message_id: str
    address: str
    channel: str
    body: str
    received_us: int
    classification: str  # JSON
    provider_hint: str | None
    event_ids: str  # "12" or "12;13"


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A reply in the outbox (``outbox``)."""

    id: int
    tenant_id: int
    kind: str
    channel: str
    to_address: str
    from_line: str
    body: str
    language: str
    created_us: int
    not_after_us: int | None
    status: str
    attempts: int
    next_attempt_us: int
    inbound_id: int | None
    event_id: int | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class OutboxHealthRecord:
    """Outbox rows of some lines by state, each count stopped at ``cap + 1`` (the
    dashboard shows "more than cap"), and when the most overdue reply fell due."""

    due: int  # pending, due now
    waiting: int  # pending, due later (a retry's back-off)
    failed: int
    dropped: int
    oldest_due_us: int | None


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    """A review item with the inbound message it is about."""

    id: int
    tenant_id: int
    account_id: int
    inbound_id: int
    status: str
    decision: str | None
    reviewer: str | None
    note: str | None
    created_us: int
    decided_us: int | None
    event_id: int | None
    address: str
    body: str
    received_us: int
    line_id: int
    channel: str
    classification: str
    provider: str
    message_id: str


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A stored API key (its hash, never the key)."""

    id: int
    prefix: str
    hash: str
    account_id: int | None
    role: str
    created_us: int
    revoked_us: int | None


@dataclass(frozen=True, slots=True)
class CredentialsRecord:
    """One provider's stored credentials for one account (``fields`` is JSON)."""

    id: int
    account_id: int
    provider: str
    fields: str
    external_id: str | None
    updated_us: int


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    """An outbound webhook subscription and its delivery cursor."""

    id: int
    tenant_id: int
    account_id: int
    url: str
    events: str
    secret: str
    created_us: int
    deleted_us: int | None
    cursor_seq: int
    delivered: int
    attempts: int
    next_attempt_us: int
    lease_until_us: int | None
    last_error: str | None
    last_success_us: int | None
    format: str = "json"  # json, slack, email (migration 0012)
    alert_cursor: int = 0


@dataclass(frozen=True, slots=True)
class ScopeQuestionRecord:
    """A scope question asked with an opt-out confirmation (``scope_questions``, C17),
    then what it is read with: its reply's status, and the answer's message."""

    id: int
    tenant_id: int
    account_id: int
    line_id: int
    channel: str
    address: str
    revocation_event_id: int
    revocation_hash: str
    inbound_id: int
    outbox_id: int
    body: str
    body_sha256: str
    version: str
    offered: str  # JSON list of offers
    asked_us: int
    expires_us: int
    status: str
    answer_inbound_id: int | None
    settled_us: int | None
    event_ids: str  # "12" or "12;13"
    reply_status: str | None  # the confirmation's outbox status
    answer_provider: str | None
    answer_message_id: str | None
    answer_body: str | None
    answer_classification: str | None  # JSON


@dataclass(frozen=True, slots=True)
class ErasureRecord:
    """One erasure (``erasures``, C22): no personal data, chained per tenant."""

    id: int
    tenant_id: int
    n: int
    address_key: str
    reason: str
    erased_us: int
    event_seqs: str  # "3;7;9"
    counts: str  # JSON
    chain_seq: int
    chain_head: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AnchorRecord:
    """A re-anchoring of a tenant's chain under the v2 payload (migration 0010)."""

    id: int
    tenant_id: int
    first_seq: int
    last_seq: int
    v1_head: str
    v2_head: str
    anchored_us: int


@dataclass(frozen=True, slots=True)
class CampaignSendRecord:
    """A stored campaign send (migration 0012); no address in it."""

    id: int
    tenant_id: int
    account_id: int
    line_id: int
    campaign: str
    purpose: str
    topic: str | None
    channel: str
    kind: str
    status: str
    sent_us: int
    last_us: int
    recipients: int
    allowed: int
    opt_outs: int
    spike_us: int | None


@dataclass(frozen=True, slots=True)
class ReachChunk:
    """Where and when one chunk of a send's reach was reached (migration 0015); its
    addresses stay in storage (``CampaignRepository.reach_members``)."""

    id: int
    send_id: int
    line_id: int
    channel: str
    first_us: int
    last_us: int


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A queued alert: counts and identifiers only (C23)."""

    id: int
    tenant_id: int
    account_id: int
    kind: str
    dedupe: str
    created_us: int
    body: str  # JSON


@dataclass(frozen=True, slots=True)
class OperatorRecord:
    """A person who signs in to the web UI (``operators``): a password hash, never the
    password."""

    id: int
    name: str
    account_id: int
    role: str
    password_hash: str
    created_us: int
    disabled_us: int | None


# -- repositories ----------------------------------------------------------------------
class LedgerRepository(Protocol):
    """Accounts, lines, tenants' policies, the ledger and its projection."""

    def load_directory(self) -> Directory: ...
    def insert_account(
        self,
        *,
        slug: str,
        parent_id: int | None,
        tenant_id: int | None,
        reach: str | None,
        isolated: bool,
        default_region: str | None,
        now_us: int,
    ) -> int: ...
    def update_account(self, account_id: int, values: Mapping[str, Any]) -> None: ...
    def insert_tenant(
        self, tenant_id: int, policy: TenantPolicy, genesis: str, now_us: int
    ) -> None: ...
    def save_purpose(self, tenant_id: int, rule: PurposeRule) -> None: ...
    def update_tenant(self, tenant_id: int, values: Mapping[str, Any]) -> None: ...
    def load_policies(self) -> dict[int, TenantPolicy]: ...
    def insert_line(self, number: str, account_id: int, tenant_id: int, now_us: int) -> int: ...
    def lock_chain(self, tenant_id: int) -> tuple[int, str]: ...
    def set_chain_head(self, tenant_id: int, seq: int, head: str) -> None: ...
    def insert_events(self, records: Sequence[StoredEvent]) -> list[int]: ...
    def find_idempotent(
        self, tenant_id: int, keys: Iterable[str]
    ) -> dict[str, tuple[str, int]]: ...
    def insert_idempotency(self, rows: Sequence[Mapping[str, Any]]) -> None: ...
    def load_state(
        self, keys: Iterable[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], Projection]: ...
    def save_state(self, rows: Mapping[tuple[int, str, str], Projection]) -> None: ...
    def delete_state(self, tenant_id: int | None = None) -> None: ...
    def events_by_id(self, ids: Iterable[int]) -> dict[int, Event]: ...
    def history(self, tenant_id: int, address: str, channel: str | None = None) -> list[Event]: ...
    def chain_rows(self, tenant_id: int, batch: int = 5000) -> Iterator[StoredEvent]: ...
    def tenant_heads(self) -> list[tuple[int, int, str]]: ...
    def state_rows(self, tenant_id: int) -> Iterator[tuple[str, str, Projection]]: ...


class PrivacyRepository(Protocol):
    """Erasure (C22): the rows that hold an address, rewritten in place; the erasure
    records and the chain's re-anchoring records."""

    def erasure_state(self, tenant_id: int) -> tuple[int, str | None]: ...
    def erasures(self, tenant_id: int) -> list[ErasureRecord]: ...
    def erasures_of(self, tenant_id: int, address_key: str) -> list[ErasureRecord]: ...
    def anchors(self, tenant_id: int) -> list[AnchorRecord]: ...
    def events_of(self, tenant_id: int, address: str) -> list[StoredEvent]: ...
    def insert_erasure(self, row: Mapping[str, Any]) -> int: ...
    def set_erasure_head(self, tenant_id: int, count: int, head: str) -> None: ...
    def rewrite_events(self, rows: Sequence[Mapping[str, Any]]) -> None: ...
    def delete_idempotency(self, tenant_id: int, event_ids: Sequence[int]) -> int: ...
    def inbound_lines(self, tenant_id: int, address: str) -> list[int]: ...
    def has_other_rows(self, tenant_id: int, address: str) -> bool: ...
    def move_state(self, tenant_id: int, address: str, address_key: str) -> list[str]: ...
    def erase_inbound(self, tenant_id: int, address: str, address_key: str) -> list[int]: ...
    def erase_outbox(
        self, tenant_id: int, address: str, address_key: str, inbound_ids: Sequence[int]
    ) -> int: ...
    def erase_review_notes(self, inbound_ids: Sequence[int]) -> int: ...
    def erase_scope_questions(self, tenant_id: int, address: str, address_key: str) -> int: ...
    def last_reliance(self, tenant_id: int) -> Iterator[tuple[str, int]]: ...
    def retention_years(self, tenant_id: int) -> int | None: ...
    def set_retention_years(self, tenant_id: int, years: int | None) -> None: ...
    def erased_tenants(self) -> list[int]: ...
    def secure_delete(self, on: bool) -> None: ...


class InboxRepository(Protocol):
    """Inbound messages, the reply outbox, the review queue, account settings."""

    def all_settings(self) -> dict[int, dict[str, Any]]: ...
    def save_settings(self, account_id: int, settings: Mapping[str, Any]) -> None: ...
    def find_inbound(
        self, tenant_id: int, provider: str, ids: Iterable[str]
    ) -> dict[str, InboundRecord]: ...
    def insert_inbound(self, rows: Sequence[Mapping[str, Any]]) -> list[int]: ...
    def insert_outbox(self, rows: Sequence[Mapping[str, Any]]) -> list[int]: ...
    def outbox_for_inbound(self, inbound_ids: Iterable[int]) -> dict[int, OutboxRecord]: ...
    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[OutboxRecord]: ...
    def any_due_outbox(self, now_us: int) -> bool: ...
    def due_outbox(self, now_us: int, limit: int) -> list[OutboxRecord]: ...
    def inbound_providers(self, inbound_ids: Iterable[int]) -> dict[int, str]: ...
    def set_outbox(self, ids: Sequence[int], **values: Any) -> None: ...
    def insert_review(self, rows: Sequence[Mapping[str, Any]]) -> list[int]: ...
    def review_for_inbound(self, inbound_ids: Iterable[int]) -> dict[int, int]: ...
    def review_items(
        self, tenant_ids: Sequence[int], status: str | None, limit: int
    ) -> list[ReviewRecord]: ...
    def review_item(self, item_id: int, *, lock: bool = False) -> ReviewRecord | None: ...
    def decide_review(self, item_id: int, **values: Any) -> None: ...
    def outbox_health(
        self, tenant_id: int, from_lines: Sequence[str], now_us: int, cap: int
    ) -> OutboxHealthRecord: ...


class ScopeQuestionRepository(Protocol):
    """Scope questions of opt-out confirmations (C17)."""

    def open_questions(
        self, tenant_id: int, channel: str, addresses: Collection[str], *, lock: bool
    ) -> list[ScopeQuestionRecord]: ...
    def insert_questions(self, rows: Sequence[Mapping[str, Any]]) -> list[int]: ...
    def settle(self, rows: Sequence[Mapping[str, Any]]) -> None: ...
    def of_address(
        self, tenant_id: int, address: str, channel: str | None = None
    ) -> list[ScopeQuestionRecord]: ...


class ContactRefRepository(Protocol):
    """Contact references: an external system's record ids for an address."""

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None: ...
    def of_addresses(
        self, tenant_id: int, channel: str, addresses: Collection[str]
    ) -> dict[str, list[tuple[str, str]]]: ...
    def find(
        self, tenant_id: int, ref: str, system: str | None = None
    ) -> list[tuple[str, str]]: ...
    def delete_address(self, tenant_id: int, channel: str, address: str) -> int: ...


class ApiRepository(Protocol):
    """API keys, the change feed, provider credentials."""

    def insert_key(
        self, *, prefix: str, hash_: str, account_id: int | None, role: str, now_us: int
    ) -> int: ...
    def keys_with_prefix(self, prefix: str) -> list[ApiKeyRecord]: ...
    def keys_of_accounts(self, account_ids: Collection[int]) -> list[ApiKeyRecord]: ...
    def key(self, key_id: int) -> ApiKeyRecord | None: ...
    def key_by_hash(self, hash_: str) -> ApiKeyRecord | None: ...
    def count_installation_admins(self) -> int: ...
    def revoke_key(self, key_id: int, now_us: int) -> None: ...
    def events_after(
        self,
        after: int,
        limit: int,
        *,
        tenant_ids: Collection[int] | None,
        scopes: Collection[str] | None,
    ) -> list[Event]: ...
    def credentials(
        self, account_ids: Collection[int], provider: str
    ) -> dict[int, CredentialsRecord]: ...
    def credentials_by_external_id(
        self, provider: str, external_id: str
    ) -> CredentialsRecord | None: ...
    def put_credentials(
        self,
        *,
        account_id: int,
        provider: str,
        fields: str,
        external_id: str | None,
        now_us: int,
    ) -> None: ...


class HookRepository(Protocol):
    """Outbound webhook subscriptions and their delivery cursors."""

    def insert(self, **values: Any) -> int: ...
    def get(self, subscription_id: int) -> SubscriptionRecord | None: ...
    def of_accounts(self, account_ids: list[int] | None) -> list[SubscriptionRecord]: ...
    def delete(self, subscription_id: int, now_us: int) -> None: ...
    def chain_seq(self, tenant_id: int) -> int: ...
    def due(self, now_us: int, limit: int) -> list[SubscriptionRecord]: ...
    def lease(self, subscription_id: int, now_us: int, until_us: int) -> bool: ...
    def events_after(self, tenant_id: int, seq: int, limit: int) -> list[Event]: ...
    def advance(
        self, subscription_id: int, cursor_seq: int, delivered: int, now_us: int
    ) -> None: ...
    def release(
        self,
        subscription_id: int,
        *,
        next_attempt_us: int,
        attempts: int | None = None,
        error: str | None = None,
    ) -> None: ...


class NonceRepository(Protocol):
    """Single-use webhook nonces (atomic claims)."""

    def claim(
        self, *, provider: str, nonce: str, digest: str, now_us: int, since_us: int
    ) -> bool: ...
    def prune(self, *, before_us: int) -> int: ...


class ExportRepository(Protocol):
    """Keyset pages and batched reads for exports, snapshots and subject access."""

    def events_page(
        self,
        tenant_id: int,
        *,
        after_seq: int,
        until_seq: int,
        limit: int,
        scopes: Collection[str] | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
    ) -> list[StoredEvent]: ...
    def state_page(
        self, tenant_id: int, channel: str, *, after: str | None, limit: int
    ) -> list[StateRow]: ...
    def histories(
        self, tenant_id: int, channel: str, addresses: Sequence[str]
    ) -> dict[str, list[StoredEvent]]: ...
    def inbound_of(
        self, tenant_id: int, address: str, channel: str | None = None
    ) -> list[InboundRecord]: ...
    def outbox_to(
        self, tenant_id: int, address: str, channel: str | None = None
    ) -> list[OutboxRecord]: ...
    def reviews_for(self, inbound_ids: Sequence[int]) -> list[ReviewRecord]: ...


class CampaignRepository(Protocol):
    """Campaign sends, their reach, attribution cursors, gateway tallies, alerts."""

    def open_send(self, **values: Any) -> int: ...
    def finish_send(
        self, send_id: int, *, status: str, recipients: int, allowed: int, last_us: int
    ) -> None: ...
    def add_reasons(self, send_id: int, counts: Mapping[str, int]) -> None: ...
    def add_to_send(self, send_id: int, *, recipients: int, allowed: int, last_us: int) -> None: ...
    def gateway_send(
        self, tenant_id: int, line_id: int, campaign: str, purpose: str, since_us: int
    ) -> int | None: ...
    def reach_chunk(
        self,
        *,
        send_id: int,
        chunk: int,
        tenant_id: int,
        channel: str,
        line_id: int,
        at_us: int,
        addresses: Sequence[str],
    ) -> None: ...
    def reach_one(
        self,
        *,
        send_id: int,
        tenant_id: int,
        channel: str,
        line_id: int,
        at_us: int,
        address: str,
        full: int,
    ) -> None: ...
    def reach_candidates(
        self,
        tenant_id: int,
        channels: Collection[str],
        after_us: int,
        until_us: int,
        limit: int | None = None,
    ) -> list[ReachChunk]: ...
    def reach_members(self, wanted: Mapping[int, Collection[str]]) -> dict[int, set[str]]: ...
    def reached(self, tenant_id: int, addresses: Collection[str]) -> set[str]: ...
    def prune_reach(self, tenant_id: int, before_us: int) -> int: ...
    def erase_address(self, tenant_id: int, address: str) -> int: ...
    def tally_gateway(
        self, tenant_id: int, line_id: int, bucket_us: int, allowed: bool, reason: str
    ) -> None: ...
    def cursor(self, tenant_id: int) -> int | None: ...
    def set_cursor(self, tenant_id: int, seq: int) -> None: ...
    def chain_tenants(self) -> list[tuple[int, int]]: ...
    def opt_outs_after(
        self, tenant_id: int, seq: int, limit: int
    ) -> list[tuple[int, str, str, str, int]]: ...
    def add_opt_outs(self, counts: Mapping[int, int]) -> None: ...
    def sends(self, ids: Collection[int]) -> list[CampaignSendRecord]: ...
    def earlier_sends(
        self, account_id: int, before_us: int, limit: int
    ) -> list[CampaignSendRecord]: ...
    def sends_between(
        self,
        tenant_id: int,
        line_ids: Collection[int] | None,
        since_us: int | None,
        until_us: int | None,
    ) -> list[CampaignSendRecord]: ...
    def reasons_of(self, send_ids: Collection[int]) -> dict[int, dict[str, int]]: ...
    def mark_spike(self, send_id: int, now_us: int) -> bool: ...
    def gateway_counts(
        self,
        tenant_id: int,
        line_ids: Collection[int] | None,
        since_us: int | None,
        until_us: int | None,
    ) -> list[tuple[int, int, bool, str, int]]: ...
    def insert_alert(self, **values: Any) -> int | None: ...
    def alerts_after(self, tenant_id: int, after_id: int, limit: int) -> list[AlertRecord]: ...
    def last_alert_id(self, tenant_id: int) -> int: ...
    def mark(self, tenant_id: int, source: str) -> int | None: ...
    def set_mark(self, tenant_id: int, source: str, last_id: int) -> None: ...
    def review_items_after(
        self, tenant_id: int, after_id: int, limit: int
    ) -> list[tuple[int, int, int]]: ...
    def open_reviews(self, account_id: int) -> int: ...
    def failed_replies(self, since_us: int, limit: int) -> list[tuple[int, int, str, int]]: ...
    def failing_hooks(self, attempts: int) -> list[tuple[int, int, int, int, int]]: ...
    def set_alert_cursor(self, subscription_id: int, alert_id: int) -> None: ...
    def latest_sends(
        self, tenant_id: int, account_ids: Collection[int], limit: int
    ) -> list[CampaignSendRecord]: ...


class RollupRepository(Protocol):
    """The report rollups (``storage.rollups``): counters only, never an address."""

    def add(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None: ...
    def clear(self, tenant_id: int, *, inbound: bool = False) -> None: ...
    def first_slot(self, table: str, tenant_id: int) -> int | None: ...
    def sums(
        self,
        table: str,
        tenant_id: int,
        grain: int,
        ranges: Sequence[tuple[int, int]],
        keys: Sequence[str],
        measures: Sequence[str],
        where: Mapping[str, Sequence[int]],
    ) -> list[tuple[Any, ...]]: ...
    def slot_sums(
        self,
        table: str,
        tenant_id: int,
        slots: Sequence[int],
        keys: Sequence[str],
        measures: Sequence[str],
        where: Mapping[str, Sequence[int]],
    ) -> list[tuple[Any, ...]]: ...
    def state_sums(
        self, tenant_id: int, day_start: int, at: int, line_ids: Sequence[int]
    ) -> list[tuple[int, str, int, int, int, int]]: ...
    def review_stats(
        self, tenant_id: int, account_ids: Sequence[int]
    ) -> tuple[int, int | None]: ...
    def last_inbound(self, tenant_id: int, account_ids: Sequence[int]) -> dict[str, int]: ...


class OperatorRepository(Protocol):
    """Operators of the web UI and the shared rate-limit counters."""

    def insert(
        self, *, name: str, account_id: int, role: str, password_hash: str, now_us: int
    ) -> int: ...
    def by_name(self, name: str) -> OperatorRecord | None: ...
    def by_id(self, operator_id: int) -> OperatorRecord | None: ...
    def of_accounts(self, account_ids: Collection[int] | None) -> list[OperatorRecord]: ...
    def set_password(self, operator_id: int, password_hash: str) -> None: ...
    def disable(self, operator_id: int, now_us: int) -> None: ...
    def hit(self, bucket: str, key: str, window_us: int) -> int: ...
    def hits(self, bucket: str, key: str, window_us: int) -> int: ...
    def clear(self, bucket: str, key: str) -> None: ...


class PageRepository(Protocol):
    """The web UI's reads: a number's history a page at a time, newest first."""

    def history_count(
        self, tenant_id: int, address: str, channel: str, scopes: Collection[str]
    ) -> int: ...
    def history_page(
        self,
        tenant_id: int,
        address: str,
        channel: str,
        scopes: Collection[str],
        *,
        offset: int,
        limit: int,
    ) -> list[Event]: ...


class UnitOfWork(Protocol):
    """One transaction: enter it, use its repositories, ``commit()``; leaving the
    block without committing (or with an exception) rolls everything back."""

    @property
    def store(self) -> LedgerRepository: ...
    @property
    def inbox(self) -> InboxRepository: ...
    @property
    def api(self) -> ApiRepository: ...
    @property
    def hooks(self) -> HookRepository: ...
    @property
    def nonces(self) -> NonceRepository: ...
    @property
    def questions(self) -> ScopeQuestionRepository: ...
    @property
    def exports(self) -> ExportRepository: ...
    @property
    def refs(self) -> ContactRefRepository: ...
    @property
    def privacy(self) -> PrivacyRepository: ...
    @property
    def campaigns(self) -> CampaignRepository: ...
    @property
    def rollups(self) -> RollupRepository: ...
    @property
    def operators(self) -> OperatorRepository: ...
    @property
    def pages(self) -> PageRepository: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens units of work on one database: ``with units() as uow`` (a write
    transaction) or ``units(write=False)`` (a read that takes no write lock)."""

    def __call__(self, *, write: bool = True) -> UnitOfWork: ...


class ApiKeyReader(Protocol):
    """The API keys' read path: one point read by the key's hash, no transaction."""

    def api_key(self, hash_: str) -> ApiKeyRow | None: ...
    def close(self) -> None: ...


class StateReader(Protocol):
    """The send gate's and the API keys' read path (latest commit, no transaction)."""

    def get(self, tenant_id: int, channel: str, address: str) -> Row | None: ...
    def api_key(self, hash_: str) -> ApiKeyRow | None: ...
    def get_many(
        self, tenant_id: int, channel: str, addresses: Sequence[str]
    ) -> dict[str, StateRow]: ...
    def scan(self, tenant_id: int, channel: str) -> Iterator[StateRow]: ...
    def scan_table(
        self, tenant_id: int, channel: str, rows: int | None = None
    ) -> dict[str, StateRow]: ...
    def shape_groups(
        self, tenant_id: int, channel: str, rows: int | None = None
    ) -> list[tuple[str, list[str]]] | None: ...
    def count(self, tenant_id: int, channel: str) -> int: ...
    def has_erasures(self, tenant_id: int) -> bool: ...
    def close(self) -> None: ...
