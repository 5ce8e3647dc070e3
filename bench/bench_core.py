"""Core performance benchmarks of consentline, each against a baseline measured in the same run.

1. ``check``: one ``cl.check(...)`` vs a raw indexed point lookup of the same
   projection row on a plain driver connection (same database, same keys).
2. ``check_many``: 1M recipients against a 1M-number ledger (10% opted out) vs the
   plain SQL anti-join a developer would write (temp table + NOT EXISTS on events).
3. ``record``: durable ``record_many`` throughput (batch 100 / 1000 / 5000) and the
   latency of single ``record`` calls.
4. All of the above on PostgreSQL too.

Run ``python bench/bench_core.py --help``; see bench/README.md. Only 127.0.0.1 is
ever contacted.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import phonenumbers
import psycopg
from sqlalchemy.engine import make_url

import consentline
from consentline.domain.ledger import ACTION_CODES, compact, decode, encode, insert_entry
from consentline.services.recording import RecordRequest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"

ACCOUNT = "bench"
LINE = "+18005550100"
PURPOSE = "marketing"
BUILD_BATCH = 5000
OPT_OUT_EVERY = 10  # every 10th number of the ledger sends STOP (10%)
OPT_OUT_PHASE = 7

# Twenty large US area codes; every exchange 200-999 of these is valid for phonenumbers
# (checked at start-up on a sample). Index i -> (area, exchange, line number) is a
# bijection onto 160M numbers, so the first N indexes are N distinct numbers.
AREAS: tuple[int, ...] = (
    *(212, 415, 646, 312, 617, 202, 305, 713, 206, 303),
    *(404, 503, 512, 602, 702, 718, 773, 818, 919, 971),
)
_PER_LINE = len(AREAS) * 800

POINT_SQL = (
    "SELECT shape, ids, times, max_us FROM consent_state"
    " WHERE tenant_id = {p} AND channel = {p} AND address = {p}"
)
ANTI_JOIN_SQL = (
    "SELECT r.address FROM recipients r WHERE NOT EXISTS ("
    "SELECT 1 FROM events e WHERE e.tenant_id = {p} AND e.channel = 'sms'"
    " AND e.address = r.address AND e.action = 'opt_out')"
)

# What a cached ledger depends on besides the migrations (which connect() applies):
# the stored projection encoding. A change to any of these rebuilds the cache.
_FORMAT_PARTS = (encode, decode, compact, insert_entry, ACTION_CODES)


def us_number(i: int) -> str:
    """The i-th benchmark number (deterministic, distinct for 0 <= i < 160M)."""
    k = i // _PER_LINE
    line = (k * 7919 + 1234) % 10_000  # 7919 is coprime to 10000: a permutation
    return f"+1{AREAS[i % len(AREAS)]}{200 + (i // len(AREAS)) % 800}{line:04d}"


def check_numbers_valid(sample: int = 20_000) -> None:
    rng = random.Random(7)
    indexes = [rng.randrange(0, 2_500_000) for _ in range(sample)]
    indexes += list(range(0, _PER_LINE * 2, 797))
    for i in indexes:
        text = us_number(i)
        parsed = phonenumbers.parse(text)
        formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if not phonenumbers.is_valid_number(parsed) or formatted != text:
            raise SystemExit(f"benchmark number {text} is not a valid E.164 number")


def format_fingerprint() -> str:
    digest = hashlib.sha256()
    for part in _FORMAT_PARTS:
        text = repr(part) if isinstance(part, dict) else inspect.getsource(part)
        digest.update(text.encode())
    return digest.hexdigest()[:16]


def git_revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass
class Sizes:
    ledger: int
    check_ops: int
    record_events: int
    single_records: int
    repeats: int

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        if quick:
            return cls(
                ledger=20_000, check_ops=20_000, record_events=5_000, single_records=100, repeats=3
            )
        return cls(
            ledger=1_000_000, check_ops=200_000, record_events=50_000, single_records=500, repeats=3
        )


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline: float | None = None
    ratio: float | None = None
    ratio_label: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Report:
    backend: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(
            f"  {row.name}: {fmt(row.value)} {row.unit}" + (f"  ({row.note})" if row.note else "")
        )


def fmt(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# -- backends -------------------------------------------------------------------------
class Backend:
    """What differs between SQLite and PostgreSQL: URLs, raw connections, placeholders."""

    name: str
    placeholder: str
    meta_path: Path

    def ledger_url(self) -> str:
        raise NotImplementedError

    def build_url(self) -> str:
        raise NotImplementedError

    def record_url(self) -> str:
        raise NotImplementedError

    def raw(self) -> Any:
        raise NotImplementedError

    def reset_ledger(self) -> None:
        raise NotImplementedError

    def reset_record(self) -> None:
        raise NotImplementedError

    def finish_build(self) -> None:
        """Make a freshly built ledger the cached one."""

    def analyze(self, record: bool = False) -> None:
        """Refresh planner statistics while a database grows (PostgreSQL only)."""

    def describe(self) -> str:
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "sqlite"
    placeholder = "?"

    def __init__(self, ledger_size: int) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        self.path = CACHE / f"ledger-{ledger_size}.db"
        self.building = CACHE / f"ledger-{ledger_size}.building.db"
        self.record_path = CACHE / "record.db"
        self.meta_path = CACHE / f"ledger-{ledger_size}.sqlite.json"

    def ledger_url(self) -> str:
        return f"sqlite:///{self.path}"

    def build_url(self) -> str:
        return f"sqlite:///{self.building}"

    def record_url(self) -> str:
        return f"sqlite:///{self.record_path}"

    def raw(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)

    @staticmethod
    def _remove(path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def reset_ledger(self) -> None:
        self._remove(self.building)

    def reset_record(self) -> None:
        self._remove(self.record_path)

    def finish_build(self) -> None:
        conn = sqlite3.connect(self.building)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
        conn.close()
        self._remove(self.path)
        os.replace(self.building, self.path)
        self._remove(self.building)

    def describe(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=FULL), file {self.path.name}"


class PostgresBackend(Backend):
    name = "postgres"
    placeholder = "%s"

    def __init__(self, url: str, ledger_size: int, quick: bool = False) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql":
            raise SystemExit(f"--postgres expects a postgresql URL, got {url!r}")
        if parsed.host != "127.0.0.1":
            raise SystemExit("benchmarks only talk to 127.0.0.1: use a 127.0.0.1 URL")
        database = parsed.database or ""
        if not database.startswith("bench"):
            raise SystemExit(
                f"refusing to benchmark in database {database!r}: its name must start with"
                " 'bench' (the ledger database is dropped and rebuilt with --rebuild)"
            )
        self.given_database = database
        if quick:  # never replace the cached 1M ledger with the smoke-run one
            database = f"{database}_quick"
        self.url = parsed.set(drivername="postgresql+psycopg", database=database)
        self.database = database
        self.record_database = f"{database}_record"
        self.meta_path = CACHE / f"ledger-{ledger_size}.postgres-{database}.json"
        self.building = False

    def _libpq(self, database: str) -> str:
        url = self.url.set(drivername="postgresql", database=database)
        return url.render_as_string(hide_password=False)

    def ledger_url(self) -> str:
        return self.url.render_as_string(hide_password=False)

    def build_url(self) -> str:
        return self.ledger_url()

    def record_url(self) -> str:
        return self.url.set(database=self.record_database).render_as_string(hide_password=False)

    def raw(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._libpq(self.database), autocommit=True)

    def reachable(self) -> None:
        psycopg.connect(self._libpq(self.given_database), autocommit=True).close()

    def _recreate(self, database: str) -> None:
        with psycopg.connect(self._libpq("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{database}"')

    def reset_ledger(self) -> None:
        self._recreate(self.database)

    def reset_record(self) -> None:
        self._recreate(self.record_database)

    def finish_build(self) -> None:
        with self.raw() as conn:
            conn.execute("VACUUM ANALYZE")

    def analyze(self, record: bool = False) -> None:
        database = self.record_database if record else self.database
        with psycopg.connect(self._libpq(database), autocommit=True) as conn:
            conn.execute("ANALYZE")

    def describe(self) -> str:
        with psycopg.connect(self._libpq(self.given_database), autocommit=True) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            sync = conn.execute("SHOW synchronous_commit").fetchone()
        version = row[0] if row else "?"
        return (
            f"PostgreSQL {version} at 127.0.0.1 (synchronous_commit={sync[0] if sync else '?'}),"
            f" database {self.database}"
        )


# -- ledger ---------------------------------------------------------------------------
def opt_in_requests(indexes: Sequence[int]) -> Iterator[RecordRequest]:
    for i in indexes:
        yield RecordRequest(
            us_number(i),
            "opt_in",
            account=ACCOUNT,
            purpose=PURPOSE,
            source="import",
            proof={"list": "crm-export-2024-11", "row": i, "form": "checkout-optin-v3"},
        )


def stop_requests(indexes: Sequence[int]) -> Iterator[RecordRequest]:
    for i in indexes:
        yield RecordRequest(
            us_number(i),
            "opt_out",
            via=LINE,
            source="keyword",
            proof={"keyword": "STOP", "message_id": f"SM{i:032x}"},
        )


def batched(items: Iterator[RecordRequest], size: int) -> Iterator[list[RecordRequest]]:
    batch: list[RecordRequest] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def build_ledger(backend: Backend, size: int) -> dict[str, Any]:
    """Build the ledger through record_many (itself the batch-record benchmark at scale)."""
    backend.reset_ledger()
    url = backend.build_url()
    cl = consentline.connect(url)
    try:
        cl.create_account(ACCOUNT, default_region="US")
        cl.add_line(LINE, account=ACCOUNT)
        opt_outs = [i for i in range(size) if i % OPT_OUT_EVERY == OPT_OUT_PHASE]
        print(f"  building the ledger: {size:,} opt-ins + {len(opt_outs):,} STOPs ...", flush=True)
        started = time.perf_counter()
        done = 0
        for batch in batched(opt_in_requests(range(size)), BUILD_BATCH):
            cl.record_many(batch)
            done += len(batch)
            if done in (BUILD_BATCH, 4 * BUILD_BATCH) or done % 100_000 == 0:
                backend.analyze()  # what autovacuum does in production (see README)
            if done % 100_000 == 0:
                elapsed = time.perf_counter() - started
                print(f"    {done:,} opt-ins, {done / elapsed:,.0f} events/s", flush=True)
        opt_in_s = time.perf_counter() - started
        started = time.perf_counter()
        for batch in batched(stop_requests(opt_outs), BUILD_BATCH):
            cl.record_many(batch)
        stop_s = time.perf_counter() - started
    finally:
        cl.close()
    backend.finish_build()
    total = size + len(opt_outs)
    return {
        "opt_ins": size,
        "opt_outs": len(opt_outs),
        "batch": BUILD_BATCH,
        "opt_in_seconds": opt_in_s,
        "stop_seconds": stop_s,
        "events_per_s": total / (opt_in_s + stop_s),
        "opt_in_events_per_s": size / opt_in_s,
        "stop_events_per_s": len(opt_outs) / stop_s,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def ensure_ledger(backend: Backend, size: int, rebuild: bool) -> tuple[dict[str, Any], bool]:
    """The cached ledger's build figures (building it if needed) and whether it was built now."""
    fingerprint = format_fingerprint()
    meta_path = backend.meta_path
    if not rebuild and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if (
            meta.get("format") == fingerprint
            and meta.get("opt_ins") == size
            and _ledger_ok(backend, size)
        ):
            return meta, False
        print("  cached ledger is stale or missing: rebuilding", flush=True)
    meta = build_ledger(backend, size)
    meta["format"] = fingerprint
    CACHE.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    return meta, True


