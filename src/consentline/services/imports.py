"""Importing consent lists: CSV or JSONL files (or rows as dicts) into the ledger.

The file is streamed in chunks of :data:`CHUNK` rows, one transaction each: the
chunk's idempotency keys are looked up first (one query; a key is computed from the
batch id and the row's raw text alone, so a re-run skips a known row before any
parsing), the rest are planned (:mod:`consentline.services.import_planning`: the
mapping, :func:`recording.prepare`'s checks and the text each event's hash will
cover) and appended through :func:`recording.append_counted` under the chain lock —
the same hash chain, idempotency table and projection as ``record``. On request
(``in_process=False``) the rows are planned in a second process one chunk ahead of
the writes. A crash loses at most the chunk in flight, and a re-run appends exactly
what is missing.

A bad row never aborts the import: it is skipped and reported (row, column, code,
message; numbers masked). An imported ``opt_in`` never clears an opt-out the ledger
holds for its scope (C25) unless the row's own timestamp is later than that opt-out
and the row carries proof of consent; otherwise it is counted ``kept_opt_out`` and
reported like an error.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

from consentline.domain.errors import InvalidImport, UnknownAccount
from consentline.domain.import_mapping import ImportMapping, batch_digest, row_key
from consentline.domain.ledger import Projection, decode, to_us
from consentline.domain.policy import TenantPolicy
from consentline.domain.scopes import Directory, parse_scope
from consentline.services import bulk, recording
from consentline.services.import_planning import (
    Outcome,
    PlanContext,
    Planned,
    Planner,
    RowProblem,
    planner_for,
)
from consentline.services.ports import UnitOfWorkFactory

CHUNK: Final = 5_000
FIRST_ERRORS: Final = 20
_READ: Final = 1 << 20


# -- the report ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Staged:
    """A chunk read and handed to the planner: its size, its rows already in the
    ledger, and the planner's handle on the rest."""

    rows: int
    unchanged: int
    handle: object


@dataclass(slots=True)
class ImportReport:
    """What an import did. ``written`` events were appended; ``unchanged`` rows were
    already in the ledger (a re-run); ``kept_opt_out`` opt-ins were left out because
    an opt-out holds (C25); ``errors`` rows could not be read. A dry run counts what
    it would write."""

    batch_id: str
    dry_run: bool = False
    rows: int = 0
    written: int = 0
    unchanged: int = 0
    kept_opt_out: int = 0
    errors: int = 0
    by_action: dict[str, int] = field(default_factory=dict)
    first_errors: list[RowProblem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "written": self.written,
            "unchanged": self.unchanged,
            "kept_opt_out": self.kept_opt_out,
            "errors": self.errors,
            "by_action": dict(sorted(self.by_action.items())),
            "first_errors": [p.as_dict() for p in self.first_errors],
        }


ERROR_COLUMNS: Final = ("row", "column", "code", "message")


def error_writer(out: IO[str]) -> Callable[[RowProblem], None]:
    """Write the row-error file's header to ``out`` (a text file opened with
    ``newline=""``) and return the ``on_problem`` that adds each row left out.

    >>> import io
    >>> buffer = io.StringIO()
    >>> error_writer(buffer)(RowProblem(3, "Phone", "invalid_address", "not a number"))
    >>> buffer.getvalue().splitlines()
    ['row,column,code,message', '3,Phone,invalid_address,not a number']
    """
    writer = csv.writer(out)  # RFC 4180: CRLF line ends
    writer.writerow(ERROR_COLUMNS)

    def write(problem: RowProblem) -> None:
        writer.writerow([problem.row, problem.column or "", problem.code, problem.message])

    return write


# -- reading sources -------------------------------------------------------------------
# A row's number, its raw text (for the key), and the row: a mapping, or a CSV row's
# values in the header's order (made a mapping only once it is known to be new).
RawRow = tuple[int, bytes, Mapping[str, Any] | list[str]]
Source = str | Path | IO[bytes] | Iterable[Mapping[str, Any]]


@dataclass(slots=True)
class Opened:
    """A source made ready to stream: its rows, the digest of its bytes, and what
    to close afterwards."""

    rows: Iterator[RawRow]
    digest: str
    columns: tuple[str, ...] | None  # a CSV's header
    closers: list[Callable[[], None]]

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def _binary(source: str | Path | IO[bytes]) -> tuple[IO[bytes], str, list[Callable[[], None]]]:
    """A seekable binary handle on the source's bytes, and its name."""
    closers: list[Callable[[], None]] = []
    if isinstance(source, str | Path):
        path = Path(source)
        try:
            handle: IO[bytes] = path.open("rb")
        except OSError as exc:
            raise InvalidImport(f"cannot read {path.name}: {exc.strerror}", field="file") from None
        closers.append(handle.close)
        return handle, path.name.lower(), closers
    handle, name = source, str(getattr(source, "name", "") or "").lower()
    if not (hasattr(handle, "seekable") and handle.seekable()):
        # A stream: kept on disk (never in memory) to be hashed, then read again.
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the import)
        closers.append(spool.close)
        shutil.copyfileobj(handle, spool, _READ)
        spool.seek(0)
        handle = spool
    return handle, name, closers


