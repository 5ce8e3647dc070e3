"""Ledger core: accounts, tenants, purposes, lines, events, idempotency, state.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("tenant_id", sa.BigInteger, nullable=True),
        sa.Column("parent_id", sa.BigInteger, nullable=True),
        sa.Column("reach", sa.String(16), nullable=True),
        sa.Column("isolated", sa.Boolean, nullable=False),
        sa.Column("default_region", sa.String(2), nullable=True),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["accounts.id"], name="fk_accounts_parent_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("slug", name="uq_accounts_slug"),
    )
    op.create_index("ix_accounts_tenant_id", "accounts", ["tenant_id"])
    op.create_table(
        "tenants",
        sa.Column("id", sa.BigInteger, nullable=False),
        sa.Column("chain_seq", sa.BigInteger, nullable=False),
        sa.Column("chain_head", sa.String(64), nullable=False),
        sa.Column("consent_ttl_s", sa.BigInteger, nullable=True),
        sa.Column("pending_ttl_s", sa.BigInteger, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["id"], ["accounts.id"], name="fk_tenants_id_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
    )
    op.create_table(
        "purposes",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("model", sa.String(16), nullable=False),
        sa.Column("quiet_hours", sa.String(11), nullable=True),
        sa.Column("consent_ttl_s", sa.BigInteger, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_purposes_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name="pk_purposes"),
    )
    op.create_table(
        "lines",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_lines_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lines"),
        sa.UniqueConstraint("number", name="uq_lines_number"),
    )
    op.create_index("ix_lines_account_id", "lines", ["account_id"])
    op.create_table(
        "events",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(24), nullable=False),
        sa.Column("purpose", sa.String(63), nullable=True),
        sa.Column("topic", sa.String(63), nullable=True),
        sa.Column("occurred_us", sa.BigInteger, nullable=False),
        sa.Column("recorded_us", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(63), nullable=False),
        sa.Column("proof", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_events_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("tenant_id", "seq", name="uq_events_tenant_id_seq"),
    )
    op.create_index(
        "ix_events_history", "events", ["tenant_id", "channel", "address", "occurred_us"]
    )
    op.create_table(
        "idempotency",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("event_id", sa.BigInteger, nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_idempotency_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name="fk_idempotency_event_id_events"),
        sa.PrimaryKeyConstraint("tenant_id", "key", name="pk_idempotency"),
    )
    op.create_table(
        "consent_state",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("shape", sa.Text, nullable=False),
        sa.Column("ids", sa.Text, nullable=False),
        sa.Column("times", sa.Text, nullable=False),
        sa.Column("max_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "channel", "address", name="pk_consent_state"),
    )


def downgrade() -> None:
    for table in ("consent_state", "idempotency", "events", "lines", "purposes", "tenants"):
        op.drop_table(table)
    op.drop_index("ix_accounts_tenant_id", table_name="accounts")
    op.drop_table("accounts")