def _ledger_ok(backend: Backend, size: int) -> bool:
    try:
        with backend.raw() as conn:
            row = conn.execute("SELECT count(*) FROM consent_state").fetchone()
    except (sqlite3.Error, psycopg.Error):
        return False
    if isinstance(backend, SqliteBackend) and not backend.path.exists():
        return False
    return bool(row) and int(row[0]) == size


# -- benchmarks -----------------------------------------------------------------------
def best_ns(fn: Callable[[], int], repeats: int) -> int:
    return min(fn() for _ in range(repeats))


def bench_check(
    backend: Backend, cl: consentline.Consentline, tenant_id: int, keys: list[str], repeats: int
) -> dict[str, Any]:
    raw = backend.raw()
    sql = POINT_SQL.format(p=backend.placeholder)
    check = cl.check

    def run_check() -> int:
        started = time.perf_counter_ns()
        for address in keys:
            check(address, from_=LINE, purpose=PURPOSE)
        return time.perf_counter_ns() - started

    def run_raw() -> int:
        execute = raw.execute
        started = time.perf_counter_ns()
        for address in keys:
            execute(sql, (tenant_id, "sms", address)).fetchone()
        return time.perf_counter_ns() - started

    try:
        allowed = sum(check(a, from_=LINE, purpose=PURPOSE).allowed for a in keys)  # warm-up
        found = sum(raw.execute(sql, (tenant_id, "sms", a)).fetchone() is not None for a in keys)
        if found != len(keys):
            raise SystemExit(f"raw lookup found {found} of {len(keys)} keys")
        check_ns, raw_ns = [], []
        for _ in range(repeats):  # interleaved: both see the same machine state
            check_ns.append(run_check())
            raw_ns.append(run_raw())
    finally:
        raw.close()
    return {
        "ops": len(keys),
        "allowed": allowed,
        "check_us": min(check_ns) / len(keys) / 1000,
        "raw_us": min(raw_ns) / len(keys) / 1000,
        "check_runs_ns": check_ns,
        "raw_runs_ns": raw_ns,
    }