def _is_gzip(handle: IO[bytes], name: str) -> bool:
    start = handle.tell()
    magic = handle.read(2)
    handle.seek(start)
    return magic == b"\x1f\x8b" or name.endswith(".gz")


def _content(handle: IO[bytes], gzipped: bool, closers: list[Callable[[], None]]) -> IO[bytes]:
    if not gzipped:
        return handle
    unzipped: IO[bytes] = gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[assignment]
    closers.append(unzipped.close)
    return unzipped


def _digest(handle: IO[bytes], gzipped: bool) -> str:
    """The SHA-256 of the content (decompressed: a file and its gzip are one batch)."""
    start = handle.tell()
    sha = hashlib.sha256()
    data: IO[bytes] = gzip.GzipFile(fileobj=handle, mode="rb") if gzipped else handle  # type: ignore[assignment]
    try:
        while chunk := data.read(_READ):
            sha.update(chunk)
    except (OSError, EOFError):
        raise InvalidImport("the file is not valid gzip", field="file") from None
    handle.seek(start)
    return sha.hexdigest()


def _is_jsonl(name: str, head: bytes) -> bool:
    stem = name.removesuffix(".gz")
    if stem.endswith((".jsonl", ".ndjson", ".json")):
        return True
    if stem.endswith((".csv", ".tsv", ".txt")):
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _csv_rows(
    data: IO[bytes], delimiter: str | None, closers: list[Callable[[], None]]
) -> tuple[tuple[str, ...], Iterator[RawRow]]:
    # Bytes that are not UTF-8 survive as surrogates, so the row holding them is a
    # row error and the rest of the file still goes in.
    text = io.TextIOWrapper(data, encoding="utf-8-sig", newline="", errors="surrogateescape")

    def detach() -> None:  # the bytes below are closed (or left open) by their owner
        text.detach()

    closers.append(detach)
    try:
        sample = text.read(65_536)
        sample += text.readline()
    except UnicodeDecodeError:
        raise InvalidImport("the file is not UTF-8 text", field="file") from None
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], ",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    if len(delimiter) != 1:
        raise InvalidImport("a delimiter is one character", field="delimiter")
    lines = itertools.chain(io.StringIO(sample, newline=""), text)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = tuple(h.strip() for h in next(reader))
        "".join(header).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidImport("the file is not UTF-8 text", field="file") from None
    except StopIteration:
        raise InvalidImport("the file is empty", field="file") from None
    except (csv.Error, UnicodeDecodeError):
        raise InvalidImport("the file's first line is not a CSV header", field="file") from None

    def rows() -> Iterator[RawRow]:
        number = 1
        width = len(header)
        sep = "\x1f"
        while True:
            number += 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise InvalidImport(f"row {number} is not UTF-8 text", field="file") from None
            except csv.Error as exc:
                yield number, b"", {"\x00error": f"not a CSV row ({exc})"}
                continue
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # a blank line
            joined = sep.join(values)
            try:
                raw = joined.encode("utf-8")
            except UnicodeEncodeError:
                raw = joined.encode("utf-8", "surrogateescape")
                yield number, raw, {"\x00error": "not UTF-8 text"}
                continue
            if len(values) != width:
                yield number, raw, {"\x00error": f"{len(values)} fields, the header has {width}"}
                continue
            yield number, raw, values

    return header, rows()


def _jsonl_rows(data: IO[bytes]) -> Iterator[RawRow]:
    for number, line in enumerate(data, start=1):
        raw = line.strip()
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            yield number, raw, {"\x00error": "not a JSON object"}
            continue
        if not isinstance(value, dict):
            yield number, raw, {"\x00error": "not a JSON object"}
            continue
        yield number, raw, value


def _dict_rows(rows: Iterable[Mapping[str, Any]]) -> Iterator[RawRow]:
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            yield number, b"", {"\x00error": "not a mapping"}
            continue
        raw = json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
        yield number, raw.encode("utf-8", "surrogatepass"), row


