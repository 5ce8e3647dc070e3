"""Import benchmark (issue 11): a CSV with proof columns into a fresh ledger, against
``record_many`` of the same rows in the same run.

1. ``cl.import_records`` of N rows (default 1,000,000; ``--quick``: 100,000) with
   proof columns (consent text, form URL, IP, user agent), a timestamp and a CRM
   contact id per row, on a fresh SQLite database (WAL, ``synchronous=FULL``) and on
   PostgreSQL (``synchronous_commit=on``): rows/s, peak RSS. The import as it runs
   by default (planned in line), and beside it the same import planned in a second
   process (``in_process=False``) on a database of its own.
2. The same file again: every row ``unchanged`` (rows/s).
3. Baseline: ``record_many`` of the same rows (as RecordRequests, batches of 5,000)
   on another fresh database (a subset of ``--baseline-rows``, default 100,000):
   events/s, and the ratio import / record_many.

Results: a Markdown table on stdout and JSON in bench/results/issue11/. Only
127.0.0.1 is contacted. See bench/README.md ("Import").
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

import consentline
from consentline.services.recording import RecordRequest

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "issue11"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_import"
AREAS = (212, 415, 646, 312, 617, 202, 305, 713, 206, 303)
_PER = len(AREAS) * 800
HEADER = ["Id", "Phone", "Status", "ConsentedAt", "ConsentText", "FormUrl", "IP", "UserAgent"]
MAPPING = {
    "address": "Phone",
    "action": "Status",
    "occurred_at": "ConsentedAt",
    "contact_ref": "Id",
    "proof.consent_text": "ConsentText",
    "proof.form_url": "FormUrl",
    "proof.ip": "IP",
    "proof.user_agent": "UserAgent",
}
VALUES = {"Status": {"Subscribed": "opt_in", "Unsubscribed": "opt_out"}}
T0 = datetime(2025, 1, 1, tzinfo=UTC)
TEXT = "Yes, send me Acme offers by text. Msg & data rates may apply. Reply STOP to end."
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"


def number(i: int) -> str:
    k = i // _PER
    line = (k * 7919 + 1234) % 10_000
    return f"+1{AREAS[i % len(AREAS)]}{200 + (i // len(AREAS)) % 800}{line:04d}"


def row(i: int) -> list[str]:
    status = "Unsubscribed" if i % 10 == 7 else "Subscribed"
    at = (T0 + timedelta(seconds=i * 7)).isoformat().replace("+00:00", "Z")
    return [
        f"003{i:012d}",
        number(i),
        status,
        at,
        TEXT,
        f"https://acme.example/join?c={i % 50}",
        f"198.51.{i % 256}.{(i // 256) % 256}",
        UA,
    ]


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(row(i))


def requests(start: int, stop: int) -> Iterator[RecordRequest]:
    for i in range(start, stop):
        r = row(i)
        yield RecordRequest(
            address=r[1],
            action="opt_out" if r[2] == "Unsubscribed" else "opt_in",
            account="bench",
            source="import",
            proof={"consent_text": r[4], "form_url": r[5], "ip": r[6], "user_agent": r[7]},
            occurred_at=datetime.fromisoformat(r[3]),
            idempotency_key=f"rm:{i}",
            contact_ref=f"default:{r[0]}",
        )


def fresh(url: str) -> consentline.Consentline:
    cl = consentline.connect(url, cache_seconds=3600)
    cl.create_account("bench", default_region="US")
    cl.add_line("+18005550100", account="bench")
    return cl


def reset_pg(url: str) -> bool:
    parsed = make_url(url)
    name = parsed.database or ""
    if parsed.host != "127.0.0.1" or not name.startswith("bench"):
        raise SystemExit("the benchmark database must be on 127.0.0.1 and named bench*")
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
        return False
    return True


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def analyzer(cl: consentline.Consentline) -> Any:
    """PostgreSQL here runs without autovacuum: ANALYZE after 5k and 20k rows and every
    100k, as autovacuum would (bench_core does the same for its ledger build); without
    statistics the planner scans whole tables for the chunk's IN lists."""
    if cl.engine.dialect.name != "postgresql":
        return None
    marks = {5_000, 20_000}

    def on_chunk(report: Any) -> None:
        if report.rows in marks or report.rows % 100_000 == 0:
            with cl.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()

    return on_chunk


def child(url: str, path: Path, rows: int, verify: bool, in_process: bool) -> None:
    """The import and its re-run, alone in this process (so its peak RSS is theirs);
    ``in_process`` False plans the rows in a second process."""
    cl = fresh(url)
    t, c = time.perf_counter(), time.process_time()
    report = cl.import_records(
        path,
        account="bench",
        mapping=MAPPING,
        values=VALUES,
        on_chunk=analyzer(cl),
        in_process=in_process,
    )
    first, first_cpu = time.perf_counter() - t, time.process_time() - c
    rss = peak_rss_mb()
    # The planner process's own peak (0 when planned in line): the two at once at most.
    planner_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert report.written == rows and report.errors == 0, report.as_dict()
    t, c = time.perf_counter(), time.process_time()
    again = cl.import_records(path, account="bench", mapping=MAPPING, values=VALUES)
    rerun, rerun_cpu = time.perf_counter() - t, time.process_time() - c
    assert again.unchanged == rows and again.written == 0, again.as_dict()
    rss_rerun = peak_rss_mb()
    ok = cl.verify().ok if verify else None  # verify holds the whole chain: after the RSS
    cl.close()
    print(
        json.dumps(
            {
                "first": first,
                "first_cpu": first_cpu,
                "rerun": rerun,
                "rerun_cpu": rerun_cpu,
                "rss": rss,
                "planner_rss": planner_rss,
                "rss_rerun": rss_rerun,
                "ok": ok,
            }
        )
    )