def bench_check_many(
    backend: Backend,
    cl: consentline.Consentline,
    tenant_id: int,
    recipients: list[str],
    repeats: int,
) -> dict[str, Any]:
    def run_gate() -> tuple[int, int]:
        started = time.perf_counter_ns()
        allowed = 0
        for decision in cl.check_many(recipients, from_=LINE, purpose=PURPOSE):
            if decision.allowed:
                allowed += 1
        return time.perf_counter_ns() - started, allowed

    def run_sql() -> tuple[int, int]:
        conn = backend.raw()
        try:
            started = time.perf_counter_ns()
            if isinstance(backend, SqliteBackend):
                conn.execute("CREATE TEMP TABLE recipients (address TEXT NOT NULL)")
                conn.executemany(
                    "INSERT INTO recipients (address) VALUES (?)", [(a,) for a in recipients]
                )
                conn.commit()
            else:
                conn.execute("CREATE TEMP TABLE recipients (address TEXT NOT NULL)")
                with conn.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO recipients (address) VALUES (%s)", [(a,) for a in recipients]
                    )
                conn.execute("ANALYZE recipients")
            sql = ANTI_JOIN_SQL.format(p=backend.placeholder)
            rows = conn.execute(sql, (tenant_id,)).fetchall()
            elapsed = time.perf_counter_ns() - started
        finally:
            conn.close()
        return elapsed, len(rows)

    gate_runs = [run_gate() for _ in range(repeats)]
    sql_runs = [run_sql() for _ in range(repeats)]
    gate_allowed = {a for _, a in gate_runs}
    sql_allowed = {a for _, a in sql_runs}
    return {
        "recipients": len(recipients),
        "gate_s": min(t for t, _ in gate_runs) / 1e9,
        "sql_s": min(t for t, _ in sql_runs) / 1e9,
        "gate_allowed": sorted(gate_allowed),
        "sql_allowed": sorted(sql_allowed),
        "gate_runs_s": [t / 1e9 for t, _ in gate_runs],
        "sql_runs_s": [t / 1e9 for t, _ in sql_runs],
    }


