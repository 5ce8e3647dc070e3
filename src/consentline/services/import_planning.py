"""Planning an import's rows, in this process or in a second one.

Planning a row needs no database and no other row: the mapping
(:mod:`consentline.domain.import_mapping`), the checks of :func:`recording.prepare`
against the directory and policies read when the import began, and the text its
event's hash will cover (:func:`recording.preseal`: it leaves out the sequence number
and the links, so it is known before the chain lock). :class:`RowPlanner` is that one
code path. It runs in line (:class:`InlinePlanner`, the default) or, on request, in a
child process (:class:`ProcessPlanner`) on chunk *k + 1* while the importer seals and
writes chunk *k*. Both give the same outcomes in the same order. The child halves the
importing process's own CPU per row, but on a 1,000,000-row file the writes (index
maintenance in the database) set the pace: on the 2-core benchmark machine it changed
the rate by -11 % on SQLite and +6 % on PostgreSQL, for twice the memory, so it is not
the default (bench/README.md, "Import").

The child is a fresh interpreter running this module; it only ever sees rows and the
import's snapshot, opens no database and writes nothing. If it dies, the chunk it
held is planned in line and the import goes on in line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Final, Protocol

from consentline.domain.errors import (
    ConsentlineError,
    InvalidAddress,
    InvalidChannel,
    InvalidContactRef,
    InvalidProof,
    InvalidTime,
    UnknownAccount,
    UnknownLine,
    UnknownPurpose,
)
from consentline.domain.import_mapping import ImportMapping, PlannedRow, RowError, compile_plan
from consentline.domain.policy import TenantPolicy
from consentline.domain.scopes import Account, Directory
from consentline.services import recording
from consentline.services.recording import Prepared, RecordRequest

log = logging.getLogger("consentline.imports")

Todo = list[tuple[int, str, Any]]  # (row number, idempotency key, the row's values)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row left out: its number in the file (the header is row 1 of a CSV), the
    column at fault, a stable code and a message without the number."""

    row: int
    column: str | None
    code: str
    message: str

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled as its fields in order, as recording.Prepared is.
        return (type(self), tuple(getattr(self, name) for name in self.__slots__))

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Planned:
    """A row ready to write: ``dated`` when the file gave its time (only such a row
    can be later than an opt-out, C25) and whether it carries proof of consent."""

    number: int
    key: str
    dated: bool
    proof_of_consent: bool
    prepared: Prepared

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled as its fields in order, as recording.Prepared is.
        return (type(self), tuple(getattr(self, name) for name in self.__slots__))


Outcome = Planned | RowProblem


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What planning reads: the import's snapshot of the ledger's configuration."""

    directory: Directory
    policies: Mapping[int, TenantPolicy]
    mapping: ImportMapping
    account: str | None
    line: str | None
    within: str | None
    tenant_id: int
    now_us: int
    header: tuple[str, ...] = ()  # a CSV's columns (its rows arrive as value lists)
    # Who runs the import (a UI operator): added to every row's proof, never to the
    # batch id, so a re-run by someone else still finds the rows already imported.
    actor: Mapping[str, Any] | None = None


_COLUMN_OF: Final[tuple[tuple[type[ConsentlineError], str], ...]] = (
    (InvalidAddress, "address"),
    (UnknownLine, "line"),
    (UnknownAccount, "account"),
    (UnknownPurpose, "purpose"),
    (InvalidTime, "occurred_at"),
    (InvalidChannel, "channel"),
    (InvalidContactRef, "contact_ref"),
    (InvalidProof, "proof"),
)


def column_for(exc: ConsentlineError, mapping: ImportMapping) -> str | None:
    """The file's column an error is about (the mapped column of its field)."""
    name = next((f for cls, f in _COLUMN_OF if isinstance(exc, cls)), None)
    if name is None:
        given = exc.data.get("field")
        name = given if isinstance(given, str) else None
    if name is None:
        return None
    if name == "proof":
        return ",".join(c for _, c in mapping.proof_columns) or None
    return mapping.columns.get(name, name)


@dataclass(slots=True)
class RowPlanner:
    """Plans rows against one :class:`PlanContext` (the one way rows are planned)."""

    ctx: PlanContext
    _plan: Callable[[Mapping[str, Any], int], PlannedRow] = field(init=False)
    # (account, line) -> what recording.resolve_scope gave (``within`` is fixed)
    _scopes: dict[tuple[str | None, str | None], tuple[Account, str]] = field(
        default_factory=dict, init=False
    )

    def __post_init__(self) -> None:
        self._plan = compile_plan(self.ctx.mapping)  # the mapping's lookups, once

    def plan(self, todo: Todo) -> list[Outcome]:
        header = self.ctx.header
        out: list[Outcome] = []
        for number, key, row in todo:
            if isinstance(row, list):
                row = dict(zip(header, row, strict=True))
            out.append(self._one(number, key, row))
        return out

    def _one(self, number: int, key: str, row: Mapping[str, Any]) -> Outcome:
        ctx = self.ctx
        broken = row.get("\x00error")
        if broken is not None:
            return RowProblem(number, None, "invalid_row", str(broken))
        try:
            plan = self._plan(row, number)
        except RowError as exc:
            return RowProblem(number, exc.column, exc.code, exc.message)
        if plan.line is not None:
            scope: dict[str, str | None] = {"line": plan.line}
        elif plan.account is not None:
            scope = {"account": plan.account}
        elif ctx.line is not None:
            scope = {"line": ctx.line}
        else:
            scope = {"account": ctx.account}
        request = RecordRequest(
            address=plan.address,
            action=plan.action,
            purpose=plan.purpose,
            topic=plan.topic,
            channel=plan.channel,
            source=plan.source,
            proof={**plan.proof, **ctx.actor} if ctx.actor else plan.proof,
            occurred_at=plan.occurred_at,
            idempotency_key=key,
            within=ctx.within or ctx.account,
            contact_ref=plan.contact_refs or None,
            **scope,
        )
        try:
            # The scope is resolved once per (account, line) of the import: rows
            # without a scope column of their own all land at the same one.
            where = (request.account, request.line)
            resolved = self._scopes.get(where)
            if resolved is None:
                resolved = recording.resolve_scope(ctx.directory, request)
                self._scopes[where] = resolved
            prepared = recording.prepare(
                request, ctx.directory, ctx.policies, ctx.now_us, resolved=resolved
            )
        except ConsentlineError as exc:
            return RowProblem(number, column_for(exc, ctx.mapping), exc.code, str(exc))
        if prepared.tenant_id != ctx.tenant_id:
            return RowProblem(number, None, "unknown_account", "outside the import's tenant")
        prepared = recording.preseal(prepared, ctx.now_us)
        return Planned(number, key, plan.occurred_at is not None, plan.proof_of_consent, prepared)


