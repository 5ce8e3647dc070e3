"""The reach of campaign sends in compressed chunks, instead of a row per address.

``campaign_reach_chunks`` holds, per send, chunks of up to 50,000 reached addresses
(newline-joined, zlib-compressed: ``storage.reach_chunks``). The rows of the old
``campaign_reach`` (the last send per address and line) are moved into chunks of
their sends, ordered by the time each address was reached, so attribution keeps
working for the sends already made; then the old table is dropped. The downgrade
does the reverse (the newest send per address and line).

The codec is written out here rather than imported, so that this migration keeps
doing what it did if the module changes later.

Revision ID: 0015
Revises: 0014
Create Date: 2027-02-01
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CHUNK = 50_000
_LEVEL = 1


def _encode(addresses: Sequence[str]) -> bytes:
    return zlib.compress(("\n" + "\n".join(addresses) + "\n").encode(), _LEVEL)


def _decode(data: bytes) -> list[str]:
    text = zlib.decompress(data)
    return text[1:-1].decode().split("\n") if len(text) > 1 else []


def _old_table() -> sa.Table:
    return sa.Table(
        "campaign_reach",
        sa.MetaData(),
        sa.Column("tenant_id", sa.BigInteger, primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("address", sa.String(320), primary_key=True),
        sa.Column("line_id", sa.BigInteger, primary_key=True),
        sa.Column("send_id", sa.BigInteger, nullable=False),
        sa.Column("sent_us", sa.BigInteger, nullable=False),
    )


def _chunks(rows: Iterator[Any]) -> Iterator[tuple[tuple[int, int, str, int], int, list[Any]]]:
    """(send, tenant, channel, line), chunk number, rows: from rows ordered by those."""
    key: tuple[int, int, str, int] | None = None
    number = 0
    part: list[Any] = []
    for row in rows:
        this = (int(row.send_id), int(row.tenant_id), str(row.channel), int(row.line_id))
        if part and key is not None and (this != key or len(part) >= _CHUNK):
            yield key, number, part
            number = number + 1 if this == key else 0
            part = []
        key = this
        part.append(row)
    if part and key is not None:
        yield key, number, part


def upgrade() -> None:
    chunks = op.create_table(
        "campaign_reach_chunks",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("send_id", sa.BigInteger, nullable=False),
        sa.Column("chunk", sa.Integer, nullable=False),
        sa.Column("tenant_id", sa.BigInteger, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("line_id", sa.BigInteger, nullable=False),
        sa.Column("first_us", sa.BigInteger, nullable=False),
        sa.Column("last_us", sa.BigInteger, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_reach_chunks"),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["campaign_sends.id"],
            name="fk_campaign_reach_chunks_send_id_campaign_sends",
        ),
        sa.UniqueConstraint("send_id", "chunk", name="uq_campaign_reach_chunks_send_id_chunk"),
    )
    op.create_index(
        "ix_campaign_reach_chunks_tenant_last", "campaign_reach_chunks", ["tenant_id", "last_us"]
    )
    old = _old_table()
    conn = op.get_bind()
    c = old.c
    rows = conn.execute(
        sa.select(old).order_by(c.send_id, c.tenant_id, c.channel, c.line_id, c.sent_us)
    )
    for (send_id, tenant_id, channel, line_id), number, part in _chunks(iter(rows)):
        conn.execute(
            chunks.insert().values(
                send_id=send_id,
                chunk=number,
                tenant_id=tenant_id,
                channel=channel,
                line_id=line_id,
                first_us=int(part[0].sent_us),
                last_us=int(part[-1].sent_us),
                size=len(part),
                data=_encode([str(r.address) for r in part]),
            )
        )
    op.drop_table("campaign_reach")


def downgrade() -> None:
    old = op.create_table(
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
    conn = op.get_bind()
    newest: dict[tuple[int, str, str, int], tuple[int, int]] = {}
    query = sa.text(
        "SELECT tenant_id, channel, line_id, send_id, last_us, data FROM campaign_reach_chunks"
    )
    for tenant_id, channel, line_id, send_id, last_us, data in conn.execute(query):
        for address in _decode(data):
            key = (int(tenant_id), str(channel), address, int(line_id))
            newest[key] = max(newest.get(key, (0, 0)), (int(last_us), int(send_id)))
    values = [
        {
            "tenant_id": key[0],
            "channel": key[1],
            "address": key[2],
            "line_id": key[3],
            "send_id": send_id,
            "sent_us": sent_us,
        }
        for key, (sent_us, send_id) in newest.items()
    ]
    for start in range(0, len(values), 5000):
        conn.execute(old.insert(), values[start : start + 5000])
    op.drop_index("ix_campaign_reach_chunks_tenant_last", "campaign_reach_chunks")
    op.drop_table("campaign_reach_chunks")
