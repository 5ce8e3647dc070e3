"""Report latency on a large ledger, against a plain GROUP BY over ``events`` in the
same run (issue 12). Results: bench/results/issue12/reports-<backend>[-N].json.

    .venv/bin/python bench/bench_reports.py --sqlite-only            # 1,000,000 numbers
    .venv/bin/python bench/bench_reports.py --numbers 100000 --sqlite-only
    .venv/bin/python bench/bench_reports.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/bench_reports

The ledger: N numbers, 2N events over 365 days on 4 lines of two accounts (an opt-in
each, then an opt-out, lapse, pending or topic opt-in), sources import/api/web/keyword,
the keyword ones with a classifier proof (rule, language, provider_exact).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

import consentline
from consentline.services.recording import RecordRequest

LINES = ["+18005550100", "+18005550101", "+18005550102", "+18005550103"]
START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = START + timedelta(days=366)
RESULTS = Path(__file__).parent / "results" / "issue12"


def number(i: int) -> str:
    area = (212, 415, 646, 312, 617, 305, 702, 213, 404, 503)[i % 10]
    return f"+1{area}{200 + (i // 10) % 800:03d}{(i // 8000) % 10000:04d}"


def build(url: str, n: int) -> tuple[consentline.Consentline, float]:
    cl = consentline.connect(url, clock=lambda: NOW, cache_seconds=3600)
    cl.create_account("bench", default_region="US")
    cl.create_account("shop", parent="bench")
    for k, line in enumerate(LINES):
        cl.add_line(line, "bench" if k < 2 else "shop")
    began = time.perf_counter()
    step = 365 * 86400 / max(n, 1)
    second = ("opt_out", "opt_out", "lapse", "pending", "opt_in")
    sources = ("import", "api", "web", "keyword")
    batch: list[RecordRequest] = []

    def flush() -> None:
        cl.record_many(batch)
        batch.clear()

    for i in range(n):
        address, line = number(i), LINES[i % 4]
        when = START + timedelta(seconds=i * step)
        batch.append(
            RecordRequest(
                address,
                "opt_in",
                line=line,
                purpose="marketing",
                source="import",
                proof={"list": "crm", "row": i},
                occurred_at=when,
            )
        )
        action = second[i % 5]
        source = sources[(i // 5) % 4]
        proof: dict[str, object] = {"row": i}
        if source == "keyword" and action == "opt_out":
            proof = {
                "rule": "exact" if i % 3 else "phrase",
                "language": "en",
                "provider_exact": "opt_out" if i % 3 else "none",
                "received_on": line,
            }
        batch.append(
            RecordRequest(
                address,
                action,
                line=line,
                purpose="marketing",
                topic="news" if action == "opt_in" else None,
                source=source,
                proof=proof,
                occurred_at=when + timedelta(hours=6),
            )
        )
        if len(batch) >= 5000:
            flush()
    if batch:
        flush()
    return cl, time.perf_counter() - began


def timed(fn: object, runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def run(url: str, n: int, runs: int, reuse: bool = False) -> dict[str, object]:
    if reuse:  # a ledger this script (or bench_webui.py) built before
        cl, build_s = consentline.connect(url, clock=lambda: NOW, cache_seconds=3600), 0.0
    else:
        cl, build_s = build(url, n)
    if cl.engine.dialect.name == "postgresql":  # statistics, as autovacuum would gather
        with cl.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    since, until = START, NOW
    cases = {
        "opt_outs whole year, no grouping": {"kind": "opt_outs"},
        "opt_outs by line, day buckets, America/New_York": {
            "kind": "opt_outs",
            "by": "line",
            "bucket": "day",
            "timezone": "America/New_York",
        },
        "opt_outs by source,rule, month buckets, Asia/Kolkata": {
            "kind": "opt_outs",
            "by": "source,rule",
            "bucket": "month",
            "timezone": "Asia/Kolkata",
        },
        "opt_outs by line,purpose,topic, week buckets, UTC": {
            "kind": "opt_outs",
            "by": "line,purpose,topic",
            "bucket": "week",
        },
        "inbound by intent,rule": {"kind": "inbound", "by": "intent,rule"},
    }
    out: dict[str, object] = {}
    for name, spec in cases.items():
        kind = str(spec.pop("kind"))
        out[name] = timed(
            lambda k=kind, s=spec: cl.report(k, account="bench", since=since, until=until, **s),
            runs,
        )
    mid = START + timedelta(days=200, hours=7)
    out["snapshot by line at a moment"] = timed(
        lambda: cl.report("snapshot", account="bench", at=mid), runs
    )
    out["snapshot by line,purpose at a moment"] = timed(
        lambda: cl.report("snapshot", account="bench", by="line,purpose", at=mid), runs
    )
    # Baselines: a plain GROUP BY over the events table, same window, same run.
    day = 86_400_000_000
    lo, hi = int(since.timestamp() * 1e6), int(until.timestamp() * 1e6)
    baselines = {
        "GROUP BY events: action (whole window)": (
            "SELECT action, count(*) FROM events WHERE tenant_id = :t AND occurred_us >= :lo"
            " AND occurred_us < :hi GROUP BY action"
        ),
        "GROUP BY events: scope, action, day (fixed -5h offset)": (
            "SELECT scope, action, (occurred_us - 18000000000) / :day, count(*) FROM events"
            " WHERE tenant_id = :t AND occurred_us >= :lo AND occurred_us < :hi"
            " GROUP BY scope, action, (occurred_us - 18000000000) / :day"
        ),
        "count(*) consent_state (a floor for any scan-based snapshot)": (
            "SELECT count(*) FROM consent_state WHERE tenant_id = :t"
        ),
    }
    tenant = cl.directory().account("bench").tenant_id
    with cl.engine.connect() as conn:
        for name, sql in baselines.items():
            out[name] = timed(
                lambda q=sql: conn.execute(
                    text(q), {"t": tenant, "lo": lo, "hi": hi, "day": day}
                ).all(),
                runs,
            )
        sizes = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            for table in ("events", "consent_state", "report_counts", "report_states")
        }
    check = cl.report("opt_outs", account="bench", since=since, until=until).totals()
    cl.close()
    return {"results": out, "build_s": round(build_s, 1), "rows": sizes, "totals": check}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--sqlite-path", default="/tmp/consentline-bench-reports.db")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the ledger already at --sqlite-path / --postgres (built by this"
        " script or bench_webui.py) instead of building one",
    )
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    targets = []
    if not args.postgres:
        targets.append(("sqlite", f"sqlite:///{args.sqlite_path}"))
    if args.postgres and not args.sqlite_only:
        targets.append(("postgresql", args.postgres))
    for backend, url in targets:
        if backend == "sqlite" and not args.reuse:
            Path(args.sqlite_path).unlink(missing_ok=True)
        result = run(url, args.numbers, args.runs, args.reuse)
        result["env"] = {"python": platform.python_version(), "numbers": args.numbers}
        suffix = "" if args.numbers == 1_000_000 else f"-{args.numbers}"
        path = RESULTS / f"reports-{backend}{suffix}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"## {backend}, {args.numbers:,} numbers (build {result['build_s']} s)")
        print(f"rows: {result['rows']}")
        for name, figures in result["results"].items():  # type: ignore[union-attr]
            print(f"| {name} | {figures['median_ms']} ms | max {figures['max_ms']} ms |")


if __name__ == "__main__":
    main()