class Planner(Protocol):
    """Plans chunks: :meth:`submit` a chunk's rows, :meth:`result` its outcomes
    (in submission order), :meth:`close` when the import ends."""

    def submit(self, todo: Todo) -> object: ...
    def result(self, handle: object) -> list[Outcome]: ...
    def close(self) -> None: ...


class InlinePlanner:
    """Plans in this process, at :meth:`submit`."""

    def __init__(self, ctx: PlanContext) -> None:
        self.rows = RowPlanner(ctx)

    def submit(self, todo: Todo) -> object:
        return self.rows.plan(todo)

    def result(self, handle: object) -> list[Outcome]:
        assert isinstance(handle, list)
        return handle

    def close(self) -> None:
        pass


_CHILD_MAIN: Final = (
    "import sys; from consentline.services.import_planning import _serve; "
    "_serve(sys.stdin.buffer, sys.stdout.buffer)"
)


class ProcessPlanner:
    """Plans in one child process while the caller writes; in line once it fails.

    The child is a fresh interpreter that runs :func:`_serve` and imports this
    package only: never the caller's main module (as multiprocessing's ``spawn``
    would) and never a ``fork`` of a process that may hold threads and connections.
    Chunks go to it and outcomes come back pickled over its standard input and
    output, in order; a thread of this process writes the chunks, so that neither
    side can block the other on a full pipe.
    """

    def __init__(self, ctx: PlanContext) -> None:
        self._ctx = ctx
        self._inline = InlinePlanner(ctx)
        self._sent: queue.Queue[Todo | None] = queue.Queue()
        self._failed = False
        self._child: subprocess.Popen[bytes] | None = None
        self._writer: threading.Thread | None = None

    def _start(self) -> None:
        """Start the child at the first chunk it is given (a re-run, all of whose
        rows are known, never starts one)."""
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._child = subprocess.Popen(
            [sys.executable, "-c", _CHILD_MAIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self._writer = threading.Thread(
            target=self._write, args=(self._ctx,), name="import-planner-feed", daemon=True
        )
        self._writer.start()

    def _write(self, ctx: PlanContext) -> None:
        child = self._child
        assert child is not None and child.stdin is not None
        try:
            pickle.dump(ctx, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            while (todo := self._sent.get()) is not None:
                pickle.dump(todo, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                child.stdin.flush()
        except (OSError, ValueError, pickle.PicklingError):
            pass  # the child is gone: result() notices and plans in line
        finally:
            with contextlib.suppress(OSError, ValueError):
                child.stdin.close()

    def submit(self, todo: Todo) -> object:
        if self._failed or not todo:
            return _Sent(False, todo)
        if self._child is None:
            try:
                self._start()
            except OSError:
                self._fail()
                return _Sent(False, todo)
        self._sent.put(todo)
        return _Sent(True, todo)

    def result(self, handle: object) -> list[Outcome]:
        assert isinstance(handle, _Sent)
        if handle.sent and not self._failed:
            child = self._child
            assert child is not None and child.stdout is not None
            try:
                outcomes = pickle.load(child.stdout)
                if isinstance(outcomes, list):
                    return outcomes
            except (OSError, EOFError, pickle.UnpicklingError, ValueError):
                pass
            self._fail()
        return self._inline.rows.plan(handle.todo)

    def _fail(self) -> None:
        log.warning("the import's planner process stopped; planning goes on in this process")
        self._failed = True
        self.close()

    def close(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        self._sent.put(None)
        if self._writer is not None:
            self._writer.join(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@dataclass(frozen=True, slots=True)
class _Sent:
    """A chunk handed to the planner: whether the child has it, and its rows."""

    sent: bool
    todo: Todo


def _serve(source: BinaryIO, sink: BinaryIO) -> None:
    """The child's loop: a context, then chunks in, outcomes out, until EOF."""
    ctx = pickle.load(source)
    planner = RowPlanner(ctx)
    while True:
        try:
            todo = pickle.load(source)
        except EOFError:
            return
        pickle.dump(planner.plan(todo), sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()


def planner_for(ctx: PlanContext, in_process: bool) -> Planner:
    """In line, or in a child process when ``in_process`` is False."""
    return InlinePlanner(ctx) if in_process else ProcessPlanner(ctx)


__all__ = [
    "InlinePlanner",
    "Outcome",
    "PlanContext",
    "Planned",
    "Planner",
    "ProcessPlanner",
    "RowPlanner",
    "RowProblem",
    "column_for",
    "planner_for",
]
