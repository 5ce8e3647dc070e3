"""Single-use webhook nonces (Plivo V2 signatures, when an account opts in to them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_nonces",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("seen_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("provider", "nonce", name="pk_webhook_nonces"),
    )
    op.create_index("ix_webhook_nonces_seen_us", "webhook_nonces", ["seen_us"])


def downgrade() -> None:
    op.drop_index("ix_webhook_nonces_seen_us", "webhook_nonces")
    op.drop_table("webhook_nonces")
