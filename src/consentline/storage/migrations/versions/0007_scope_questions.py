"""Scope questions of opt-out confirmations (C17, FCC 47 CFR 64.1200(a)(12)).

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scope_questions",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("line_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("revocation_event_id", sa.BigInteger, nullable=False),
        sa.Column("revocation_hash", sa.String(64), nullable=False),
        sa.Column("inbound_id", sa.BigInteger, nullable=False),
        sa.Column("outbox_id", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("offered", sa.Text, nullable=False),
        sa.Column("asked_us", sa.BigInteger, nullable=False),
        sa.Column("expires_us", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("answer_inbound_id", sa.BigInteger, nullable=True),
        sa.Column("settled_us", sa.BigInteger, nullable=True),
        sa.Column("event_ids", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scope_questions"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_scope_questions_tenant_id_tenants"
        ),
    )
    op.create_index(
        "ix_scope_questions_open", "scope_questions", ["tenant_id", "address", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_scope_questions_open", "scope_questions")
    op.drop_table("scope_questions")
