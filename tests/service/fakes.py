"""An in-memory unit of work for service tests (the ports in services/ports.py).

The ledger repository is complete enough for accounts and recording; the other
repositories are left out, and a service that reaches one fails loudly, so a
test on the fake cannot pass by silently doing nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Any, Self, cast

from consentline.domain.ledger import Event, Projection, StoredEvent
from consentline.domain.policy import PurposeRule, TenantPolicy
from consentline.domain.scopes import Account, Directory, Line, check_reach
from consentline.services import ports


class FakeLedger:
    """LedgerRepository in dictionaries; ``committed`` copies are what survive."""

    def __init__(self) -> None:
        self.accounts: dict[int, Account] = {}
        self.lines: dict[int, Line] = {}
        self.policies: dict[int, TenantPolicy] = {}
        self.heads: dict[int, tuple[int, str]] = {}
        self.events: dict[int, StoredEvent] = {}
        self.idempotency: dict[tuple[int, str], tuple[str, int]] = {}
        self.state: dict[tuple[int, str, str], Projection] = {}
        self.contact_refs: dict[tuple[int, str, str, str, str], int] = {}
        self.writes = 0

    def load_directory(self) -> Directory:
        return Directory(list(self.accounts.values()), list(self.lines.values()))

    def insert_account(
        self,
        *,
        slug: str,
        parent_id: int | None,
        tenant_id: int | None,
        reach: str | None,
        isolated: bool,
        default_region: str | None,
        now_us: int,
    ) -> int:
        self.writes += 1
        account_id = len(self.accounts) + 1
        self.accounts[account_id] = Account(
            account_id,
            slug,
            account_id if tenant_id is None else tenant_id,
            parent_id,
            check_reach(reach),
            isolated,
            default_region,
        )
        return account_id

    def update_account(self, account_id: int, values: Mapping[str, Any]) -> None:
        self.writes += 1
        self.accounts[account_id] = replace(self.accounts[account_id], **values)

    def insert_tenant(
        self, tenant_id: int, policy: TenantPolicy, genesis: str, now_us: int
    ) -> None:
        self.writes += 1
        self.policies[tenant_id] = policy
        self.heads[tenant_id] = (0, genesis)

    def save_purpose(self, tenant_id: int, rule: PurposeRule) -> None:
        self.writes += 1
        policy = self.policies[tenant_id]
        purposes = {**policy.purposes, rule.name: rule}
        self.policies[tenant_id] = replace(policy, purposes=purposes)

    def update_tenant(self, tenant_id: int, values: Mapping[str, Any]) -> None:
        raise NotImplementedError("not used by the service tests")

    def load_policies(self) -> dict[int, TenantPolicy]:
        return dict(self.policies)

    def insert_line(self, number: str, account_id: int, tenant_id: int, now_us: int) -> int:
        self.writes += 1
        line_id = len(self.lines) + 1
        self.lines[line_id] = Line(line_id, number, account_id, tenant_id)
        return line_id

    def lock_chain(self, tenant_id: int) -> tuple[int, str]:
        return self.heads[tenant_id]

    def set_chain_head(self, tenant_id: int, seq: int, head: str) -> None:
        self.writes += 1
        self.heads[tenant_id] = (seq, head)

    def insert_events(self, records: Sequence[StoredEvent]) -> list[int]:
        self.writes += 1
        ids = []
        for record in records:
            event_id = len(self.events) + 1
            self.events[event_id] = replace(record, id=event_id)
            ids.append(event_id)
        return ids

    def find_idempotent(self, tenant_id: int, keys: Iterable[str]) -> dict[str, tuple[str, int]]:
        return {
            k: self.idempotency[tenant_id, k] for k in keys if (tenant_id, k) in self.idempotency
        }

    def insert_idempotency(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writes += 1
            self.idempotency[row["tenant_id"], row["key"]] = (row["fingerprint"], row["event_id"])

    def load_state(
        self, keys: Iterable[tuple[int, str, str]]
    ) -> dict[tuple[int, str, str], Projection]:
        return {k: self.state[k] for k in keys if k in self.state}

    def save_state(self, rows: Mapping[tuple[int, str, str], Projection]) -> None:
        self.writes += 1
        self.state.update(rows)

    def delete_state(self, tenant_id: int | None = None) -> None:
        self.state = {k: v for k, v in self.state.items() if tenant_id not in (None, k[0])}

    def events_by_id(self, ids: Iterable[int]) -> dict[int, Event]:
        return {i: self.events[i].event() for i in ids}

    def history(self, tenant_id: int, address: str, channel: str | None = None) -> list[Event]:
        return [
            e.event()
            for e in self.events.values()
            if e.tenant_id == tenant_id and e.address == address and channel in (None, e.channel)
        ]

    def chain_rows(self, tenant_id: int, batch: int = 5000) -> Iterator[StoredEvent]:
        return iter(
            sorted(
                (e for e in self.events.values() if e.tenant_id == tenant_id), key=lambda e: e.seq
            )
        )

    def tenant_heads(self) -> list[tuple[int, int, str]]:
        return [(t, seq, head) for t, (seq, head) in sorted(self.heads.items())]

    def state_rows(self, tenant_id: int) -> Iterator[tuple[str, str, Projection]]:
        return iter([(k[1], k[2], p) for k, p in self.state.items() if k[0] == tenant_id])


class FakeContactRefs:
    """ContactRefRepository over the ledger's ``contact_refs`` (rolled back with it)."""

    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        for r in rows:
            key = (r["tenant_id"], r["channel"], r["address"], r["system"], r["ref"])
            self.ledger.contact_refs.setdefault(key, r["created_us"])

    def of_addresses(
        self, tenant_id: int, channel: str, addresses: Collection[str]
    ) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        for t, c, a, system, ref in sorted(self.ledger.contact_refs):
            if t == tenant_id and c == channel and a in addresses:
                found.setdefault(a, []).append((system, ref))
        return found

    def find(self, tenant_id: int, ref: str, system: str | None = None) -> list[tuple[str, str]]:
        return sorted(
            {
                (c, a)
                for t, c, a, s, r in self.ledger.contact_refs
                if t == tenant_id and r == ref and system in (None, s)
            }
        )

    def delete_address(self, tenant_id: int, channel: str, address: str) -> int:
        gone = [k for k in self.ledger.contact_refs if k[:3] == (tenant_id, channel, address)]
        for key in gone:
            del self.ledger.contact_refs[key]
        return len(gone)