def open_source(
    source: Source, *, format: str | None = None, delimiter: str | None = None
) -> Opened:
    """Ready a path, a binary file object or an iterable of dicts to stream."""
    if isinstance(source, str | Path) or hasattr(source, "read"):
        handle, name, closers = _binary(source)  # type: ignore[arg-type]
        try:
            gzipped = _is_gzip(handle, name)
            digest = _digest(handle, gzipped)
            data = _content(handle, gzipped, closers)
            head = data.peek(64) if hasattr(data, "peek") else b""
            kind = format or ("jsonl" if _is_jsonl(name, head) else "csv")
            if kind not in ("csv", "jsonl"):
                raise InvalidImport("the format is csv or jsonl", field="format")
            if kind == "jsonl":
                return Opened(_jsonl_rows(data), digest, None, closers)
            header, rows = _csv_rows(data, delimiter, closers)
            return Opened(rows, digest, header, closers)
        except BaseException:
            for close in reversed(closers):
                close()
            raise
    if isinstance(source, Mapping) or not isinstance(source, Iterable):
        raise InvalidImport("import a path, a binary file or an iterable of dicts", field="source")
    return Opened(_dict_rows(source), "rows", None, [])


@dataclass(frozen=True, slots=True)
class Preview:
    """A CSV's header and its first rows, read as an import reads them. A row that
    cannot be read (a field count unlike the header's, bytes that are not UTF-8) is
    ``None`` with ``problem`` saying why."""

    columns: tuple[str, ...]
    rows: list[tuple[int, list[str] | None, str | None]]  # (row number, values, problem)


def preview(
    source: str | Path | IO[bytes], *, rows: int = 5, delimiter: str | None = None
) -> Preview:
    """The header and first ``rows`` rows of a CSV file (gzip too), to map its
    columns before importing it; :class:`InvalidImport` for a file that is not a
    CSV with a header (empty, not UTF-8 text, no header line)."""
    opened = open_source(source, format="csv", delimiter=delimiter)
    try:
        assert opened.columns is not None
        found: list[tuple[int, list[str] | None, str | None]] = []
        for number, _raw, row in itertools.islice(opened.rows, rows):
            if isinstance(row, list):
                found.append((number, row, None))
            else:
                found.append((number, None, str(row.get("\x00error", "not a row"))))
        return Preview(opened.columns, found)
    finally:
        opened.close()


# -- never re-subscribe (C25) ----------------------------------------------------------
def _related(directory: Directory, a: str, b: str) -> bool:
    """Whether scopes ``a`` and ``b`` can decide the same send (one is the other, or
    lies inside it): an opt-in at one can clear an opt-out at the other."""
    if a == b:
        return True
    sa, sb = parse_scope(a), parse_scope(b)
    if sa.is_line and sb.is_line:
        return False
    acc_a = directory.line_by_id(sa.id).account_id if sa.is_line else sa.id
    acc_b = directory.line_by_id(sb.id).account_id if sb.is_line else sb.id
    if sa.is_line:
        return directory.is_within(acc_a, acc_b)
    if sb.is_line:
        return directory.is_within(acc_b, acc_a)
    return directory.is_within(acc_a, acc_b) or directory.is_within(acc_b, acc_a)


Held = list[tuple[str, str, str, str, int]]  # (code, scope, purpose, topic, occurred_us)


def held_opt_out(
    directory: Directory, entries: Held, scope: str, purpose: str, topic: str
) -> int | None:
    """When the latest opt-out an opt-in at ``scope`` would clear was given, or None.

    Conservative (C25): an opt-out counts when its scope is related to ``scope``
    (the same, above or below it), its purpose and topic overlap the opt-in's, and
    no later resume or opt-in at its own scope has lifted it.
    """
    latest: int | None = None
    for i, (code, out_scope, out_purpose, out_topic, out_us) in enumerate(entries):
        if code != "o" or not _related(directory, scope, out_scope):
            continue
        if purpose and out_purpose and out_purpose != purpose:
            continue
        if topic and out_topic and out_topic != topic:
            continue
        lifted = any(
            c in ("r", "i")
            and s == out_scope
            and p in ("", out_purpose)
            and t == out_topic
            and us > out_us
            for c, s, p, t, us in entries[i + 1 :]
        )
        if not lifted and (latest is None or out_us > latest):
            latest = out_us
    return latest


