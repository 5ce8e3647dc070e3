"""Erasure (C22) at scale, and the send gate before/after a tenant has erasures.

1. ``cl.erase(number, account=...)`` of one number in a 1,000,000-number ledger
   (bench_core's data: 1M opt-ins, every 10th number opted out by a keyword STOP),
   timed end to end (the transaction, the SQLite WAL checkpoint, the snapshot
   reload) over several numbers, half opted out, half opted in: median and p95.
   Target: <= 50 ms.
2. ``cl.check`` throughput on 100,000 ledger numbers in the same run: before any
   erasure (the tenant pays nothing: must not regress), and after erasures (every
   check then also looks up the number's keyed hash, in the same indexed query).
   Baseline: the raw indexed point lookup on a plain driver connection, as in
   bench_core.py.
3. ``check_many`` of the same numbers, before and after.

Run ``python bench/bench_privacy.py [--quick] [--postgres URL | --sqlite-only]``.
Results: bench/results/issue11/privacy-<backend>[-quick].json. Only 127.0.0.1 is
contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

import consentline
from bench_core import (
    ACCOUNT,
    BUILD_BATCH,
    LINE,
    OPT_OUT_EVERY,
    OPT_OUT_PHASE,
    POINT_SQL,
    PURPOSE,
    batched,
    environment,
    opt_in_requests,
    stop_requests,
    us_number,
)
from consentline import client as client_module

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "issue11"
KEY = "bench-erasure-key-" + "x" * 32
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_privacy"


def build(url: str, size: int) -> float:
    cl = consentline.connect(url)
    try:
        cl.create_account(ACCOUNT, default_region="US")
        cl.add_line(LINE, account=ACCOUNT)
        cl.set_purpose(ACCOUNT, PURPOSE, model="restrictive")
        started = time.perf_counter()
        for batch in batched(opt_in_requests(range(size)), BUILD_BATCH):
            cl.record_many(batch)
        outs = [i for i in range(size) if i % OPT_OUT_EVERY == OPT_OUT_PHASE]
        for batch in batched(stop_requests(outs), BUILD_BATCH):
            cl.record_many(batch)
        return time.perf_counter() - started
    finally:
        cl.close()


def sqlite_ledger(size: int, rebuild: bool) -> str:
    """A fresh copy of the cached ledger (erasures change it, so each run starts clean)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    base = CACHE / f"privacy-{size}.db"
    if rebuild or not base.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{base}{suffix}").unlink(missing_ok=True)
        print(f"  building a {size:,}-number ledger ...", flush=True)
        seconds = build(f"sqlite:///{base}", size)
        conn = sqlite3.connect(base)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
        conn.close()
        print(f"  built in {seconds:.0f} s", flush=True)
    work = CACHE / f"privacy-{size}.work.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base, work)
    return f"sqlite:///{work}"


def postgres_ledger(url: str, size: int) -> str:
    parsed = make_url(url)
    name = str(parsed.database)
    if parsed.host != "127.0.0.1" or not name.startswith("bench"):
        raise SystemExit("the PostgreSQL URL must be on 127.0.0.1, database named bench*")
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    admin = admin.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    print(f"  building a {size:,}-number ledger on PostgreSQL ...", flush=True)
    seconds = build(url, size)
    raw = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"  built in {seconds:.0f} s", flush=True)
    return url


def raw_lookup_us(url: str, numbers: list[str]) -> float:
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(str(make_url(url).database))
        sql = POINT_SQL.format(p="?")
    else:
        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        conn.autocommit = True
        sql = POINT_SQL.format(p="%s")
    cursor = conn.cursor()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter_ns()
        for number in numbers:
            cursor.execute(sql, (1, "sms", number)).fetchone()
        best = min(best, (time.perf_counter_ns() - started) / len(numbers) / 1000)
    conn.close()
    return best