def bench_record(backend: Backend, sizes: Sizes) -> dict[str, Any]:
    """Durable record_many throughput per batch size, and single-record latency."""
    backend.reset_record()
    cl = consentline.connect(backend.record_url())
    out: dict[str, Any] = {"batches": {}}
    try:
        cl.create_account(ACCOUNT, default_region="US")
        cl.add_line(LINE, account=ACCOUNT)
        base = 10_000_000  # numbers never used by the ledger
        cl.record_many(list(opt_in_requests(range(base - 1000, base))))  # warm-up
        backend.analyze(record=True)
        for size in (100, 1000, 5000):
            events = max(sizes.record_events, size * 4)
            requests = list(opt_in_requests(range(base, base + events)))
            base += events
            started = time.perf_counter_ns()
            for start in range(0, events, size):
                cl.record_many(requests[start : start + size])
            elapsed = time.perf_counter_ns() - started
            out["batches"][str(size)] = {"events": events, "events_per_s": events * 1e9 / elapsed}
            backend.analyze(record=True)
            print(f"  record_many batch {size}: {events * 1e9 / elapsed:,.0f} events/s", flush=True)
        latencies: list[int] = []
        for i in range(base, base + sizes.single_records):
            number = us_number(i)
            started = time.perf_counter_ns()
            cl.record(
                number,
                "opt_in",
                account=ACCOUNT,
                purpose=PURPOSE,
                source="web_form",
                proof={"form": "signup", "ip": "203.0.113.7"},
            )
            latencies.append(time.perf_counter_ns() - started)
        latencies.sort()
        out["single"] = {
            "events": len(latencies),
            "p50_ms": percentile(latencies, 50) / 1e6,
            "p99_ms": percentile(latencies, 99) / 1e6,
            "mean_ms": statistics.fmean(latencies) / 1e6,
        }
    finally:
        cl.close()
    return out