# -- the import ---------------------------------------------------------------------
@dataclass(slots=True)
class Importer:
    """One import run: the mapping, the scope the call gives, the ledger snapshot."""

    units: UnitOfWorkFactory
    directory: Directory
    policies: Mapping[int, TenantPolicy]
    mapping: ImportMapping
    account: str | None
    line: str | None
    within: str | None
    now: datetime
    dry_run: bool = False
    chunk: int = CHUNK
    on_problem: Callable[[RowProblem], None] | None = None
    on_chunk: Callable[[ImportReport], None] | None = None
    in_process: bool = True  # False: plan in a second process while this one writes
    # Who runs the import (a UI operator): added to every row's proof, never to the
    # batch id, so a re-run by someone else still finds the rows already imported.
    actor: Mapping[str, Any] | None = None
    _pending: list[RowProblem] = field(default_factory=list)
    _tenant: int = 0

    def tenant_id(self) -> int:
        if self.line is not None:
            return self.directory.line(self.line).tenant_id
        if self.account is None:
            raise InvalidImport("give the account (or line) the import is for", field="account")
        return self.directory.account(self.account).tenant_id

    def run(self, opened: Opened, batch_id: str | None) -> ImportReport:
        tenant_id = self._tenant = self.tenant_id()
        if self.within is not None and self.account is not None:
            owner = self.directory.account(self.account)
            home = self.directory.account(self.within)
            if not self.directory.is_within(owner.id, home.id):
                raise UnknownAccount(f"no account {owner.slug!r}", account=owner.slug)
        if opened.columns is not None:
            missing = sorted({c for c in _mapped_columns(self.mapping) if c not in opened.columns})
            if missing:
                raise InvalidImport(
                    f"the file has no column {', '.join(repr(c) for c in missing)}",
                    field="mapping",
                    columns=missing,
                )
        batch = batch_id or batch_digest(
            opened.digest, self.mapping, [self.account, self.line, self.within]
        )
        report = ImportReport(batch_id=batch, dry_run=self.dry_run)
        ctx = PlanContext(
            self.directory,
            self.policies,
            self.mapping,
            self.account,
            self.line,
            self.within,
            tenant_id,
            to_us(self.now),
            opened.columns or (),
            dict(self.actor) if self.actor else None,
        )
        planner = planner_for(ctx, self.in_process)
        try:
            # Chunk k + 1 is read, looked up and handed to the planner before chunk k
            # is written: with a planner process, planning and writing overlap.
            rows = opened.rows
            staged: _Staged | None = None
            while True:
                try:
                    chunk = list(itertools.islice(rows, self.chunk))
                    ahead = self._stage(tenant_id, batch, chunk, planner) if chunk else None
                except Exception:
                    if staged is not None:  # what was read before the failure goes in
                        self._write(tenant_id, staged, planner.result(staged.handle), report)
                        self._flush(report)
                    raise
                if staged is not None:
                    self._write(tenant_id, staged, planner.result(staged.handle), report)
                    self._flush(report)
                    if self.on_chunk is not None:
                        self.on_chunk(report)
                if ahead is None:
                    break
                staged = ahead
        finally:
            planner.close()
        return report

    def _problem(self, report: ImportReport, problem: RowProblem, *, kept: bool = False) -> None:
        if kept:
            report.kept_opt_out += 1
        else:
            report.errors += 1
        self._pending.append(problem)

    def _flush(self, report: ImportReport) -> None:
        """Hand out the chunk's problems in row order (C25 ones are found last)."""
        for problem in sorted(self._pending, key=lambda p: p.row):
            if len(report.first_errors) < FIRST_ERRORS:
                report.first_errors.append(problem)
            if self.on_problem is not None:
                self.on_problem(problem)
        self._pending.clear()

    def _stage(self, tenant_id: int, batch: str, chunk: list[RawRow], planner: Planner) -> _Staged:
        """Look the chunk's keys up (a known row is skipped before any parsing: a
        re-run) and hand the rest to the planner."""
        keys = [row_key(batch, raw) for _, raw, _ in chunk]
        with self.units(write=False) as uow:
            known = uow.store.find_idempotent(tenant_id, keys)
        todo = [
            (number, key, row)
            for (number, _raw, row), key in zip(chunk, keys, strict=True)
            if key not in known
        ]
        return _Staged(len(chunk), len(chunk) - len(todo), planner.submit(todo))

    def _write(
        self, tenant_id: int, staged: _Staged, outcomes: list[Outcome], report: ImportReport
    ) -> None:
        """Write a planned chunk in one transaction, under the tenant's chain lock."""
        report.rows += staged.rows
        report.unchanged += staged.unchanged
        planned: list[Planned] = []
        for outcome in outcomes:
            if isinstance(outcome, RowProblem):
                self._problem(report, outcome)
            else:
                planned.append(outcome)
        if not planned:
            return
        now_us = to_us(self.now)
        with self.units(write=not self.dry_run) as uow, bulk.collection_paused():
            if not self.dry_run:
                # Locked first, so what is read next is what the seal would read.
                uow.store.lock_chain(tenant_id)
            # Again, under the lock: the same row earlier in the file, or another
            # import of this file, may have written a key since it was staged.
            known = uow.store.find_idempotent(tenant_id, [p.key for p in planned])
            if known:
                report.unchanged += sum(p.key in known for p in planned)
                planned = [p for p in planned if p.key not in known]
            state = uow.store.load_state(
                (tenant_id, p.prepared.channel, p.prepared.address) for p in planned
            )
            kept = self._never_resubscribe(state, planned, report)
            to_write = [p.prepared for n, p in enumerate(planned) if n not in kept]
            if self.dry_run:
                for item in to_write:
                    report.by_action[item.action] = report.by_action.get(item.action, 0) + 1
                report.written += len(to_write)
                return
            replays = (
                recording.append_counted(uow, to_write, now_us, known=known, state=state)
                if to_write
                else []
            )
            for item, replay in zip(to_write, replays, strict=True):
                if replay:  # the same row twice in the chunk
                    report.unchanged += 1
                else:
                    report.written += 1
                    report.by_action[item.action] = report.by_action.get(item.action, 0) + 1
            uow.commit()

    def _never_resubscribe(
        self,
        state: Mapping[recording.StateKey, Projection],
        planned: list[Planned],
        report: ImportReport,
    ) -> set[int]:
        """The indexes of planned opt-ins an opt-out keeps out (C25); ``state`` is
        the projection of every planned address."""
        if not any(p.prepared.action == "opt_in" for p in planned):
            return set()
        held: dict[tuple[str, str], Held] = {}
        for key, projection in state.items():
            held[(key[1], key[2])] = [
                (e.code, e.scope, e.purpose, e.topic, e.occurred_us)
                for e in decode(projection.shape, projection.ids, projection.times)
            ]
        kept: set[int] = set()
        for n, row in enumerate(planned):
            p = row.prepared
            entries = held.setdefault((p.channel, p.address), [])
            code = {"opt_in": "i", "opt_out": "o", "resume": "r"}.get(p.action)
            if p.action == "opt_in":
                since = held_opt_out(
                    self.directory, entries, p.scope, p.purpose or "", p.topic or ""
                )
                later = row.dated and since is not None
                if since is not None and not (
                    later and p.occurred_us > since and row.proof_of_consent
                ):
                    kept.add(n)
                    why = (
                        "an opt-out is held for this scope; the row is not later with proof of "
                        "consent, so it does not re-subscribe (C25)"
                    )
                    column = self.mapping.action_column
                    self._problem(
                        report, RowProblem(row.number, column, "kept_opt_out", why), kept=True
                    )
                    continue
            if code is not None:  # later rows of the chunk see this one
                entries.append((code, p.scope, p.purpose or "", p.topic or "", p.occurred_us))
        return kept


