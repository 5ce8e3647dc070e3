"""The whole database schema, in one place (SQLAlchemy Core).

Times are stored as UTC microseconds since the epoch (``*_us`` columns): exact,
identical on SQLite and PostgreSQL, and what the hash chain covers.

``events`` is the append-only ledger (C21); ``consent_state`` is the projection
updated in the same transaction, keyed so that a check is one primary-key
lookup; ``tenants`` holds each tenant's chain head, and its row lock serialises
writers of one tenant on PostgreSQL. The migrations in ``migrations/`` must
build exactly this (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# SQLite makes only "INTEGER PRIMARY KEY" an alias of the rowid (auto-increment).
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("tenant_id", BigInteger, nullable=True, index=True),  # = id for a root
    Column("parent_id", BigInteger, ForeignKey("accounts.id"), nullable=True),
    Column("reach", String(16), nullable=True),
    Column("isolated", Boolean, nullable=False, default=False),
    Column("default_region", String(2), nullable=True),
    Column("settings", Text, nullable=False, default="{}"),
    Column("created_us", BigInteger, nullable=False),
)

tenants = Table(
    "tenants",
    metadata,
    Column("id", BigInteger, ForeignKey("accounts.id"), primary_key=True),
    Column("chain_seq", BigInteger, nullable=False, default=0),
    Column("chain_head", String(64), nullable=False),
    Column("consent_ttl_s", BigInteger, nullable=True),
    Column("pending_ttl_s", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    # C16: ISO date from which a scoped revocation covers everything; NULL = off.
    Column("revoke_all_from", String(10), nullable=True),
    # migration 0010 (C22): how many erasures the tenant has had (reads pay for the
    # erased addresses' keyed hash only when this is > 0), the head of its chain of
    # erasure records, and its retention period (None: the default).
    Column("erasures", BigInteger, nullable=False, server_default="0"),
    Column("erasure_head", String(64), nullable=True),
    Column("retention_years", Integer, nullable=True),
)

purposes = Table(
    "purposes",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), primary_key=True),
    Column("name", String(63), primary_key=True),
    Column("model", String(16), nullable=False),
    Column("quiet_hours", String(11), nullable=True),  # "21:00-08:00"
    Column("consent_ttl_s", BigInteger, nullable=True),
)

lines = Table(
    "lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("tenant_id", BigInteger, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("address", String(320), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("scope", String(24), nullable=False),
    Column("purpose", String(63), nullable=True),
    Column("topic", String(63), nullable=True),
    Column("occurred_us", BigInteger, nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("source", String(63), nullable=False),
    Column("proof", Text, nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # migration 0010 (C21, C22): personal fields are chained through salted digests
    Column("salt", String(32), nullable=False, server_default=""),
    Column("erased", Text, nullable=True),
    Column("v1_hash", String(64), nullable=True),
    UniqueConstraint("tenant_id", "seq"),
    Index("ix_events_history", "tenant_id", "channel", "address", "occurred_us"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.id"), nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

consent_state = Table(
    "consent_state",
    metadata,
    Column("tenant_id", BigInteger, primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("address", String(320), primary_key=True),
    Column("shape", Text, nullable=False),
    Column("ids", Text, nullable=False),
    Column("times", Text, nullable=False),
    Column("max_us", BigInteger, nullable=False),
)

# -- inbound replies (migration 0002) --------------------------------------------------
inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("line_id", BigInteger, nullable=False),
    Column("provider", String(32), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("address", String(320), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("body", Text, nullable=False),  # raw, unaltered: the evidence
    Column("received_us", BigInteger, nullable=False),
    Column("classification", Text, nullable=False),  # JSON
    Column("provider_hint", String(32), nullable=True),
    Column("event_ids", String(64), nullable=False, default=""),  # "12" or "12;13"
    UniqueConstraint("tenant_id", "provider", "message_id"),
    Index("ix_inbound_messages_subject", "tenant_id", "address"),  # C28 (migration 0009)
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("kind", String(32), nullable=False),  # opt_out_confirmation, help, welcome, ...
    Column("channel", String(16), nullable=False),
    Column("to_address", String(320), nullable=False),
    Column("from_line", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("not_after_us", BigInteger, nullable=True),  # C17: never sent after this
    Column("status", String(16), nullable=False),  # pending, inline, sent, dropped, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_us", BigInteger, nullable=False),
    Column("inbound_id", BigInteger, nullable=True),
    Column("event_id", BigInteger, nullable=True),
    Column("detail", String(255), nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_us"),
    Index("ix_outbox_inbound_id", "inbound_id"),
    Index("ix_outbox_subject", "tenant_id", "to_address"),  # C28 (migration 0009)
)

review_items = Table(
    "review_items",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("inbound_id", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # open, decided
    Column("decision", String(16), nullable=True),  # opt_out, none
    Column("reviewer", String(255), nullable=True),
    Column("note", Text, nullable=True),
    Column("created_us", BigInteger, nullable=False),
    Column("decided_us", BigInteger, nullable=True),
    Column("event_id", BigInteger, nullable=True),
    Index("ix_review_items_open", "tenant_id", "status"),
    Index("ix_review_items_inbound_id", "inbound_id"),
)

# -- HTTP API keys (migration 0003) ----------------------------------------------------
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("prefix", String(16), nullable=False, index=True),  # the key's first characters
    Column("hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the whole key
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=True),  # None: install
    Column("role", String(8), nullable=False),  # read, write, admin
    Column("created_us", BigInteger, nullable=False),
    Column("revoked_us", BigInteger, nullable=True),
)

# -- provider credentials (migration 0004) ---------------------------------------------
provider_credentials = Table(
    "provider_credentials",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("provider", String(32), nullable=False),  # a name in providers.REGISTRY
    Column("fields", Text, nullable=False),  # JSON object name -> value (secrets: never output)
    Column("external_id", String(128), nullable=True),  # Twilio AccountSid (gateway lookup)
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("account_id", "provider"),
    UniqueConstraint("provider", "external_id"),
)

# -- outbound webhook subscriptions (migration 0005) -----------------------------------
# Delivery reads the ledger itself: each subscription keeps a cursor on its tenant's
# chain sequence (``seq`` is assigned under the tenant lock, so it grows in commit
# order), and the events after it are what is still to be delivered. The ledger is
# therefore the durable outbox: nothing is copied on the write path.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    Column("events", String(255), nullable=False),  # "*" or "opt_in,opt_out,..."
    Column("secret", String(128), nullable=False),  # signs deliveries; never returned again
    Column("created_us", BigInteger, nullable=False),
    Column("deleted_us", BigInteger, nullable=True),
    Column("cursor_seq", BigInteger, nullable=False),  # last chain seq delivered or skipped
    Column("delivered", BigInteger, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),  # consecutive failures
    Column("next_attempt_us", BigInteger, nullable=False),
    Column("lease_until_us", BigInteger, nullable=True),  # a worker is delivering
    Column("last_error", String(255), nullable=True),
    Column("last_success_us", BigInteger, nullable=True),
    # migration 0012: how deliveries are written ("json", the signed event; "slack", a
    # chat incoming-webhook body {"text": ...}; "email", mail to the mailto: URL through
    # the configured SMTP server) and the last alert (``alerts.id``) delivered.
    Column("format", String(8), nullable=False, server_default="json"),
    Column("alert_cursor", BigInteger, nullable=False, server_default="0"),
)

# -- single-use webhook nonces (migration 0006) ----------------------------------------
# A Plivo V2 signature covers the URL and a nonce but not the body, so an account that
# opts in to V2 accepts each nonce for one request only (the SHA-256 of method, URL and
# body): the same nonce with any other request is a replay with a forged body. Rows
# older than the window are pruned.
webhook_nonces = Table(
    "webhook_nonces",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("request_sha256", String(64), nullable=False),
    Column("seen_us", BigInteger, nullable=False, index=True),
)

# -- scope questions of opt-out confirmations (migration 0007) ---------------------------
# C17, FCC 47 CFR 64.1200(a)(12): a confirmation may ask which categories a revocation
# covers. One row per question asked: what it offered (JSON: code, label, purpose or
# topic, and the scope an answer's opt-in lands at), the message as sent and its hash,
# the revocation it follows, and how it was settled (answered, declined, superseded).
# "Open" rows are looked up by the handset's address when a reply arrives.
scope_questions = Table(
    "scope_questions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("account_id", BigInteger, nullable=False),  # the line's account
    Column("line_id", BigInteger, nullable=False),  # answers count only to this line
    Column("channel", String(16), nullable=False),
    Column("address", String(320), nullable=False),
    Column("revocation_event_id", BigInteger, nullable=False),
    Column("revocation_hash", String(64), nullable=False),
    Column("inbound_id", BigInteger, nullable=False),  # the STOP
    Column("outbox_id", BigInteger, nullable=False),  # the confirmation that carries it
    Column("body", Text, nullable=False),  # the whole confirmation, as sent
    Column("body_sha256", String(64), nullable=False),
    Column("version", String(16), nullable=False),  # of the account's setting
    Column("offered", Text, nullable=False),  # JSON list
    Column("asked_us", BigInteger, nullable=False),
    Column("expires_us", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # open, answered, declined, superseded
    Column("answer_inbound_id", BigInteger, nullable=True),
    Column("settled_us", BigInteger, nullable=True),
    Column("event_ids", String(255), nullable=False, default=""),  # the answer's opt-ins
    Index("ix_scope_questions_open", "tenant_id", "address", "status"),
)

# -- contact references (migration 0008) -----------------------------------------------
# The ids an external system (a CRM) gives the record of the person at an address:
# several per address and per system. Looked up by address (the change feed, webhooks,
# exports: one query per page) and by reference (an unsubscribe reported by record id).
contact_refs = Table(
    "contact_refs",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("address", String(320), primary_key=True),
    Column("system", String(63), primary_key=True),
    Column("ref", String(255), primary_key=True),
    Column("created_us", BigInteger, nullable=False),
    Index("ix_contact_refs_ref", "tenant_id", "system", "ref"),
)

# -- chain commitments, erasure and re-anchoring (migration 0010) -------------------------
# C21/C22: one row per tenant chain that migration 0010 re-sealed under the v2 payload:
# the v1 chain it verified and the v2 chain that replaced it, so that ``verify`` can
# check the re-anchoring itself (docs/privacy.md).
chain_anchors = Table(
    "chain_anchors",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("v1_head", String(64), nullable=False),
    Column("v2_head", String(64), nullable=False),
    Column("anchored_us", BigInteger, nullable=False),
)

# C22: one row per erasure, chained per tenant (prev_hash/hash; the head is
# tenants.erasure_head) and anchored to the ledger's head at the time. It carries no
# personal data: the keyed hash that replaced the address, a reason code, which
# events it erased and how many rows of each kind it cleared.
erasures = Table(
    "erasures",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("n", BigInteger, nullable=False),  # 1, 2, ... per tenant
    Column("address_key", String(80), nullable=False),
    Column("reason", String(63), nullable=False),
    Column("erased_us", BigInteger, nullable=False),
    Column("event_seqs", Text, nullable=False),  # "3;7;9"
    Column("counts", Text, nullable=False),  # JSON: rows cleared per table
    Column("chain_seq", BigInteger, nullable=False),  # the ledger's head when erased
    Column("chain_head", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("tenant_id", "n"),
    Index("ix_erasures_address_key", "tenant_id", "address_key"),
)

# -- campaign sends, attribution, gateway tallies and alerts (migration 0012) ------------
# A campaign send: what was asked (campaign, line, purpose, topic, channel, time), what
# the gate answered (recipients, allowed, and per reason in campaign_send_reasons) and
# the opt-outs later attributed to it. ``kind`` is "bulk" (check_many) or "gateway"
# (Twilio-compatible sends carrying X-Consent-Campaign, grouped per line, campaign and
# purpose while they keep coming). ``status``: open (being recorded), complete, partial
# (its consumer stopped early). ``spike_us``: when its opt-out spike was alerted (once).
campaign_sends = Table(
    "campaign_sends",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("line_id", BigInteger, nullable=False),
    Column("campaign", String(63), nullable=False),
    Column("purpose", String(63), nullable=False),
    Column("topic", String(63), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("sent_us", BigInteger, nullable=False),
    Column("last_us", BigInteger, nullable=False),  # the newest recipient recorded
    Column("recipients", BigInteger, nullable=False),
    Column("allowed", BigInteger, nullable=False),
    Column("opt_outs", BigInteger, nullable=False),
    Column("spike_us", BigInteger, nullable=True),
    Index("ix_campaign_sends_tenant_sent", "tenant_id", "sent_us"),
)

campaign_send_reasons = Table(
    "campaign_send_reasons",
    metadata,
    Column("send_id", BigInteger, ForeignKey("campaign_sends.id"), primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# How far the attribution job has read each tenant's chain (like a subscription's
# cursor: the ledger is the queue, nothing is copied on the write path).
campaign_cursors = Table(
    "campaign_cursors",
    metadata,
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), primary_key=True),
    Column("cursor_seq", BigInteger, nullable=False),
)

# The Twilio-compatible gateway's decisions, counted per line, 15-minute bucket (UTC
# start; every time zone's day boundary falls on one), verdict and reason.
gateway_tallies = Table(
    "gateway_tallies",
    metadata,
    Column("tenant_id", BigInteger, primary_key=True),
    Column("line_id", BigInteger, primary_key=True),
    Column("bucket_us", BigInteger, primary_key=True),
    Column("allowed", Boolean, primary_key=True),
    Column("reason", String(32), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# Alerts for subscribers (spikes, review-queue items, delivery failures): counts and
# identifiers of lines, accounts, campaigns only (C23). ``dedupe`` makes each alert
# happen once (e.g. "spike:<send id>").
alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", BigInteger, ForeignKey("tenants.id"), nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("dedupe", String(128), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("body", Text, nullable=False),  # JSON
    UniqueConstraint("tenant_id", "dedupe"),
    Index("ix_alerts_tenant", "tenant_id", "id"),
)

# What the alert producer has already looked at, per tenant and source (the newest
# review item id seen, ...).
alert_marks = Table(
    "alert_marks",
    metadata,
    Column("tenant_id", BigInteger, primary_key=True),
    Column("source", String(32), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
)


# -- report rollups (migration 0013) ------------------------------------------------------
# C23: counters for reports, kept in the transaction that writes the ledger; no key
# holds an address. ``grain`` 0 is a 15-minute UTC slot, 1 a UTC day (domain.rollups).
# Strings are "" for none, so that every key column can be in the primary key.
report_counts = Table(
    "report_counts",
    metadata,
    Column("tenant_id", BigInteger, primary_key=True),
    Column("grain", Integer, primary_key=True),
    Column("slot_us", BigInteger, primary_key=True),
    Column("account_id", BigInteger, primary_key=True),
    Column("line_id", BigInteger, primary_key=True),  # 0: no line (an account's event)
    Column("source", String(63), primary_key=True),
    Column("purpose", String(63), primary_key=True),
    Column("topic", String(63), primary_key=True),
    Column("rule", String(63), primary_key=True),  # the classifier's, for keyword events
    Column("language", String(8), primary_key=True),
    Column("opt_in", BigInteger, nullable=False, default=0),
    Column("opt_out", BigInteger, nullable=False, default=0),
    Column("resume", BigInteger, nullable=False, default=0),
    Column("lapse", BigInteger, nullable=False, default=0),
    Column("pending", BigInteger, nullable=False, default=0),
    Column("exact_hit", BigInteger, nullable=False, default=0),
    Column("exact_miss", BigInteger, nullable=False, default=0),
)

# Per line and purpose, the change in how many addresses are opted in / out / pending;
# line 0 carries the tenant's count of addresses (the state at a moment is the sum of
# the deltas before it).
report_states = Table(
    "report_states",
    metadata,
    Column("tenant_id", BigInteger, primary_key=True),
    Column("grain", Integer, primary_key=True),
    Column("slot_us", BigInteger, primary_key=True),
    Column("line_id", BigInteger, primary_key=True),
    Column("purpose", String(63), primary_key=True),
    Column("opted_in", BigInteger, nullable=False, default=0),
    Column("opted_out", BigInteger, nullable=False, default=0),
    Column("pending", BigInteger, nullable=False, default=0),
    Column("addresses", BigInteger, nullable=False, default=0),
)

report_inbound = Table(
    "report_inbound",
    metadata,
    Column("tenant_id", BigInteger, primary_key=True),
    Column("grain", Integer, primary_key=True),
    Column("slot_us", BigInteger, primary_key=True),
    Column("account_id", BigInteger, primary_key=True),
    Column("line_id", BigInteger, primary_key=True),
    Column("intent", String(16), primary_key=True),
    Column("rule", String(63), primary_key=True),
    Column("language", String(8), primary_key=True),
    Column("messages", BigInteger, nullable=False, default=0),
    Column("exact_differs", BigInteger, nullable=False, default=0),
)


# -- operators of the web UI and rate limits (migration 0014) -----------------------------
# People who sign in to /ui/: each belongs to one account and reaches its subtree, as an
# API key does. Only a memory-hard hash of the password is stored (argon2id).
operators = Table(
    "operators",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False, unique=True),  # the sign-in username
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("role", String(8), nullable=False),  # read, write, admin
    Column("password_hash", String(255), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("disabled_us", BigInteger, nullable=True),
)

# Fixed-window counters shared by every process on the database (sign-in attempts per
# username and per IP, hosted-form submissions per IP and per number). ``key`` is a
# SHA-256 of what is counted, so no number or address is stored here.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("bucket", String(32), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("window_us", BigInteger, nullable=False),
    Column("hits", Integer, nullable=False),
)


# -- the reach of campaign sends, in chunks (migration 0015) -------------------------------
# Which addresses each send reached (was allowed to): per send, chunks of up to 50,000
# addresses (newline-separated, zlib-compressed; storage.reach_chunks), one row each, so
# that recording a million-recipient send is a few dozen inserts. ``chunk`` numbers a
# send's chunks from 0 (a bulk send writes chunk n once, so a retried write replaces it;
# a gateway send appends to its newest chunk until it is full). ``first_us``/``last_us``:
# when the chunk's addresses were reached (a bulk send's time for both). An opt-out is
# attributed by reading the chunks whose window it falls in (the index), newest first.
# Erasure rewrites the chunks holding an address (C22); the attribution job drops chunks
# long past their window.
campaign_reach_chunks = Table(
    "campaign_reach_chunks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("send_id", BigInteger, ForeignKey("campaign_sends.id"), nullable=False),
    Column("chunk", Integer, nullable=False),
    Column("tenant_id", BigInteger, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("line_id", BigInteger, nullable=False),
    Column("first_us", BigInteger, nullable=False),
    Column("last_us", BigInteger, nullable=False),
    Column("size", Integer, nullable=False),  # addresses in ``data``
    Column("data", LargeBinary, nullable=False),
    UniqueConstraint("send_id", "chunk"),
    Index("ix_campaign_reach_chunks_tenant_last", "tenant_id", "last_us"),
)
