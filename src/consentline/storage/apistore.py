"""SQL for the HTTP API: keys, and the change feed read by CRM sync."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, func, insert, select, update

from consentline.domain.ledger import Event
from consentline.services.ports import ApiKeyRecord, CredentialsRecord
from consentline.storage import schema as t
from consentline.storage.repository import select_events, stored_event


class ApiStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- keys --------------------------------------------------------------------------
    def insert_key(
        self, *, prefix: str, hash_: str, account_id: int | None, role: str, now_us: int
    ) -> int:
        result = self.conn.execute(
            insert(t.api_keys).values(
                prefix=prefix, hash=hash_, account_id=account_id, role=role, created_us=now_us
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def keys_with_prefix(self, prefix: str) -> list[ApiKeyRecord]:
        k = t.api_keys.c
        query = select(t.api_keys).where(k.prefix == prefix)
        return [ApiKeyRecord(*r) for r in self.conn.execute(query)]

    def keys_of_accounts(self, account_ids: Collection[int]) -> list[ApiKeyRecord]:
        """The keys of ``account_ids`` (revoked ones too), oldest first."""
        k = t.api_keys.c
        query = select(t.api_keys).where(k.account_id.in_(list(account_ids))).order_by(k.id)
        return [ApiKeyRecord(*r) for r in self.conn.execute(query)]

    def key(self, key_id: int) -> ApiKeyRecord | None:
        row = self.conn.execute(select(t.api_keys).where(t.api_keys.c.id == key_id)).first()
        return None if row is None else ApiKeyRecord(*row)

    def key_by_hash(self, hash_: str) -> ApiKeyRecord | None:
        row = self.conn.execute(select(t.api_keys).where(t.api_keys.c.hash == hash_)).first()
        return None if row is None else ApiKeyRecord(*row)

    def count_installation_admins(self) -> int:
        k = t.api_keys.c
        query = (
            select(func.count())
            .select_from(t.api_keys)
            .where(k.account_id.is_(None), k.role == "admin", k.revoked_us.is_(None))
        )
        return int(self.conn.execute(query).scalar_one())

    def revoke_key(self, key_id: int, now_us: int) -> None:
        self.conn.execute(
            update(t.api_keys)
            .where(t.api_keys.c.id == key_id, t.api_keys.c.revoked_us.is_(None))
            .values(revoked_us=now_us)
        )

    # -- change feed -------------------------------------------------------------------
    def events_after(
        self,
        after: int,
        limit: int,
        *,
        tenant_ids: Collection[int] | None,
        scopes: Collection[str] | None,
    ) -> list[Event]:
        """Events with ``id > after`` in id order; None for a filter means "all"."""
        ev = t.events.c
        query = select_events().where(ev.id > after)
        if tenant_ids is not None:
            query = query.where(ev.tenant_id.in_(list(tenant_ids)))
        if scopes is not None:
            query = query.where(ev.scope.in_(list(scopes)))
        query = query.order_by(ev.id).limit(limit)
        return [stored_event(r).event() for r in self.conn.execute(query)]

    # -- provider credentials ----------------------------------------------------------
    def credentials(
        self, account_ids: Collection[int], provider: str
    ) -> dict[int, CredentialsRecord]:
        """The stored credentials of ``provider`` for each of ``account_ids`` that has some."""
        pc = t.provider_credentials.c
        query = select(t.provider_credentials).where(
            pc.provider == provider, pc.account_id.in_(list(account_ids))
        )
        return {int(r.account_id): CredentialsRecord(*r) for r in self.conn.execute(query)}

    def credentials_by_external_id(
        self, provider: str, external_id: str
    ) -> CredentialsRecord | None:
        pc = t.provider_credentials.c
        query = select(t.provider_credentials).where(
            pc.provider == provider, pc.external_id == external_id
        )
        row = self.conn.execute(query).first()
        return None if row is None else CredentialsRecord(*row)

    def put_credentials(
        self,
        *,
        account_id: int,
        provider: str,
        fields: str,
        external_id: str | None,
        now_us: int,
    ) -> None:
        """Insert or replace the credentials of ``provider`` for ``account_id``."""
        pc = t.provider_credentials.c
        values = {"fields": fields, "external_id": external_id, "updated_us": now_us}
        result = self.conn.execute(
            update(t.provider_credentials)
            .where(pc.account_id == account_id, pc.provider == provider)
            .values(**values)
        )
        if result.rowcount == 0:
            self.conn.execute(
                insert(t.provider_credentials).values(
                    account_id=account_id, provider=provider, **values
                )
            )
