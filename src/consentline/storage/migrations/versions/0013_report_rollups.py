"""Report rollups (C23): counters kept with the ledger, backfilled from it.

Three tables of counters keyed by tenant, time slot (15 minutes and UTC days),
account, line, purpose, topic, source, classifier rule and language: never an
address. The backfill replays every tenant's chain through the same code the
writers use (``services.rollups.rebuild``) and counts the stored inbound
messages, so existing ledgers report from the first day.

Revision ID: 0013
Revises: 0012
Create Date: 2027-02-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_COUNTS = ("opt_in", "opt_out", "resume", "lapse", "pending", "exact_hit", "exact_miss")


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False)


def upgrade() -> None:
    keys = ("tenant_id", "grain", "slot_us")
    op.create_table(
        "report_counts",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("grain", sa.Integer, nullable=False),
        sa.Column("slot_us", sa.BigInteger, nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("line_id", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(63), nullable=False),
        sa.Column("purpose", sa.String(63), nullable=False),
        sa.Column("topic", sa.String(63), nullable=False),
        sa.Column("rule", sa.String(63), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        *(_counter(c) for c in _COUNTS),
        sa.PrimaryKeyConstraint(
            *keys,
            "account_id",
            "line_id",
            "source",
            "purpose",
            "topic",
            "rule",
            "language",
            name="pk_report_counts",
        ),
    )
    op.create_table(
        "report_states",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("grain", sa.Integer, nullable=False),
        sa.Column("slot_us", sa.BigInteger, nullable=False),
        sa.Column("line_id", sa.BigInteger, nullable=False),
        sa.Column("purpose", sa.String(63), nullable=False),
        *(_counter(c) for c in ("opted_in", "opted_out", "pending", "addresses")),
        sa.PrimaryKeyConstraint(*keys, "line_id", "purpose", name="pk_report_states"),
    )
    op.create_table(
        "report_inbound",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("grain", sa.Integer, nullable=False),
        sa.Column("slot_us", sa.BigInteger, nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("line_id", sa.BigInteger, nullable=False),
        sa.Column("intent", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(63), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        *(_counter(c) for c in ("messages", "exact_differs")),
        sa.PrimaryKeyConstraint(
            *keys, "account_id", "line_id", "intent", "rule", "language", name="pk_report_inbound"
        ),
    )
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    # Imported here: only a database with a ledger to backfill needs them.
    from consentline.services import rollups
    from consentline.storage.repository import SqlStore
    from consentline.storage.rollups import RollupStore

    store, counters = SqlStore(conn), RollupStore(conn)
    tenants = [int(r[0]) for r in conn.execute(sa.text("SELECT id FROM tenants ORDER BY id"))]
    if not tenants:
        return
    directory = store.load_directory()
    for tenant_id in tenants:
        rollups.rebuild(store, counters, tenant_id, directory=directory)
        messages = conn.execute(
            sa.text(
                "SELECT tenant_id, account_id, line_id, received_us, classification"
                " FROM inbound_messages WHERE tenant_id = :t"
            ),
            {"t": tenant_id},
        )
        rollups.rebuild_inbound(
            ((int(a), int(b), int(c), int(d), str(e)) for a, b, c, d, e in messages),
            counters,
            tenant_id,
        )


def downgrade() -> None:
    for table in ("report_inbound", "report_states", "report_counts"):
        op.drop_table(table)
