"""SQL for single-use webhook nonces (``webhook_nonces``), atomic on both databases.

:func:`claim` answers whether a nonce may be used by a request, and records it, in the
caller's write transaction. Two concurrent claims of one nonce cannot both win: the
insert is ``ON CONFLICT DO NOTHING`` on the primary key (PostgreSQL makes the second
insert wait for the first transaction, then do nothing), taking over an expired row is
a conditional ``UPDATE`` (re-checked on the row's newest version), and SQLite's
``BEGIN IMMEDIATE`` serialises writers anyway.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from consentline.storage import schema as t

_n = t.webhook_nonces.c


def claim(
    conn: Connection, *, provider: str, nonce: str, digest: str, now_us: int, since_us: int
) -> bool:
    """True when ``nonce`` is new, or was last used before ``since_us``, or was used by
    this same request (``digest``) — recording it as used by ``digest`` now; False when
    another request used it since ``since_us``."""
    values = {"provider": provider, "nonce": nonce, "request_sha256": digest, "seen_us": now_us}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = (_n.provider == provider, _n.nonce == nonce)
    for _ in range(2):  # twice: a concurrent prune may delete the row between statements
        inserted = conn.execute(
            dialect.insert(t.webhook_nonces).values(**values).on_conflict_do_nothing()
        )
        if inserted.rowcount == 1:
            return True
        taken_over = conn.execute(
            update(t.webhook_nonces)
            .where(*key, _n.seen_us < since_us)
            .values(request_sha256=digest, seen_us=now_us)
        )
        if taken_over.rowcount == 1:
            return True
        used_by = conn.execute(select(_n.request_sha256).where(*key)).scalar_one_or_none()
        if used_by is not None:
            return bool(used_by == digest)
    return False


def prune(conn: Connection, *, before_us: int) -> int:
    """Delete the nonces last used before ``before_us``; how many were deleted."""
    result = conn.execute(delete(t.webhook_nonces).where(_n.seen_us < before_us))
    return int(result.rowcount)


class NonceStore:
    """:func:`claim` and :func:`prune` on a unit of work's connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(self, *, provider: str, nonce: str, digest: str, now_us: int, since_us: int) -> bool:
        return claim(
            self.conn,
            provider=provider,
            nonce=nonce,
            digest=digest,
            now_us=now_us,
            since_us=since_us,
        )

    def prune(self, *, before_us: int) -> int:
        return prune(self.conn, before_us=before_us)
