"""Campaign sends, opt-out attribution, gateway tallies and alerts.

``campaign_sends`` (with ``campaign_send_reasons``) records each named send and its
counts; ``campaign_reach`` the last send that reached each address from each line
(what an opt-out is attributed to); ``campaign_cursors`` how far attribution has read
each tenant's chain; ``gateway_tallies`` the gateway's decisions per line, bucket and
reason; ``alerts`` and ``alert_marks`` the alerts queued for subscribers. Webhook
subscriptions gain a delivery ``format`` and an ``alert_cursor``.

Revision ID: 0012
Revises: 0011
Create Date: 2027-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("format", sa.String(8), nullable=False, server_default="json"))
        batch.add_column(
            sa.Column("alert_cursor", sa.BigInteger, nullable=False, server_default="0")
        )
    op.create_table(
        "campaign_sends",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("line_id", sa.BigInteger, nullable=False),
        sa.Column("campaign", sa.String(63), nullable=False),
        sa.Column("purpose", sa.String(63), nullable=False),
        sa.Column("topic", sa.String(63), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("sent_us", sa.BigInteger, nullable=False),
        sa.Column("last_us", sa.BigInteger, nullable=False),
        sa.Column("recipients", sa.BigInteger, nullable=False),
        sa.Column("allowed", sa.BigInteger, nullable=False),
        sa.Column("opt_outs", sa.BigInteger, nullable=False),
        sa.Column("spike_us", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_sends"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_campaign_sends_tenant_id_tenants"
        ),
    )
    op.create_index("ix_campaign_sends_tenant_sent", "campaign_sends", ["tenant_id", "sent_us"])
    op.create_table(
        "campaign_send_reasons",
        sa.Column("send_id", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("send_id", "reason", name="pk_campaign_send_reasons"),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["campaign_sends.id"],
            name="fk_campaign_send_reasons_send_id_campaign_sends",
        ),
    )
    op.create_table(
        "campaign_reach",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("line_id", sa.BigInteger, nullable=False),
        sa.Column("send_id", sa.BigInteger, nullable=False),
        sa.Column("sent_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "channel", "address", "line_id", name="pk_campaign_reach"
        ),
    )
    op.create_table(
        "campaign_cursors",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("cursor_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_campaign_cursors"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_campaign_cursors_tenant_id_tenants"
        ),
    )
    op.create_table(
        "gateway_tallies",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("line_id", sa.BigInteger, nullable=False),
        sa.Column("bucket_us", sa.BigInteger, nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "line_id", "bucket_us", "allowed", "reason", name="pk_gateway_tallies"
        ),
    )
    op.create_table(
        "alerts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("account_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dedupe", sa.String(128), nullable=False),
        sa.Column("created_us", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_alerts_tenant_id_tenants"),
        sa.UniqueConstraint("tenant_id", "dedupe", name="uq_alerts_tenant_id_dedupe"),
    )
    op.create_index("ix_alerts_tenant", "alerts", ["tenant_id", "id"])
    op.create_table(
        "alert_marks",
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "source", name="pk_alert_marks"),
    )


def downgrade() -> None:
    op.drop_table("alert_marks")
    op.drop_index("ix_alerts_tenant", "alerts")
    op.drop_table("alerts")
    op.drop_table("gateway_tallies")
    op.drop_table("campaign_cursors")
    op.drop_table("campaign_reach")
    op.drop_table("campaign_send_reasons")
    op.drop_index("ix_campaign_sends_tenant_sent", "campaign_sends")
    op.drop_table("campaign_sends")
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("alert_cursor")
        batch.drop_column("format")