class _Absent:
    """A repository the service under test must not touch."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"the service used uow.{self._name}.{attribute}")


class _NoErasures:
    """The privacy repository of a ledger that has had no erasure and no re-anchoring
    (what verify reads); anything else is a use the fake does not model."""

    def anchors(self, tenant_id: int) -> list[ports.AnchorRecord]:
        return []

    def erasures(self, tenant_id: int) -> list[ports.ErasureRecord]:
        return []

    def erasure_state(self, tenant_id: int) -> tuple[int, str | None]:
        return 0, None

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"the service used uow.privacy.{attribute}")


class FakeRollups:
    """Report counters as rows appended per table (what the writers hand over)."""

    def __init__(self, ledger: FakeLedger) -> None:
        self.ledger = ledger

    def add(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        added = getattr(self.ledger, "rollup_rows", None)
        if added is None:
            added = self.ledger.rollup_rows = {}  # type: ignore[attr-defined]
        added.setdefault(table, []).extend(dict(r) for r in rows)

    def clear(self, tenant_id: int, *, inbound: bool = False) -> None:
        added = getattr(self.ledger, "rollup_rows", {})
        for name in ("report_inbound",) if inbound else ("report_counts", "report_states"):
            added[name] = [r for r in added.get(name, []) if r["tenant_id"] != tenant_id]

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(f"the service used uow.rollups.{attribute}")


class FakeUnitOfWork:
    """One 'transaction' over a FakeLedger: changes are kept only on commit()."""

    def __init__(self, ledger: FakeLedger | None = None) -> None:
        self.ledger = ledger or FakeLedger()
        self.committed = 0
        self._snapshot: dict[str, Any] | None = None

    @property
    def store(self) -> ports.LedgerRepository:
        return self.ledger

    @property
    def inbox(self) -> ports.InboxRepository:
        return cast(ports.InboxRepository, _Absent("inbox"))

    @property
    def api(self) -> ports.ApiRepository:
        return cast(ports.ApiRepository, _Absent("api"))

    @property
    def hooks(self) -> ports.HookRepository:
        return cast(ports.HookRepository, _Absent("hooks"))

    @property
    def nonces(self) -> ports.NonceRepository:
        return cast(ports.NonceRepository, _Absent("nonces"))

    @property
    def questions(self) -> ports.ScopeQuestionRepository:
        return cast(ports.ScopeQuestionRepository, _Absent("questions"))

    @property
    def exports(self) -> ports.ExportRepository:
        return cast(ports.ExportRepository, _Absent("exports"))

    @property
    def refs(self) -> ports.ContactRefRepository:
        return FakeContactRefs(self.ledger)

    @property
    def privacy(self) -> ports.PrivacyRepository:
        return cast(ports.PrivacyRepository, _NoErasures())

    @property
    def campaigns(self) -> ports.CampaignRepository:
        return cast(ports.CampaignRepository, _Absent("campaigns"))

    @property
    def rollups(self) -> ports.RollupRepository:
        return cast(ports.RollupRepository, FakeRollups(self.ledger))

    @property
    def operators(self) -> ports.OperatorRepository:
        return cast(ports.OperatorRepository, _Absent("operators"))

    @property
    def pages(self) -> ports.PageRepository:
        return cast(ports.PageRepository, _Absent("pages"))

    def __enter__(self) -> Self:
        self._snapshot = {k: _copy(v) for k, v in vars(self.ledger).items()}
        return self

    def commit(self) -> None:
        self.committed += 1
        self._snapshot = {k: _copy(v) for k, v in vars(self.ledger).items()}

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._snapshot is not None:  # roll back whatever was not committed
            vars(self.ledger).update({k: _copy(v) for k, v in self._snapshot.items()})
        self._snapshot = None


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _conforms(uow: FakeUnitOfWork) -> ports.UnitOfWork:
    return uow  # mypy: the fake satisfies the port


def acme_ledger(now: datetime) -> FakeLedger:
    """A fake ledger holding the account ``acme`` (region US) and its line +18005550100."""
    # Imported here: the services are what the tests exercise, not what the fake needs.
    from consentline.services import accounts

    ledger = FakeLedger()
    with FakeUnitOfWork(ledger) as uow:
        accounts.create_account(
            uow,
            ledger.load_directory(),
            slug="acme",
            parent=None,
            reach=None,
            isolated=False,
            default_region="US",
            now=now,
        )
    with FakeUnitOfWork(ledger) as uow:
        accounts.add_line(
            uow, ledger.load_directory(), number="+18005550100", account="acme", now=now
        )
    return ledger