def check_us(cl: consentline.Consentline, numbers: list[str]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter_ns()
        for number in numbers:
            cl.check(number, from_=LINE, purpose=PURPOSE)
        best = min(best, (time.perf_counter_ns() - started) / len(numbers) / 1000)
    return best


def check_many_s(cl: consentline.Consentline, numbers: list[str]) -> tuple[float, int]:
    best, allowed = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        allowed = sum(d.allowed for d in cl.check_many(numbers, from_=LINE, purpose=PURPOSE))
        best = min(best, time.perf_counter() - started)
    return best, allowed


def run(url: str, backend: str, size: int, sample: int, erasures: int) -> dict[str, Any]:
    rng = random.Random(11)
    numbers = [us_number(i) for i in rng.sample(range(size), sample)]
    cl = consentline.connect(url, erasure_key=KEY, cache_seconds=3600)
    try:
        for number in numbers[:2000]:  # warm the caches
            cl.check(number, from_=LINE, purpose=PURPOSE)
        before = {
            "raw_lookup_us": raw_lookup_us(url, numbers),
            "check_us": check_us(cl, numbers),
        }
        before["check_many_s"], allowed_before = check_many_s(cl, numbers)
        print(f"  before erasures: {before}", flush=True)
        opted_out = [i for i in range(size) if i % OPT_OUT_EVERY == OPT_OUT_PHASE]
        picks = rng.sample(opted_out, erasures // 2) + rng.sample(
            [i for i in range(0, size, 7) if i % OPT_OUT_EVERY != OPT_OUT_PHASE],
            erasures - erasures // 2,
        )
        timings: list[float] = []
        scrubs: list[float] = []
        real_scrub = client_module.scrub  # type: ignore[attr-defined]

        def timed_scrub(engine: Any) -> None:  # the file scrub, timed apart (SQLite)
            started = time.perf_counter()
            real_scrub(engine)
            scrubs.append((time.perf_counter() - started) * 1000)

        client_module.scrub = timed_scrub  # type: ignore[attr-defined]
        try:
            for i in picks:
                started = time.perf_counter()
                cl.erase(us_number(i), account=ACCOUNT)
                timings.append((time.perf_counter() - started) * 1000)
        finally:
            client_module.scrub = real_scrub  # type: ignore[attr-defined]
        timings.sort()
        scrubs.sort()
        erased_numbers = [us_number(i) for i in picks]
        mixed = erased_numbers + numbers[: sample - len(erased_numbers)]
        denied = sum(not cl.check(n, from_=LINE, purpose=PURPOSE).allowed for n in erased_numbers)
        assert denied == len(erased_numbers), "an erased number was allowed"
        after = {
            "raw_lookup_us": raw_lookup_us(url, numbers),
            "check_us": check_us(cl, mixed),
        }
        after["check_many_s"], _ = check_many_s(cl, mixed)
        print(f"  after {erasures} erasures: {after}", flush=True)
        p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
        return {
            "backend": backend,
            "ledger_numbers": size,
            "check_sample": sample,
            "erasures": erasures,
            "erase_ms": {
                "median": statistics.median(timings),
                "p95": p95,
                "max": timings[-1],
                "all": timings,
                "of_which_wal_checkpoint_median": statistics.median(scrubs) if scrubs else 0.0,
            },
            "before": before,
            "after": after,
            "check_ratio_before_vs_raw": before["check_us"] / before["raw_lookup_us"],
            "check_ratio_after_vs_before": after["check_us"] / before["check_us"],
            "check_many_ratio_after_vs_before": after["check_many_s"] / before["check_many_s"],
            "allowed_before": allowed_before,
            "target_erase_ms": 50,
            "environment": environment(),
        }
    finally:
        cl.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k ledger: a smoke run")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=os.environ.get("CONSENTLINE_BENCH_PRIVACY_POSTGRES_URL", DEFAULT_PG),
    )
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    size = 20_000 if args.quick else 1_000_000
    sample = 5_000 if args.quick else 100_000
    erasures = 10 if args.quick else 30
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    backends: list[tuple[str, str]] = []
    if not args.postgres_only:
        backends.append(("sqlite", sqlite_ledger(size, args.rebuild)))
    if not args.sqlite_only:
        try:
            backends.append(("postgres", postgres_ledger(args.postgres, size)))
        except psycopg.OperationalError as error:
            print(f"  PostgreSQL skipped: {error}".splitlines()[0])
    for name, url in backends:
        print(f"{name}: {size:,} numbers", flush=True)
        result = run(url, name, size, sample, erasures)
        path = RESULTS / f"privacy-{name}{suffix}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        e = result["erase_ms"]
        print(
            f"| {name} | erase median {e['median']:.1f} ms, p95 {e['p95']:.1f} ms (target 50)"
            f" | check {result['before']['check_us']:.1f} µs before,"
            f" {result['after']['check_us']:.1f} µs after"
            f" (raw lookup {result['before']['raw_lookup_us']:.1f} µs)"
            f" | check_many {result['before']['check_many_s']:.2f} s before,"
            f" {result['after']['check_many_s']:.2f} s after |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
