"""SQL for the web UI's operators and the shared rate-limit counters."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, delete, insert, select, update

from consentline.services.ports import OperatorRecord
from consentline.storage import schema as t


class OperatorStore:
    """``services.ports.OperatorRepository`` on one connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(
        self, *, name: str, account_id: int, role: str, password_hash: str, now_us: int
    ) -> int:
        result = self.conn.execute(
            insert(t.operators).values(
                name=name,
                account_id=account_id,
                role=role,
                password_hash=password_hash,
                created_us=now_us,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def by_name(self, name: str) -> OperatorRecord | None:
        row = self.conn.execute(select(t.operators).where(t.operators.c.name == name)).first()
        return None if row is None else OperatorRecord(*row)

    def by_id(self, operator_id: int) -> OperatorRecord | None:
        query = select(t.operators).where(t.operators.c.id == operator_id)
        row = self.conn.execute(query).first()
        return None if row is None else OperatorRecord(*row)

    def of_accounts(self, account_ids: Collection[int] | None) -> list[OperatorRecord]:
        query = select(t.operators).order_by(t.operators.c.id)
        if account_ids is not None:
            query = query.where(t.operators.c.account_id.in_(list(account_ids)))
        return [OperatorRecord(*row) for row in self.conn.execute(query)]

    def set_password(self, operator_id: int, password_hash: str) -> None:
        self.conn.execute(
            update(t.operators)
            .where(t.operators.c.id == operator_id)
            .values(password_hash=password_hash)
        )

    def disable(self, operator_id: int, now_us: int) -> None:
        o = t.operators.c
        self.conn.execute(
            update(t.operators)
            .where(o.id == operator_id, o.disabled_us.is_(None))
            .values(disabled_us=now_us)
        )

    # -- rate limits -------------------------------------------------------------------
    def hit(self, bucket: str, key: str, window_us: int) -> int:
        """Count one hit in the window that starts at ``window_us``; the window's count.

        The row is locked (FOR UPDATE on PostgreSQL; SQLite's write transaction holds
        the database), so concurrent hits are all counted."""
        r = t.rate_limits.c
        query = select(r.window_us, r.hits).where(r.bucket == bucket, r.key == key)
        row = self.conn.execute(query.with_for_update()).first()
        if row is None:
            self.conn.execute(
                insert(t.rate_limits).values(bucket=bucket, key=key, window_us=window_us, hits=1)
            )
            return 1
        hits = int(row.hits) + 1 if int(row.window_us) == window_us else 1
        self.conn.execute(
            update(t.rate_limits)
            .where(r.bucket == bucket, r.key == key)
            .values(window_us=window_us, hits=hits)
        )
        return hits

    def hits(self, bucket: str, key: str, window_us: int) -> int:
        r = t.rate_limits.c
        query = select(r.window_us, r.hits).where(r.bucket == bucket, r.key == key)
        row = self.conn.execute(query).first()
        if row is None or int(row.window_us) != window_us:
            return 0
        return int(row.hits)

    def clear(self, bucket: str, key: str) -> None:
        r = t.rate_limits.c
        self.conn.execute(delete(t.rate_limits).where(r.bucket == bucket, r.key == key))
