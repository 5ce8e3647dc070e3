"""Provider credentials per account (inherited down the account tree).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "provider_credentials",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("external_id", sa.String(128), nullable=True),
        sa.Column("updated_us", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_provider_credentials_account_id_accounts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_provider_credentials"),
        sa.UniqueConstraint(
            "account_id", "provider", name="uq_provider_credentials_account_id_provider"
        ),
        sa.UniqueConstraint(
            "provider", "external_id", name="uq_provider_credentials_provider_external_id"
        ),
    )


def downgrade() -> None:
    op.drop_table("provider_credentials")
