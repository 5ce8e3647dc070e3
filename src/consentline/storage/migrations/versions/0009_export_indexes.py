"""Indexes for data-subject access (C28): a number's inbound messages and replies.

A subject export reads everything held about one number; the ledger's history
index already serves its events, these two serve its messages and replies, so the
export stays a handful of index lookups in a ledger of any size.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"  # "0007" as filed; 0008 (contact refs) is merged in here
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inbound_messages_subject", "inbound_messages", ["tenant_id", "address"])
    op.create_index("ix_outbox_subject", "outbox", ["tenant_id", "to_address"])


def downgrade() -> None:
    op.drop_index("ix_outbox_subject", "outbox")
    op.drop_index("ix_inbound_messages_subject", "inbound_messages")
