"""The tenant's revoke-all date (C16, FCC 47 CFR 64.1200(a)(10)).

From ``revoke_all_from`` (an ISO date; NULL turns the rule off) a revocation that
names one purpose or topic covers every purpose and topic at its scope. Existing
tenants get the rule's postponed effective date, 2027-01-31, as new ones do.

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

DEFAULT = "2027-01-31"


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("revoke_all_from", sa.String(10), nullable=True))
    tenants = sa.table("tenants", sa.column("revoke_all_from", sa.String(10)))
    op.execute(tenants.update().values(revoke_all_from=DEFAULT))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("revoke_all_from")