def _mapped_columns(mapping: ImportMapping) -> list[str]:
    columns = list(mapping.columns.values())
    if mapping.preset is not None:
        columns.append(mapping.preset[1])
    return columns


def run_import(
    units: UnitOfWorkFactory,
    directory: Directory,
    policies: Mapping[int, TenantPolicy],
    source: Source,
    mapping: ImportMapping,
    *,
    account: str | None,
    line: str | None,
    within: str | None,
    now: datetime,
    dry_run: bool = False,
    batch_id: str | None = None,
    format: str | None = None,
    delimiter: str | None = None,
    chunk: int = CHUNK,
    in_process: bool = True,
    on_problem: Callable[[RowProblem], None] | None = None,
    on_chunk: Callable[[ImportReport], None] | None = None,
    actor: Mapping[str, Any] | None = None,
) -> ImportReport:
    """Import ``source`` with ``mapping`` into the tenant of ``account`` (or ``line``):
    each chunk in a transaction of its own; returns the report. ``actor`` (who runs
    it, e.g. ``{"actor": "maria", "operator_id": 7}``) goes into every row's proof."""
    importer = Importer(
        units,
        directory,
        policies,
        mapping,
        account,
        line,
        within,
        now,
        dry_run=dry_run,
        chunk=chunk,
        on_problem=on_problem,
        on_chunk=on_chunk,
        in_process=in_process,
        actor=actor,
    )
    importer.tenant_id()  # the scope is known before the file is read
    opened = open_source(source, format=format, delimiter=delimiter)
    try:
        return importer.run(opened, batch_id)
    finally:
        opened.close()
