"""The public Python API: :func:`connect` returns a :class:`Consentline`.

>>> import consentline                                    # doctest: +SKIP
>>> cl = consentline.connect("sqlite:///consent.db")
>>> cl.create_account("acme", default_region="US")
>>> cl.add_line("+18005550100", account="acme")
>>> cl.check("+14155550101", from_="+18005550100", purpose="marketing").reason
'no_consent'

The client caches the account tree and purposes (they change rarely) and
refreshes them after its own writes, when a line it does not know is asked
for, and at the latest every ``cache_seconds`` for changes made elsewhere.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, overload

from consentline.domain.errors import InvalidInput, UnknownAccount, UnknownLine, UnknownPurpose
from consentline.domain.import_mapping import ImportMapping, build_mapping
from consentline.domain.ledger import Event
from consentline.domain.outbound import NOTHING, OutboundAllow
from consentline.domain.policy import Decision, PurposeRule, QuietHours, TenantPolicy
from consentline.domain.privacy import check_erasure_key, keyed_address
from consentline.domain.reports import Report
from consentline.domain.scopes import Account, Directory, Line
from consentline.domain.settings import AccountSettings, Finding
from consentline.services import (
    accounts,
    campaigns,
    configuration,
    contact_refs,
    dashboard,
    exports,
    history,
    hygiene,
    imports,
    inbound,
    outbox,
    privacy,
    recording,
    reports,
    review,
    scope_questions,
    subscriptions,
)
from consentline.services.api_keys import ApiKeys
from consentline.services.context import Context
from consentline.services.credentials import ProviderCredentials
from consentline.services.dashboard import Dashboard
from consentline.services.deactivations import DeactivationReport, import_deactivations
from consentline.services.gate import Gate
from consentline.services.hygiene import HygieneReport, ReconfirmReport
from consentline.services.import_planning import RowProblem
from consentline.services.imports import ImportReport
from consentline.services.inbound import InboundMessage, InboundResult
from consentline.services.number_changes import NumberChange, change_number
from consentline.services.operators import Operators
from consentline.services.outbox import OutboxMessage
from consentline.services.ports import UnitOfWork, UnitOfWorkFactory
from consentline.services.privacy import ErasureReport, RetentionReport
from consentline.services.recording import RecordRequest, RecordResult
from consentline.services.review import ReviewItem
from consentline.services.scope_questions import AskedQuestion
from consentline.services.subscriptions import Subscription
from consentline.services.verification import VerifyReport, verify
from consentline.settings import DEFAULT_DATABASE_URL
from consentline.storage.engine import make_engine, migrate, ping
from consentline.storage.fastpath import Row, StateReader
from consentline.storage.privacy import scrub
from consentline.storage.uow import UnitsOfWork

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _provider_verdict(provider: str, hint: str | None) -> str | None:
    """A provider's own verdict from its hint (:mod:`consentline.providers.hints`).

    Imported on first use, as the credential rules are: importing any provider
    module loads the seven adapters (about 50 ms), which ``import consentline``
    does not need.
    """
    from consentline.providers.hints import provider_verdict

    return provider_verdict(provider, hint)


def connect(
    url: str = DEFAULT_DATABASE_URL,
    *,
    migrate_schema: bool = True,
    clock: Clock = _utc_now,
    cache_seconds: float = 5.0,
    erasure_key: str | bytes | None = None,
) -> Consentline:
    """Open (and by default migrate) a consentline database.

    ``url`` is ``sqlite:///path.db`` (embedded; the default is
    ``sqlite:///./var/consentline.db``) or ``postgresql+psycopg://user@host/db``.
    ``erasure_key`` is the installation secret erasure needs (C22; the CLI and the
    server read ``CONSENTLINE_ERASURE_KEY``); keep it out of the database.
    """
    key = None if erasure_key is None else check_erasure_key(erasure_key)
    engine = make_engine(url)
    if migrate_schema:
        migrate(engine)
    return Consentline(engine, clock=clock, cache_seconds=cache_seconds, erasure_key=key)


class Consentline:
    """A consent ledger and send gate on one database."""

    def __init__(
        self,
        engine: Any,
        *,
        clock: Clock = _utc_now,
        cache_seconds: float = 5.0,
        erasure_key: bytes | None = None,
    ) -> None:
        self.engine = engine
        self._erasure_key = erasure_key
        # What the services and jobs are built on: ``with cl.units() as uow`` (a write
        # transaction) or ``cl.units(write=False)``.
        self.units: UnitOfWorkFactory = UnitsOfWork(engine, erasure_key)
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._directory: Directory | None = None
        self._policies: dict[int, TenantPolicy] | None = None
        self._settings: dict[int, AccountSettings] = {}
        self._loaded_at = 0.0
        self._reader = StateReader(engine, erasure_key)
        self._gate = Gate(
            self._reader, self.directory, self._reload, self._tenant_policies, self._history_fold
        )

    # -- caches ------------------------------------------------------------------------
    def _reload(self) -> Directory:
        with self.units(write=False) as uow:
            directory, policies = accounts.snapshot(uow)
            settings = configuration.load(uow)
            erased = uow.privacy.erased_tenants()
        self._reader.set_erased(erased)
        with self._lock:
            self._directory, self._policies = directory, policies
            self._settings = settings
            self._loaded_at = time.monotonic()
        return directory

    def _context(self) -> Context:
        directory = self.directory()
        return Context(directory, self._tenant_policies(), self._settings, _provider_verdict)

    def directory(self) -> Directory:
        """The account tree and lines (cached snapshot)."""
        directory = self._directory
        if directory is None or time.monotonic() - self._loaded_at > self._cache_seconds:
            directory = self._reload()
        return directory

    def _tenant_policies(self) -> dict[int, TenantPolicy]:
        policies = self._policies
        if policies is None or time.monotonic() - self._loaded_at > self._cache_seconds:
            self._reload()
            policies = self._policies
        assert policies is not None
        return policies

    @property
    def cache_seconds(self) -> float:
        """How long a change made by another process may take to be seen here."""
        return self._cache_seconds

    def _write(self) -> UnitOfWork:
        return self.units(write=True)

    # -- the services the edges build on this database ---------------------------------
    def api_keys(self, clock: Clock | None = None) -> ApiKeys:
        """API keys on this database, with a read path of their own (``close()`` it);
        ``clock`` defaults to the client's."""
        return ApiKeys(self.units, StateReader(self.engine), clock or self._clock)

    def operators(self, clock: Clock | None = None) -> Operators:
        """The web UI's operators and the shared rate limits on this database."""
        return Operators(self.units, clock or self._clock)

    def provider_credentials(
        self,
        clock: Clock | None = None,
        *,
        cache_seconds: float = 0.0,
        allow: OutboundAllow = NOTHING,
    ) -> ProviderCredentials:
        """Provider credentials on this database (resolutions kept ``cache_seconds``;
        an ``upstream_base_url`` may reach ``allow`` beyond public hosts)."""
        # Imported here: the adapters are not needed by a client that never asks.
        from consentline.providers.credential_fields import RULES

        return ProviderCredentials(
            self.units, RULES, clock or self._clock, cache_seconds=cache_seconds, allow=allow
        )

    # -- accounts and lines ------------------------------------------------------------
    def create_account(
        self,
        slug: str,
        parent: str | None = None,
        reach: str | None = None,
        isolated: bool = False,
        default_region: str | None = None,
    ) -> Account:
        """Create an account. A root (``parent=None``) is a tenant; its reach defaults
        to ``tree``; a sub-account with ``reach=None`` inherits its parent's.

        >>> cl.create_account("acme", reach="tree", default_region="US")  # doctest: +SKIP
        """
        with self._write() as uow:
            accounts.create_account(
                uow,
                self._reload(),
                slug=slug,
                parent=parent,
                reach=reach,
                isolated=isolated,
                default_region=default_region,
                now=self._clock(),
            )
        return self._reload().account(slug)

    def update_account(self, slug: str, **changes: Any) -> Account:
        """Change ``parent``, ``reach``, ``isolated`` or ``default_region`` of an account."""
        allowed = {"parent", "reach", "isolated", "default_region"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidInput(
                f"cannot change {', '.join(sorted(unknown))}", fields=sorted(unknown)
            )
        with self._write() as uow:
            accounts.update_account(uow, self._reload(), slug=slug, **changes)
        return self._reload().account(slug)

    def add_line(self, number: str, account: str) -> Line:
        """Register a sending line (number, short code or sender id) for ``account``."""
        with self._write() as uow:
            line_id = accounts.add_line(
                uow, self._reload(), number=number, account=account, now=self._clock()
            )
        return self._reload().line_by_id(line_id)

    def set_purpose(
        self,
        account: str,
        name: str,
        model: str,
        *,
        quiet_hours: str | QuietHours | None = None,
        consent_ttl: timedelta | None = None,
    ) -> PurposeRule:
        """Define a purpose for the tenant of ``account`` (``restrictive``,
        ``non_restrictive`` or ``disabled``), with optional quiet hours
        ("21:00-08:00", recipient's local time) and a consent TTL."""
        with self._write() as uow:
            rule = accounts.set_purpose(
                uow,
                self._reload(),
                account=account,
                name=name,
                model=model,
                quiet_hours=quiet_hours,
                consent_ttl=consent_ttl,
            )
        self._reload()
        return rule

    def set_policy(self, account: str, **settings: Any) -> TenantPolicy:
        """Tenant-wide ``consent_ttl`` (None = never expires), ``pending_ttl`` and
        ``revoke_all_from`` (C16: the day from which a scoped revocation covers every
        purpose and topic at its scope; default 2027-01-31; None = off).

        >>> cl.set_policy("acme", revoke_all_from="2026-06-01").revoke_all_from  # doctest: +SKIP
        datetime.date(2026, 6, 1)
        """
        unknown = set(settings) - {"consent_ttl", "pending_ttl", "revoke_all_from"}
        if unknown:
            raise InvalidInput(f"unknown settings {', '.join(sorted(unknown))}")
        with self._write() as uow:
            accounts.set_tenant_policy(
                uow, self._reload(), account=account, key_of=self._key_of(), **settings
            )
        directory = self._reload()
        return self._tenant_policies()[directory.account(account).tenant_id]

    def policy(self, account: str) -> TenantPolicy:
        return self._tenant_policies()[self.directory().account(account).tenant_id]

    # -- ledger ------------------------------------------------------------------------
    def record(
        self,
        address: str,
        action: str,
        *,
        account: str | None = None,
        line: str | None = None,
        via: str | None = None,
        purpose: str | None = None,
        topic: str | None = None,
        channel: str = "sms",
        source: str = "api",
        proof: Mapping[str, Any] | None = None,
        occurred_at: datetime | None = None,
        idempotency_key: str | None = None,
        within: str | None = None,
        contact_ref: str | Sequence[str] | None = None,
    ) -> Event:
        """Append one consent event and return it (with its chain hash).

        The scope is ``account=`` or ``line=``; ``via=`` names the line a keyword
        arrived on, so that an opt-out follows the account's reach. ``within=``
        bounds the write to an account's subtree, as for an API key of that
        account (see :class:`RecordRequest`). ``contact_ref`` attaches external
        record ids to the address (``"salesforce:003xx..."``, or a list of them).
        """
        request = RecordRequest(
            address=address,
            action=action,
            account=account,
            line=line,
            via=via,
            purpose=purpose,
            topic=topic,
            channel=channel,
            source=source,
            proof=proof,
            occurred_at=occurred_at,
            idempotency_key=idempotency_key,
            within=within,
            contact_ref=contact_ref,
        )
        return self.record_many([request])[0]

    def record_many(self, requests: Iterable[RecordRequest]) -> list[Event]:
        """Append many events in ONE transaction (all or nothing)."""
        return [result.event for result in self.record_results(requests)]

    def record_results(self, requests: Iterable[RecordRequest]) -> list[RecordResult]:
        """Like :meth:`record_many`, saying of each request whether it was a replay.

        ``replayed`` is true when the request's idempotency key was already
        applied: the original event is returned and nothing is appended. Of any
        number of concurrent requests with one key, exactly one is not a replay
        (what ``POST /v1/consents`` answers 201 rather than 200).

        >>> [r.replayed for r in cl.record_results([req, req])]  # doctest: +SKIP
        [False, True]
        """
        batch = list(requests)
        if not batch:
            return []
        try:
            return self._record(batch)
        except (UnknownAccount, UnknownLine, UnknownPurpose):
            # Possibly created by another process since our snapshot: reload once.
            self._reload()
            return self._record(batch)

    def _record(self, batch: list[RecordRequest]) -> list[RecordResult]:
        now = self._clock()
        ctx = self._context()
        with self._write() as uow:
            results = recording.append_results(uow, ctx.directory, ctx.policies, batch, now=now)
            fresh = [r.event for r in results if not r.replayed]  # a replay queues nothing
            outbox.queue_confirmation_requests(uow, ctx, fresh, now=now)  # C24
            uow.commit()
        return results

    def import_records(
        self,
        source: imports.Source,
        *,
        account: str | None = None,
        line: str | None = None,
        mapping: ImportMapping | Mapping[str, str],
        fixed: Mapping[str, str] | None = None,
        values: Mapping[str, Mapping[str, str]] | None = None,
        preset: str | None = None,
        time_format: str | None = None,
        timezone: str | None = None,
        dry_run: bool = False,
        batch_id: str | None = None,
        format: str | None = None,
        delimiter: str | None = None,
        within: str | None = None,
        on_problem: Callable[[RowProblem], None] | None = None,
        on_chunk: Callable[[ImportReport], None] | None = None,
        chunk_size: int = imports.CHUNK,
        in_process: bool = True,
        actor: Mapping[str, Any] | None = None,
    ) -> ImportReport:
        """Import a consent list (CSV or JSONL: a path, a binary file, or dicts).

        ``mapping`` maps fields to columns (``{"address": "Phone", "proof.form_url":
        "Form"}``) or is a built :class:`ImportMapping`; ``fixed`` gives values
        instead of columns (``{"purpose": "marketing"}``), ``values`` maps a
        column's words to actions (``{"Status": {"Gone": "opt_out"}}``), ``preset``
        is ``legacy-opt-out:COLUMN`` or ``optout-status:COLUMN``. Each chunk is one
        transaction; a re-run appends nothing (rows are ``unchanged``); bad rows are
        reported, never fatal; ``on_problem`` receives every row left out;
        ``actor`` (who runs the import) is added to every row's proof;
        ``in_process=False`` plans the rows in a second process while this one
        writes (it frees this process's CPU; see docs/imports.md for when it helps).

        >>> cl.import_records("crm.csv", account="acme",            # doctest: +SKIP
        ...     mapping={"address": "Phone"}, preset="legacy-opt-out:SMS Opt Out").written
        1200
        """
        built = (
            mapping
            if isinstance(mapping, ImportMapping)
            else build_mapping(
                mapping,
                fixed=fixed,
                values=values,
                preset=preset,
                time_format=time_format,
                timezone=timezone,
            )
        )
        self._reload()  # the accounts, lines and purposes as they are now
        ctx = self._context()
        report = imports.run_import(
            self.units,
            ctx.directory,
            ctx.policies,
            source,
            built,
            account=account,
            line=line,
            within=within,
            now=self._clock(),
            dry_run=dry_run,
            batch_id=batch_id,
            format=format,
            delimiter=delimiter,
            chunk=chunk_size,
            in_process=in_process,
            on_problem=on_problem,
            on_chunk=on_chunk,
            actor=actor,
        )
        return report

    def check(
        self,
        to: str,
        *,
        from_: str,
        purpose: str,
        topic: str | None = None,
        channel: str = "sms",
        at: datetime | None = None,
    ) -> Decision:
        """May ``from_`` send a ``purpose`` message to ``to``? One indexed lookup.

        ``at`` asks about another moment (default: now).
        """
        return self._gate.check(
            to, from_=from_, purpose=purpose, topic=topic, channel=channel, at=at, now=self._clock()
        )

    @overload
    def check_many(
        self,
        recipients: Iterable[str],
        *,
        from_: str,
        purpose: str,
        topic: str | None = None,
        channel: str = "sms",
        at: datetime | None = None,
        campaign: str | None = None,
        summary: Literal[False] = False,
    ) -> Iterator[Decision]: ...

    @overload
    def check_many(
        self,
        recipients: Iterable[str],
        *,
        from_: str,
        purpose: str,
        topic: str | None = None,
        channel: str = "sms",
        at: datetime | None = None,
        campaign: str | None = None,
        summary: Literal[True],
    ) -> dict[str, Any]: ...

    def check_many(
        self,
        recipients: Iterable[str],
        *,
        from_: str,
        purpose: str,
        topic: str | None = None,
        channel: str = "sms",
        at: datetime | None = None,
        campaign: str | None = None,
        summary: bool = False,
    ) -> Iterator[Decision] | dict[str, Any]:
        """Check a whole list; decisions come lazily, in the same order.

        ``campaign`` names the send: it is recorded (counts by reason, and the
        addresses it reached, for opt-out attribution; docs/campaigns.md) as the
        decisions are consumed, and finalised when the iterator ends. ``summary=True``
        is the deliverability preview: ``{"total", "allowed", "by_reason"}`` only,
        and nothing is recorded (``campaign`` is then only checked).
        """
        now = self._clock()
        if campaign is not None:
            campaigns.check_campaign(campaign)
        if summary:
            counts = self._gate.summarise(
                recipients,
                from_=from_,
                purpose=purpose,
                topic=topic,
                channel=channel,
                at=at,
                now=now,
            )
            return campaigns.summary(counts)
        decisions = self._gate.check_many(
            recipients,
            from_=from_,
            purpose=purpose,
            topic=topic,
            channel=channel,
            at=at,
            now=now,
        )
        if campaign is None:
            return decisions
        line = self._gate.prepare(from_, purpose, topic, channel)
        send = campaigns.spec(
            self.directory(),
            line,
            campaign=campaign,
            purpose=purpose,
            topic=topic,
            channel=channel,
            at=at or now,
        )
        return campaigns.recorded(self.units, send, decisions)

    def record_gateway(
        self, line: Line, decision: Decision, purpose: str, campaign: str | None = None
    ) -> None:
        """Store one gateway decision (counted per line, bucket and reason; with a
        ``campaign``, part of the line's gateway send of it: docs/campaigns.md)."""
        with self._write() as uow:
            campaigns.record_gateway(
                uow, line, decision, purpose=purpose, campaign=campaign, now=self._clock()
            )
            uow.commit()

    # -- inbound replies ---------------------------------------------------------------
    def configure_account(self, slug: str, **settings: Any) -> list[str]:
        """Set an account's inbound settings; returns warnings.

        Each setting given replaces that setting of the account (a ``templates``
        or ``topic_keywords`` map is replaced whole); settings not given are kept.

        Keywords are linted (collisions with built-in words and everyday words are
        refused, very short ones warned about); reply templates are linted (C18).
        Settings: ``opt_out_keywords``, ``opt_in_keywords``, ``help_keywords``,
        ``confirm_keywords``, ``topic_keywords`` ({"VOLUNTEER": "volunteer"}),
        ``keyword_reach`` ({"STOPALL": "tree"}), ``start_creates_opt_in``,
        ``typo_tolerance``, ``program_name``, ``support_contact``, ``frequency``,
        ``language``, ``templates`` ({"en": {"help": "..."}}), ``scope_question``
        ({"enabled": True, "categories": [{"code": "1", "purpose": "transactional",
        "label": "order updates"}]}: docs/scope-question.md).
        """
        directory = self._reload()
        account = directory.account(slug)
        with self._write() as uow:
            warnings = configuration.configure(uow, self._context(), account.id, settings)
            uow.commit()
        self._reload()
        return warnings

    def check_account_settings(self, slug: str, **settings: Any) -> list[Finding]:
        """What :meth:`configure_account` would find in these settings, saving
        nothing: every lint finding on its setting (``templates.en.help`` for a
        template), breaches (``finding.breach``) included.

        >>> found = cl.check_account_settings("acme", opt_in_keywords=["GO"])  # doctest: +SKIP
        >>> [(f.setting, f.breach) for f in found]
        [('opt_in_keywords', False)]
        """
        account = self._reload().account(slug)
        return configuration.check(self._context(), account.id, settings)

    def account_settings(self, slug: str, *, effective: bool = True) -> AccountSettings:
        """An account's inbound settings (by default as inherited down the tree)."""
        ctx = self._context()
        account = ctx.directory.account(slug)
        if effective:
            return ctx.effective(account.id)
        return self._settings.get(account.id, AccountSettings())

    def handle_inbound(
        self,
        *,
        from_: str,
        to: str,
        text: str,
        provider: str = "api",
        message_id: str | None = None,
        received_at: datetime | None = None,
        channel: str = "sms",
        provider_hint: str | None = None,
        within: str | None = None,
    ) -> InboundResult:
        """Handle one inbound message: classify, record at most one change, queue the reply.

        ``within=`` is the account of whoever relays the message (an API key): the
        writes that allow sends (a START's resume, a YES's confirmation) then stay in
        that account's subtree, as for :meth:`record`. A provider's signed webhook
        relays the handset's own act and passes nothing.

        >>> r = cl.handle_inbound(from_="+14155550101", to="+18005550100", text="Stop.")
        >>> r.classification.intent, r.event.action, r.reply.kind
        ('opt_out', 'opt_out', 'opt_out_confirmation')
        """
        message = InboundMessage(
            from_=from_,
            to=to,
            text=text,
            provider=provider,
            message_id=message_id,
            received_at=received_at,
            channel=channel,
            provider_hint=provider_hint,
            within=within,
        )
        return self.handle_inbound_many([message])[0]

    def handle_inbound_many(self, messages: Iterable[InboundMessage]) -> list[InboundResult]:
        """Handle a batch of inbound messages in ONE transaction, in order."""
        batch = list(messages)
        if not batch:
            return []
        try:
            return self._inbound(batch)
        except (UnknownAccount, UnknownLine):
            self._reload()
            return self._inbound(batch)

    def _inbound(self, batch: list[InboundMessage]) -> list[InboundResult]:
        now = self._clock()
        ctx = self._context()
        with self._write() as uow:
            results = inbound.handle(uow, ctx, batch, now=now)
            uow.commit()
        return results

    def review_list(
        self, *, account: str | None = None, status: str | None = "open", limit: int = 100
    ) -> list[ReviewItem]:
        """Ambiguous replies waiting for (or given) a human decision (C8)."""
        ctx = self._context()
        with self.units(write=False) as uow:
            return review.list_items(uow, ctx, account=account, status=status, limit=limit)

    def review_decide(
        self, item_id: int, decision: str, *, reviewer: str, note: str | None = None
    ) -> tuple[ReviewItem, Event | None]:
        """Decide a review item: ``opt_out`` records an opt-out with the reviewer as actor."""
        ctx = self._context()
        with self._write() as uow:
            result = review.decide(
                uow,
                ctx,
                item_id=item_id,
                decision=decision,
                reviewer=reviewer,
                note=note,
                now=self._clock(),
            )
            uow.commit()
        return result

    def outbox(self, *, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        """Replies in the outbox (pending, sent, dropped, failed)."""
        with self.units(write=False) as uow:
            return outbox.listed(uow, status=status, limit=limit)

    def take_due_replies(self, limit: int = 100, *, lease_s: int = 60) -> list[OutboxMessage]:
        """Replies due for sending now; drops opt-out confirmations past 5 minutes (C17).

        The replies handed out are not due again for ``lease_s`` seconds, so the
        server's own reply worker does not send them too; report the outcome with
        :meth:`mark_replies` (a reply never marked comes round again).
        """
        with self._write() as uow:
            due = outbox.take_due(uow, now=self._clock(), limit=limit, lease_s=lease_s)
            uow.commit()
        return due

    def mark_replies(self, ids: Sequence[int], status: str, detail: str | None = None) -> None:
        """Record the outcome of sending replies (``sent``, ``failed``, ``pending``)."""
        with self._write() as uow:
            outbox.mark(uow, ids, status, detail)
            uow.commit()

    # -- outbound webhooks -------------------------------------------------------------
    def subscribe(
        self,
        account: str,
        url: str,
        events: Sequence[str] = ("*",),
        *,
        allow: OutboundAllow = NOTHING,
        format: str = "json",
    ) -> tuple[Subscription, str]:
        """Send ``account``'s consent changes to ``url``; returns the subscription and
        the secret that signs every delivery (shown this once). ``url`` must reach a
        public host unless ``allow`` (the installation's ``CONSENTLINE_OUTBOUND_ALLOW``)
        lists it: see :mod:`consentline.domain.outbound`. ``format`` is ``json``,
        ``slack`` or ``email`` (with a ``mailto:`` URL): :mod:`consentline.services.alerts`."""
        directory = self.directory()
        owner = directory.account(account)
        with self._write() as uow:
            created = subscriptions.create(
                uow,
                directory,
                account_id=owner.id,
                url=url,
                events=events,
                now=self._clock(),
                allow=allow,
                format=format,
            )
            uow.commit()
        return created

    def subscriptions(self, *, accounts: Sequence[str] | None = None) -> list[Subscription]:
        """Live webhook subscriptions, of ``accounts`` or of every account."""
        directory = self.directory()
        ids = None if accounts is None else [directory.account(a).id for a in accounts]
        with self.units(write=False) as uow:
            return subscriptions.listed(uow, directory, ids)

    def subscription(self, subscription_id: int) -> Subscription:
        with self.units(write=False) as uow:
            return subscriptions.get(uow, self.directory(), subscription_id, visible=None)

    def unsubscribe(self, subscription_id: int) -> None:
        """Stop deliveries to a subscription (it is kept, marked deleted)."""
        with self._write() as uow:
            subscriptions.delete(uow, subscription_id, visible=None, now=self._clock())
            uow.commit()

    def history(self, address: str, *, account: str, channel: str | None = None) -> list[Event]:
        """Every event for ``address`` in the tenant of ``account``, oldest first (C28)."""
        owner = self.directory().account(account)
        with self.units(write=False) as uow:
            return history.of_address(uow, owner, address, channel)

    def change_number(
        self, old: str, new: str, *, account: str, channel: str = "sms"
    ) -> NumberChange:
        """The consents ``old`` holds in ``account``'s subtree lapse (source
        ``number_change``); its opt-outs stay; nothing carries over to ``new``.

        Idempotent: running the same change again appends nothing.

        >>> cl.change_number("+14155550101", "+14155550199", account="acme")  # doctest: +SKIP
        NumberChange(old=..., new=..., lapsed=(Event(action="lapse", ...),), replayed=0)
        """
        directory, policies = self.directory(), self._tenant_policies()
        with self._write() as uow:
            return change_number(
                uow,
                directory,
                policies,
                old=old,
                new=new,
                account=account,
                channel=channel,
                now=self._clock(),
            )

    def import_deactivations(
        self,
        source: Any,
        *,
        account: str,
        list_name: str | None = None,
        channel: str = "sms",
        timezone: str | None = None,
        on_error: Callable[[RowProblem], None] | None = None,
    ) -> DeactivationReport:
        """Lapse the consents each listed number was given before its deactivation
        date (a carrier or reassigned-numbers list: CSV with a number and a date).

        ``source`` is a path, a file object or an iterable of dicts; it is streamed.
        A bare date is the start of that day in ``timezone`` (default UTC).
        ``on_error`` is called with each bad row (the report keeps the first ones).

        >>> cl.import_deactivations("disconnects.csv", account="acme").lapsed  # doctest: +SKIP
        12
        """
        if list_name is None:
            name = getattr(source, "name", source) if not isinstance(source, list) else None
            list_name = os.path.basename(str(name)) if isinstance(name, str | os.PathLike) else ""
        return import_deactivations(
            self.units,
            self.directory(),
            self._tenant_policies(),
            source,
            account=account,
            list_name=list_name or "deactivations",
            channel=channel,
            timezone=timezone,
            on_error=on_error,
            now=self._clock(),
        )

    def scope_questions(
        self, address: str, *, account: str, channel: str | None = None
    ) -> list[AskedQuestion]:
        """The scope questions asked of ``address`` in the tenant of ``account`` with
        opt-out confirmations, and their answers, oldest first (C17, C28)."""
        directory = self.directory()
        owner = directory.account(account)
        lines = {ln.id: ln.number for ln in directory.lines() if ln.tenant_id == owner.tenant_id}
        with self.units(write=False) as uow:
            return scope_questions.of_address(
                uow, owner, lines, address, channel, now=self._clock()
            )

    def events_after(
        self,
        after: int = 0,
        limit: int = 100,
        *,
        tenant_ids: Collection[int] | None = None,
        scopes: Collection[str] | None = None,
    ) -> list[Event]:
        """The change feed: events with ``id > after`` in id order, at most ``limit``;
        only of ``tenant_ids`` and with a scope in ``scopes`` when given."""
        with self.units(write=False) as uow:
            return history.feed(uow, after, limit, tenant_ids=tenant_ids, scopes=scopes)

    # -- bringing consent out (C21, C28) -------------------------------------------------
    def export_events(
        self,
        *,
        account: str,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = exports.PAGE,
    ) -> Iterator[dict[str, Any]]:
        """The events of ``account``'s subtree as export records, streamed (C21):
        a header, one record per event (stored fields, chain hashes, sequence
        numbers), an end record. ``since``/``until`` bound the recording time.
        Write them with :func:`consentline.domain.exports.dump_line` (JSONL) or
        :func:`~consentline.domain.exports.csv_rows`; check a file with
        :func:`~consentline.domain.exports.check_export`.

        >>> for record in cl.export_events(account="acme"):   # doctest: +SKIP
        ...     out.write(dump_line(record) + "\n")
        """
        directory = self.directory()
        now = self._clock()
        with self.units(write=False) as uow:
            yield from exports.export_events(
                uow, directory, account=account, since=since, until=until, now=now, page=page
            )

    def snapshot(
        self,
        *,
        lines: Sequence[str],
        purposes: Sequence[str] | None = None,
        topic: str | None = None,
        channel: str = "sms",
        at: datetime | None = None,
        page: int = exports.PAGE,
    ) -> Iterator[exports.SnapshotRow]:
        """Every address with a status on ``lines`` (``opted_in``, ``opted_out``,
        ``pending``, ``expired``), per purpose, with what ``check`` answers it at
        ``at`` (default now): the list a CRM syncs back. Streamed.

        >>> [r.status for r in cl.snapshot(lines=["+18005550100"])]  # doctest: +SKIP
        ['opted_in', 'opted_out']
        """
        directory = self.directory()
        policies = self._tenant_policies()
        now = self._clock()
        with self.units(write=False) as uow:
            yield from exports.snapshot(
                uow,
                directory,
                policies,
                lines=lines,
                purposes=purposes,
                topic=topic,
                channel=channel,
                at=at,
                now=now,
                page=page,
            )

    def subject_export(
        self, address: str, *, account: str, channel: str | None = None
    ) -> dict[str, Any]:
        """Everything held about ``address`` in ``account``'s subtree, as one JSON-ready
        document: events with proof and chain hashes, inbound messages with their
        classification, replies, review items, scope questions (C28).

        >>> doc = cl.subject_export("+14155550101", account="acme")  # doctest: +SKIP
        >>> sorted(doc)[:3]                                          # doctest: +SKIP
        ['account', 'address', 'channel']
        """
        directory = self.directory()
        with self.units(write=False) as uow:
            return exports.subject_export(
                uow, directory, account=account, address=address, channel=channel, now=self._clock()
            )

    def contact_refs(self, events: Sequence[Event]) -> dict[int, list[dict[str, str]]]:
        """Each event id -> its address's contact references (one query per page)."""
        if not events:
            return {}
        with self.units(write=False) as uow:
            return contact_refs.events_refs(uow, events)

    def find_contact_ref(self, ref: str, *, account: str) -> list[tuple[str, str]]:
        """The ``(channel, address)`` pairs a contact reference points at (``system:ref``,
        or a bare ref: any system) that have consent on record in the subtree of
        ``account`` (the tenant's root account: every pair in the tenant)."""
        directory = self.directory()
        home = directory.account(account)
        with self.units(write=False) as uow:
            return contact_refs.addresses_in_subtree(uow, directory, home.id, ref)

    def ping(self) -> None:
        """One round trip to the database; :class:`StorageError` if it does not answer."""
        ping(self.engine)

    def verify(self) -> VerifyReport:
        """Walk every hash chain and the projection; ``.ok`` and ``.problems``."""
        with self.units(write=False) as uow:
            return verify(uow, self._key_of())

    def _key_of(self) -> Callable[[int, str], str] | None:
        key = self._erasure_key
        if key is None:
            return None
        return lambda tenant_id, address: keyed_address(key, tenant_id, address)

    def rebuild_projection(self, account: str) -> int:
        """Recompute the current-state rows of a tenant from its ledger."""
        tenant_id = self.directory().account(account).tenant_id
        with self._write() as uow:
            return recording.rebuild_projection(uow, tenant_id, self._key_of())

    # -- erasure and retention (C22) -------------------------------------------------------
    def erase(
        self,
        address: str,
        *,
        account: str,
        reason: str = "subject_request",
        within: str | None = None,
    ) -> ErasureReport:
        """Erase a number's personal data from ``account``'s tenant, keeping its
        suppression (docs/privacy.md). Needs the installation's erasure key."""
        key = check_erasure_key(self._erasure_key)
        directory = self.directory()
        with self._write() as uow:
            report = privacy.erase(
                uow,
                directory,
                address=address,
                account=account,
                key=key,
                now=self._clock(),
                reason=reason,
                within=within,
            )
        scrub(self.engine)
        # This process's reads look up keyed hashes in the tenant from now on (others
        # see it at their next snapshot reload).
        self._reader.set_erased({*self._reader.erased(), directory.account(account).tenant_id})
        return report

    def set_retention(self, account: str, years: int | None) -> int:
        """Set the tenant's retention period in years (None: the default, 4)."""
        with self._write() as uow:
            privacy.set_retention(uow, self.directory(), account, years)
        with self.units(write=False) as uow:
            return privacy.retention_years(uow, self.directory(), account)

    def retention(
        self, *, account: str, dry_run: bool = True, limit: int | None = None
    ) -> RetentionReport:
        """What is past retention in ``account``'s tenant; purge it unless ``dry_run``
        (the evidence goes, an opt-out stays)."""
        report = privacy.retention(
            self._write,
            self.directory(),
            account,
            key=self._erasure_key,
            now=self._clock(),
            dry_run=dry_run,
            limit=limit,
        )
        if not dry_run and report.purged:
            scrub(self.engine)
            self._reload()
        return report

    # -- reports and list hygiene (C23, C24, C26) ------------------------------------------
    def report(
        self,
        kind: str,
        *,
        account: str,
        lines: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        bucket: str | None = None,
        by: Sequence[str] | str | None = None,
        timezone: str = "UTC",
        at: datetime | None = None,
        within: str | None = None,
    ) -> Report:
        """A report of ``kind`` (``opt_outs``, ``snapshot``, ``inbound``, ...) over
        ``account``'s subtree: rows of grouping keys and counts, no personal data
        (C23; docs/reports.md). ``within`` bounds it to an API key's subtree.

        >>> cl.report("opt_outs", account="acme", by="line", bucket="day",
        ...           timezone="America/New_York").rows[0]          # doctest: +SKIP
        {'day': '2027-03-01', 'line': '+18005550100', 'opt_outs': 7, ...}
        """
        directory = self.directory()
        now = self._clock()
        query = reports.build_query(
            directory,
            kind,
            account=account,
            lines=lines,
            since=since,
            until=until,
            bucket=bucket,
            by=by,
            timezone=timezone,
            at=at,
            within=within,
            now=now,
        )
        with self.units(write=False) as uow:
            return reports.run(uow, directory, query, now=now)

    def dashboard(
        self,
        *,
        account: str,
        within: str | None = None,
        days: int = 30,
        timezone: str = "UTC",
        sends: int = 10,
    ) -> Dashboard:
        """The operator dashboard of ``account``'s subtree: opt-outs per day and line
        over ``days`` local days, the ``sends`` newest campaign sends, the review
        queue, the outbox and webhook delivery health (services/dashboard.py).

        >>> cl.dashboard(account="acme").review                   # doctest: +SKIP
        {'review_open': 3, 'review_oldest_age_s': 5400}
        """
        directory = self.directory()
        with self.units(write=False) as uow:
            return dashboard.read(
                uow,
                directory,
                account=account,
                within=within,
                now=self._clock(),
                days=days,
                timezone=timezone,
                sends=sends,
            )

    def hygiene(
        self, *, account: str, older_than: timedelta | None = None, within: str | None = None
    ) -> HygieneReport:
        """What needs care on ``account``'s list (C24, C26): opt-ins with no proof or
        no time, by source; reconfirmation candidates (consent older than the TTL or
        ``older_than``, no engagement since); double opt-ins pending past their TTL."""
        directory = self.directory()
        with self.units(write=False) as uow:
            return hygiene.survey(
                uow,
                directory,
                self._tenant_policies(),
                account=account,
                older_than=older_than,
                within=within,
                now=self._clock(),
            )

    def reconfirm(
        self,
        *,
        account: str,
        older_than: timedelta | None = None,
        per_line: int = 100,
        dry_run: bool = False,
        within: str | None = None,
    ) -> ReconfirmReport:
        """Ask the reconfirmation candidates to confirm (C26): a ``pending`` with the
        double opt-in request through the outbox, at most ``per_line`` per line per
        run, never to an opted-out number, never twice for one consent."""
        ctx = self._context()
        now = self._clock()
        with self._write() as uow:
            return hygiene.reconfirm(
                uow,
                ctx,
                account=account,
                older_than=older_than,
                per_line=per_line,
                dry_run=dry_run,
                within=within,
                now=now,
            )

    def describe_scope(self, scope: str) -> str:
        return self.directory().describe_scope(scope)

    def now(self) -> datetime:
        return self._clock()

    def close(self) -> None:
        self._reader.close()
        self.engine.dispose()

    def __enter__(self) -> Consentline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- slow path for point-in-time checks ----------------------------------------------
    def _history_fold(
        self,
        tenant_id: int,
        channel: str,
        address: str,
        scopes: frozenset[str],
        purpose: str,
        topic: str,
        at_us: int,
        revoke_all_us: int | None = None,
    ) -> tuple[str, int, Row | None]:
        aliases: list[str] = []
        if self._reader.has_erasures(tenant_id):  # C22: an erased number's history
            aliases.append(keyed_address(check_erasure_key(self._erasure_key), tenant_id, address))
        with self.units(write=False) as uow:
            return history.fold_at(
                uow,
                tenant_id,
                channel,
                address,
                scopes,
                purpose,
                topic,
                at_us,
                revoke_all_us,
                aliases,
            )