def percentile(sorted_values: Sequence[int], pct: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return float(sorted_values[index])


# -- driver ---------------------------------------------------------------------------
def run_backend(backend: Backend, sizes: Sizes, rebuild: bool) -> Report:
    report = Report(backend.name)
    print(f"\n== {backend.name}: {backend.describe()}", flush=True)
    meta, built_now = ensure_ledger(backend, sizes.ledger, rebuild)
    expected_allowed = sizes.ledger - meta["opt_outs"]

    rng = random.Random(2024)
    recipients = [us_number(i) for i in range(sizes.ledger)]
    rng.shuffle(recipients)
    keys = recipients[: sizes.check_ops]

    cl = consentline.connect(backend.ledger_url())
    try:
        tenant_id = cl.directory().account(ACCOUNT).tenant_id
        print("  single check ...", flush=True)
        single = bench_check(backend, cl, tenant_id, keys, sizes.repeats)
        print("  check_many ...", flush=True)
        bulk = bench_check_many(backend, cl, tenant_id, recipients, sizes.repeats)
    finally:
        cl.close()
    if bulk["gate_allowed"] != [expected_allowed] or bulk["sql_allowed"] != [expected_allowed]:
        raise SystemExit(
            f"allowed counts differ: gate {bulk['gate_allowed']}, sql {bulk['sql_allowed']},"
            f" expected {expected_allowed}"
        )
    print("  record ...", flush=True)
    record = bench_record(backend, sizes)

    ratio = single["check_us"] / single["raw_us"]
    report.add(
        Row(
            f"check (µs/op, {single['ops']:,} distinct numbers, best of {sizes.repeats})",
            single["check_us"],
            "µs/op",
            baseline=single["raw_us"],
            ratio=ratio,
            ratio_label=f"{ratio:.2f}× the raw lookup",
            target="≤ 2× raw",
            met=ratio <= 2.0,
        )
    )
    ratio = bulk["gate_s"] / bulk["sql_s"]
    gate_target = 3.0 * sizes.ledger / 1_000_000
    report.add(
        Row(
            f"check_many ({bulk['recipients']:,} recipients vs {sizes.ledger:,} ledger, s)",
            bulk["gate_s"],
            "s",
            baseline=bulk["sql_s"],
            ratio=ratio,
            ratio_label=f"{ratio:.2f}× the anti-join"
            + (f" ({1 / ratio:.1f}× faster)" if ratio < 1 else " (slower)"),
            target=f"≤ {gate_target:g} s and < anti-join",
            met=bulk["gate_s"] <= gate_target and ratio < 1.0,
        )
    )
    report.add(
        Row(
            "check_many throughput (checks/s)",
            bulk["recipients"] / bulk["gate_s"],
            "checks/s",
            baseline=bulk["recipients"] / bulk["sql_s"],
        )
    )
    for size, figures in record["batches"].items():
        report.add(
            Row(
                f"record_many batch {size} (events/s, durable)",
                figures["events_per_s"],
                "events/s",
                target="≥ 5,000/s",
                met=figures["events_per_s"] >= 5000,
                note=f"{figures['events']:,} events",
            )
        )
    report.add(
        Row(
            f"ledger build: record_many batch {BUILD_BATCH} at scale (events/s)",
            meta["events_per_s"],
            "events/s",
            target="≥ 5,000/s",
            met=meta["events_per_s"] >= 5000,
            note=(
                f"{meta['opt_ins']:,} opt-ins {meta['opt_in_events_per_s']:,.0f}/s +"
                f" {meta['opt_outs']:,} STOPs {meta['stop_events_per_s']:,.0f}/s"
                + ("" if built_now else f"; cached build of {meta['built_at']}")
            ),
        )
    )
    one = record["single"]
    report.add(
        Row(
            f"record single event p50 (ms, {one['events']} events)",
            one["p50_ms"],
            "ms",
        )
    )
    report.add(Row("record single event p99 (ms)", one["p99_ms"], "ms"))
    report.details = {
        "backend": backend.describe(),
        "sizes": sizes.__dict__,
        "ledger": meta,
        "ledger_built_this_run": built_now,
        "check": single,
        "check_many": bulk,
        "record": record,
        "baselines": {
            "check": POINT_SQL.format(p=backend.placeholder) + " (plain driver connection)",
            "check_many": "CREATE TEMP TABLE recipients; executemany INSERT; "
            + ANTI_JOIN_SQL.format(p=backend.placeholder)
            + "; fetchall",
        },
    }
    return report


def markdown(report: Report) -> str:
    lines = [
        f"### {report.backend}",
        "",
        "| benchmark | consentline | baseline | ratio | target | met |",
        "|---|---:|---:|---|---|:-:|",
    ]
    for row in report.rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        value = f"{fmt(row.value)} {row.unit}"
        baseline = "" if row.baseline is None else f"{fmt(row.baseline)} {row.unit}"
        name = row.name + (f" — {row.note}" if row.note else "")
        lines.append(
            f"| {name} | {value} | {baseline} | {row.ratio_label} | {row.target} | {met} |"
        )
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "consentline": getattr(consentline, "__version__", "dev"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("CONSENTLINE_BENCH_POSTGRES_URL", DEFAULT_PG),
        help=f"PostgreSQL URL on 127.0.0.1 (database name must start with 'bench'; "
        f"default {DEFAULT_PG})",
    )
    parser.add_argument("--postgres-only", action="store_true", help="skip SQLite")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached ledgers")
    args = parser.parse_args(argv)

    sizes = Sizes.pick(args.quick)
    check_numbers_valid()
    backends: list[Backend] = []
    if not args.postgres_only:
        backends.append(SqliteBackend(sizes.ledger))
    if not args.sqlite_only:
        pg = PostgresBackend(args.postgres, sizes.ledger, quick=args.quick)
        try:
            pg.reachable()
        except psycopg.Error as exc:
            print(f"PostgreSQL at {args.postgres} is not reachable ({exc}); skipping it")
        else:
            backends.append(pg)

    RESULTS.mkdir(parents=True, exist_ok=True)
    env = environment()
    tables = []
    for backend in backends:
        report = run_backend(backend, sizes, args.rebuild)
        tables.append(markdown(report))
        suffix = "-quick" if args.quick else ""
        out = RESULTS / f"core-{backend.name}{suffix}.json"
        payload = {
            "environment": env,
            "rows": [row.__dict__ for row in report.rows],
            **report.details,
        }
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
        print(f"  wrote {out.relative_to(ROOT)}")
    print(f"\n## consentline core benchmarks — {env['date']} ({env['git']}, {env['cpus']} CPUs)\n")
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