def run_child(url: str, path: Path, rows: int, verify: bool, planner: bool) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", url, str(path), str(rows)]
        + (["--verify"] if verify else [])
        + (["--planner"] if planner else []),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the import failed:\n{done.stderr[-4000:]}")
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def bench_backend(
    name: str, url_for: Any, path: Path, rows: int, baseline: int, verify: bool
) -> dict[str, Any]:
    measured = run_child(url_for("import"), path, rows, verify, planner=False)
    # The same file planned in a second process, on a database of its own.
    planned = run_child(url_for("planner"), path, rows, False, planner=True)
    first, rerun, rss, ok = measured["first"], measured["rerun"], measured["rss"], measured["ok"]

    base = fresh(url_for("record"))
    n = min(rows, baseline)
    analyze = analyzer(base)
    t, c = time.perf_counter(), time.process_time()
    for start in range(0, n, 5000):
        base.record_many(requests(start, min(n, start + 5000)))
        if analyze is not None:
            analyze(type("Done", (), {"rows": start + 5000})())
    record_s, record_cpu = time.perf_counter() - t, time.process_time() - c
    base.close()
    result = {
        "backend": name,
        "rows": rows,
        "import_s": round(first, 2),
        "import_rows_per_s": round(rows / first),
        "import_cpu_s": round(measured["first_cpu"], 2),
        "import_cpu_rows_per_s": round(rows / measured["first_cpu"]),
        "import_planner_rows_per_s": round(rows / planned["first"]),
        "import_planner_cpu_rows_per_s": round(rows / planned["first_cpu"]),
        "rerun_s": round(rerun, 2),
        "rerun_rows_per_s": round(rows / rerun),
        "rerun_cpu_rows_per_s": round(rows / measured["rerun_cpu"]),
        "peak_rss_mb": round(rss, 1),
        "peak_rss_with_planner_mb": round(planned["rss"] + planned["planner_rss"], 1),
        "peak_rss_after_rerun_mb": round(measured["rss_rerun"], 1),
        "record_many_events": n,
        "record_many_s": round(record_s, 2),
        "record_many_events_per_s": round(n / record_s),
        "record_many_cpu_events_per_s": round(n / record_cpu),
        "ratio_import_over_record_many": round((rows / first) / (n / record_s), 2),
        "verify_ok": ok,
    }
    print(json.dumps(result), flush=True)
    return result


def environment() -> dict[str, Any]:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        rev = "?"
    return {
        "git": rev,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 rows, 20,000 baseline")
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument(
        "--postgres", default=os.environ.get("CONSENTLINE_BENCH_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--verify", action="store_true", help="verify the imported chain too")
    parser.add_argument("--child", nargs=3, metavar=("URL", "FILE", "ROWS"), help=argparse.SUPPRESS)
    parser.add_argument("--planner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, file, count = args.child
        child(url, Path(file), int(count), args.verify, not args.planner)
        return
    rows = 100_000 if args.quick else args.rows
    baseline = 20_000 if args.quick else args.baseline_rows
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        path = work / "contacts.csv"
        t = time.perf_counter()
        write_csv(path, rows)
        print(
            f"wrote {rows:,} rows ({path.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - t:.1f} s",
            file=sys.stderr,
        )
        if not args.postgres_only:
            results.append(
                bench_backend(
                    "sqlite",
                    lambda kind: f"sqlite:///{work / kind}.db",
                    path,
                    rows,
                    baseline,
                    args.verify or args.quick,
                )
            )
        if not args.sqlite_only:
            base = make_url(args.postgres)
            urls = {
                k: base.set(database=f"{base.database}_{k}")
                for k in ("import", "planner", "record")
            }
            if all(reset_pg(u.render_as_string(hide_password=False)) for u in urls.values()):
                results.append(
                    bench_backend(
                        "postgres",
                        lambda kind: urls[kind].render_as_string(hide_password=False),
                        path,
                        rows,
                        baseline,
                        args.verify or args.quick,
                    )
                )
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ("" if rows == 1_000_000 else f"-{rows}")
    only = "-sqlite" if args.sqlite_only else ("-postgres" if args.postgres_only else "")
    out = RESULTS / f"import{suffix}{only}.json"
    out.write_text(json.dumps({"env": environment(), "results": results}, indent=2) + "\n")
    print(
        "\n| backend | rows | import rows/s (CPU) | with a planner process rows/s (CPU of"
        " the importer) | re-run rows/s (CPU) | peak RSS MB (with a planner process) |"
        " record_many ev/s (CPU) | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['rows']:,} | {r['import_rows_per_s']:,}"
            f" ({r['import_cpu_rows_per_s']:,}) | {r['import_planner_rows_per_s']:,}"
            f" ({r['import_planner_cpu_rows_per_s']:,}) | {r['rerun_rows_per_s']:,}"
            f" ({r['rerun_cpu_rows_per_s']:,}) | {r['peak_rss_mb']}"
            f" ({r['peak_rss_with_planner_mb']}) | "
            f"{r['record_many_events_per_s']:,} ({r['record_many_cpu_events_per_s']:,}) | "
            f"{r['ratio_import_over_record_many']}x |"
        )


if __name__ == "__main__":
    main()
