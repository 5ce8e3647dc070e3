"""Chain commitments through salted digests, erasure records, re-anchoring (C21, C22).

The v1 chain hashed each event's address and proof in plain, so erasing them would
have broken ``verify``. This migration re-anchors every tenant's chain, openly:

1. it verifies the tenant's v1 chain as it stands (a broken chain stops the
   migration: it is never re-sealed over, the operator must look first);
2. keeps each event's v1 hash in ``events.v1_hash``;
3. gives each event a random salt and re-seals the chain under the v2 payload
   (which also covers the v1 hash, so the new chain commits to the old one);
4. records an anchor row (tenant, seq range, v1 head, v2 head, when) that
   ``verify`` checks with the rest.

Revision ID: 0010
Revises: 0007
Create Date: 2027-01-20
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

from consentline.domain.errors import StorageError
from consentline.domain.ledger import (
    GENESIS,
    StoredEvent,
    chain_hash,
    payload_v1,
)
from consentline.domain.privacy import new_salt

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_V1_COLUMNS = (
    "id",
    "tenant_id",
    "seq",
    "address",
    "channel",
    "action",
    "scope",
    "purpose",
    "topic",
    "occurred_us",
    "recorded_us",
    "source",
    "proof",
    "idempotency_key",
    "prev_hash",
    "hash",
)


class BrokenChain(StorageError):
    """A tenant's v1 chain does not verify: the migration stops (nothing committed)."""


def upgrade() -> None:
    op.add_column("events", sa.Column("salt", sa.String(32), nullable=False, server_default=""))
    op.add_column("events", sa.Column("erased", sa.Text, nullable=True))
    op.add_column("events", sa.Column("v1_hash", sa.String(64), nullable=True))
    op.add_column(
        "tenants", sa.Column("erasures", sa.BigInteger, nullable=False, server_default="0")
    )
    op.add_column("tenants", sa.Column("erasure_head", sa.String(64), nullable=True))
    op.add_column("tenants", sa.Column("retention_years", sa.Integer, nullable=True))
    op.create_table(
        "chain_anchors",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("v1_head", sa.String(64), nullable=False),
        sa.Column("v2_head", sa.String(64), nullable=False),
        sa.Column("anchored_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chain_anchors"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_chain_anchors_tenant_id_tenants"
        ),
    )
    op.create_table(
        "erasures",
        sa.Column("id", _id, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("address_key", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(63), nullable=False),
        sa.Column("erased_us", sa.BigInteger, nullable=False),
        sa.Column("event_seqs", sa.Text, nullable=False),
        sa.Column("counts", sa.Text, nullable=False),
        sa.Column("chain_seq", sa.BigInteger, nullable=False),
        sa.Column("chain_head", sa.String(64), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasures"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_erasures_tenant_id_tenants"
        ),
        sa.UniqueConstraint("tenant_id", "n", name="uq_erasures_tenant_id_n"),
    )
    op.create_index("ix_erasures_address_key", "erasures", ["tenant_id", "address_key"])
    reanchor(op.get_bind())


def reanchor(conn: sa.Connection) -> None:
    """Verify each tenant's v1 chain, then re-seal it under v2 and record the anchor."""
    meta = sa.MetaData()
    events = sa.Table("events", meta, autoload_with=conn)
    tenants = sa.Table("tenants", meta, autoload_with=conn)
    anchors = sa.Table("chain_anchors", meta, autoload_with=conn)
    now_us = time.time_ns() // 1000
    heads = conn.execute(sa.select(tenants.c.id, tenants.c.chain_seq, tenants.c.chain_head))
    for tenant_id, chain_seq, chain_head in list(heads):
        if not chain_seq:
            continue
        previous_v1, previous_v2, expected = GENESIS, GENESIS, 1
        after = 0
        updates: list[dict[str, object]] = []
        while True:
            rows = conn.execute(
                sa.select(*(events.c[name] for name in _V1_COLUMNS))
                .where(events.c.tenant_id == tenant_id, events.c.seq > after)
                .order_by(events.c.seq)
                .limit(5000)
            ).all()
            if not rows:
                break
            for row in rows:
                event = StoredEvent(
                    **dict(zip(_V1_COLUMNS, row, strict=True)),
                    salt=new_salt(),
                    erased=None,
                    v1_hash=row.hash,
                )
                if (
                    event.seq != expected
                    or event.prev_hash != previous_v1
                    or chain_hash(previous_v1, payload_v1(event)) != event.hash
                ):
                    raise BrokenChain(
                        f"tenant {tenant_id}: the v1 chain does not verify at seq {event.seq};"
                        " run `consentline verify` on the previous version and repair it first"
                    )
                sealed = StoredEvent(
                    **{
                        **{name: getattr(event, name) for name in _V1_COLUMNS},
                        "prev_hash": previous_v2,
                        "hash": "",
                        "salt": event.salt,
                        "erased": None,
                        "v1_hash": event.hash,
                    }
                )
                v2 = chain_hash(previous_v2, sealed.payload())
                updates.append(
                    {
                        "b_id": event.id,
                        "b_salt": event.salt,
                        "b_v1_hash": event.hash,
                        "b_prev_hash": previous_v2,
                        "b_hash": v2,
                    }
                )
                previous_v1, previous_v2, expected = event.hash, v2, expected + 1
            after = rows[-1].seq
        if expected - 1 != chain_seq or previous_v1 != chain_head:
            raise BrokenChain(f"tenant {tenant_id}: the v1 chain does not end at its head")
        statement = (
            events.update()
            .where(events.c.id == sa.bindparam("b_id"))
            .values(
                salt=sa.bindparam("b_salt"),
                v1_hash=sa.bindparam("b_v1_hash"),
                prev_hash=sa.bindparam("b_prev_hash"),
                hash=sa.bindparam("b_hash"),
            )
        )
        for start in range(0, len(updates), 5000):
            conn.execute(statement, updates[start : start + 5000])
        conn.execute(
            tenants.update().where(tenants.c.id == tenant_id).values(chain_head=previous_v2)
        )
        conn.execute(
            anchors.insert().values(
                tenant_id=tenant_id,
                first_seq=1,
                last_seq=chain_seq,
                v1_head=previous_v1,
                v2_head=previous_v2,
                anchored_us=now_us,
            )
        )


def downgrade() -> None:
    # The v1 hashes are kept, but a v1 chain cannot be restored over erased events.
    op.drop_index("ix_erasures_address_key", "erasures")
    op.drop_table("erasures")
    op.drop_table("chain_anchors")
    op.drop_column("tenants", "retention_years")
    op.drop_column("tenants", "erasure_head")
    op.drop_column("tenants", "erasures")
    op.drop_column("events", "v1_hash")
    op.drop_column("events", "erased")
    op.drop_column("events", "salt")
