"""Contact references: a CRM's record ids for an address.

Revision ID: 0008
Revises: 0007
Create Date: 2027-01-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_refs",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("system", sa.String(63), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "channel", "address", "system", "ref", name="pk_contact_refs"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_contact_refs_tenant_id_tenants"
        ),
    )
    op.create_index("ix_contact_refs_ref", "contact_refs", ["tenant_id", "system", "ref"])


def downgrade() -> None:
    op.drop_index("ix_contact_refs_ref", "contact_refs")
    op.drop_table("contact_refs")
