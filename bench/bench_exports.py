"""Export benchmarks (issue 11), each against a baseline measured in the same run.

1. ``cl.subject_export(number)`` in the 1,000,000-number ledger of bench_core.py
   (plus inbound STOPs, their replies and review items for some numbers): median
   and p95 latency over sampled numbers, against ``cl.history(number)`` (one
   indexed read of the same events). Target: <= 50 ms.
2. ``cl.export_events`` of the whole tenant (1.1M+ events) written as JSONL:
   events/s and the process's resident memory sampled as the export runs (flat:
   one page is held at a time), against a plain ``SELECT ... ORDER BY seq`` on a
   bare sqlite3 connection written as JSON lines; then ``check_export`` of the
   file (offline verify) in events/s.
3. ``cl.snapshot`` of the line for ``marketing``: rows/s, against ``check_many`` of
   the same million numbers (the same answers, asserted).

SQLite only (the cached ledger of bench_core.py, copied so it is left as it was).
``--quick``: the 20k ledger. Results: Markdown on stdout, JSON and Markdown in
bench/results/issue11/. Only 127.0.0.1 is ever contacted (nothing is, here).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_core as core  # noqa: E402
import consentline  # noqa: E402
from consentline.domain.exports import check_export, dump_line  # noqa: E402
from consentline.services.inbound import InboundMessage  # noqa: E402

RESULTS = HERE / "results" / "issue11"


def rss_mb() -> float:
    """The process's resident memory now (not the peak), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def add_inbound(cl: consentline.Consentline, numbers: Sequence[str]) -> float:
    """STOPs (and some ambiguous replies, which go to review) from ``numbers``."""
    started = time.perf_counter()
    texts = ("STOP", "cancel my appointment")
    for start in range(0, len(numbers), 1000):
        cl.handle_inbound_many(
            InboundMessage(
                from_=n,
                to=core.LINE,
                text=texts[(start + i) % 2],
                provider="api",
                message_id=f"bench-{start + i}",
            )
            for i, n in enumerate(numbers[start : start + 1000])
        )
    return time.perf_counter() - started


def bench_subject(
    cl: consentline.Consentline, sample: Sequence[str], repeats: int
) -> dict[str, Any]:
    for number in sample[:50]:  # warm-up: caches, the page cache
        cl.subject_export(number, account=core.ACCOUNT)
        cl.history(number, account=core.ACCOUNT)
    subject: list[float] = []
    history: list[float] = []
    for _ in range(repeats):
        for number in sample:
            t0 = time.perf_counter()
            cl.subject_export(number, account=core.ACCOUNT)
            t1 = time.perf_counter()
            cl.history(number, account=core.ACCOUNT)
            t2 = time.perf_counter()
            subject.append((t1 - t0) * 1000)
            history.append((t2 - t1) * 1000)
    return {
        "calls": len(subject),
        "subject_ms_median": statistics.median(subject),
        "subject_ms_p95": percentile(subject, 95),
        "subject_ms_max": max(subject),
        "history_ms_median": statistics.median(history),
        "history_ms_p95": percentile(history, 95),
    }


def bench_export(cl: consentline.Consentline, path: Path, out: Path) -> dict[str, Any]:
    samples: list[tuple[int, float]] = [(0, rss_mb())]
    started = time.perf_counter()
    events = 0
    with out.open("w", encoding="utf-8") as handle:
        for record in cl.export_events(account=core.ACCOUNT):
            handle.write(dump_line(record) + "\n")
            if record["type"] == "event":
                events += 1
                if events % 100_000 == 0:
                    samples.append((events, rss_mb()))
    export_s = time.perf_counter() - started
    samples.append((events, rss_mb()))

    # Baseline: the plain query and a JSON line per row, on a bare connection.
    started = time.perf_counter()
    raw = sqlite3.connect(path)
    columns = None
    rows = 0
    with open(os.devnull, "w") as sink:
        cursor = raw.execute("SELECT * FROM events WHERE tenant_id = ? ORDER BY seq", (1,))
        columns = [c[0] for c in cursor.description]
        for row in cursor:
            sink.write(json.dumps(dict(zip(columns, row, strict=True))) + "\n")
            rows += 1
    raw.close()
    baseline_s = time.perf_counter() - started

    started = time.perf_counter()
    with out.open(encoding="utf-8") as handle:
        report = check_export(handle)
    verify_s = time.perf_counter() - started
    assert report.ok and report.events == events == rows, (report.problems[:3], events, rows)
    rss = [mb for _, mb in samples]
    return {
        "events": events,
        "export_s": export_s,
        "export_events_per_s": events / export_s,
        "baseline_events_per_s": rows / baseline_s,
        "ratio": (events / export_s) / (rows / baseline_s),
        "verify_events_per_s": events / verify_s,
        "file_mb": out.stat().st_size / 1e6,
        "rss_samples_mb": samples,
        "rss_start_mb": rss[0],
        "rss_after_first_page_mb": rss[1] if len(rss) > 2 else rss[-1],
        "rss_max_mb": max(rss),
        "rss_end_mb": rss[-1],
    }


def bench_snapshot(cl: consentline.Consentline, numbers: Sequence[str]) -> dict[str, Any]:
    started = time.perf_counter()
    statuses: dict[str, int] = {}
    rows = 0
    for row in cl.snapshot(lines=[core.LINE], purposes=[core.PURPOSE]):
        statuses[row.status] = statuses.get(row.status, 0) + 1
        rows += 1
    snapshot_s = time.perf_counter() - started
    started = time.perf_counter()
    allowed = sum(d.allowed for d in cl.check_many(numbers, from_=core.LINE, purpose=core.PURPOSE))
    check_s = time.perf_counter() - started
    assert statuses.get("opted_in", 0) == allowed, (statuses, allowed)
    return {
        "rows": rows,
        "statuses": statuses,
        "snapshot_s": snapshot_s,
        "snapshot_rows_per_s": rows / snapshot_s,
        "check_many_s": check_s,
        "check_many_per_s": len(numbers) / check_s,
        "ratio": (rows / snapshot_s) / (len(numbers) / check_s),
    }


def markdown(result: dict[str, Any]) -> str:
    s, e, n = result["subject"], result["export"], result["snapshot"]
    size = result["ledger_numbers"]
    ratio = s["subject_ms_median"] / s["history_ms_median"]
    return "\n".join(
        [
            f"### Exports, SQLite, {size:,}-number ledger ({result['events_in_ledger']:,} events)",
            "",
            "| measure | consentline | baseline (same run) | ratio | target |",
            "|---|---|---|---|---|",
            f"| subject export, median | {s['subject_ms_median']:.2f} ms | history "
            f"{s['history_ms_median']:.2f} ms | {ratio:.1f}x"
            f" | <= 50 ms (p95): {'met' if s['subject_ms_p95'] <= 50 else 'NOT met'} |",
            f"| subject export, p95 | {s['subject_ms_p95']:.2f} ms | history "
            f"{s['history_ms_p95']:.2f} ms | | |",
            f"| full export (JSONL) | {e['export_events_per_s']:,.0f} events/s | plain SELECT + "
            f"json.dumps {e['baseline_events_per_s']:,.0f} events/s | {e['ratio']:.2f} | |",
            f"| RSS during the export | start {e['rss_start_mb']:.0f} MB, after 100k "
            f"{e['rss_after_first_page_mb']:.0f} MB, max {e['rss_max_mb']:.0f} MB, end "
            f"{e['rss_end_mb']:.0f} MB | | | flat |",
            f"| verify --file (offline) | {e['verify_events_per_s']:,.0f} events/s | | | |",
            f"| snapshot (1 line, marketing) | {n['snapshot_rows_per_s']:,.0f} rows/s | check_many "
            f"{n['check_many_per_s']:,.0f} numbers/s | {n['ratio']:.2f} | |",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the 20k ledger: a smoke run")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached ledger")
    parser.add_argument("--sample", type=int, default=0, help="numbers to subject-export")
    args = parser.parse_args(argv)
    size = 20_000 if args.quick else 1_000_000
    inbound = 2_000 if args.quick else 20_000
    sample_size = args.sample or (200 if args.quick else 1_000)
    backend = core.SqliteBackend(size)
    meta, _built = core.ensure_ledger(backend, size, args.rebuild)
    numbers = [core.us_number(i) for i in range(size)]
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp:
        copy = Path(tmp) / "ledger.db"
        shutil.copyfile(backend.path, copy)
        cl = consentline.connect(f"sqlite:///{copy}")
        try:
            rng = random.Random(11)
            talking = rng.sample(numbers, inbound)
            print(f"  adding {inbound:,} inbound replies ...", flush=True)
            inbound_s = add_inbound(cl, talking)
            sample = rng.sample(talking, sample_size // 2) + rng.sample(numbers, sample_size // 2)
            rng.shuffle(sample)
            print("  subject export ...", flush=True)
            subject = bench_subject(cl, sample, repeats=1)
            print(f"    median {subject['subject_ms_median']:.2f} ms", flush=True)
            print("  full export ...", flush=True)
            export = bench_export(cl, copy, Path(tmp) / "export.jsonl")
            print(f"    {export['export_events_per_s']:,.0f} events/s", flush=True)
            print("  snapshot ...", flush=True)
            snapshot = bench_snapshot(cl, numbers)
            events = export["events"]
        finally:
            cl.close()
    result = {
        "benchmark": "exports",
        "backend": "sqlite",
        "quick": args.quick,
        "ledger_numbers": size,
        "events_in_ledger": events,
        "inbound_added": inbound,
        "inbound_seconds": inbound_s,
        "ledger_build": meta,
        "subject": subject,
        "export": export,
        "snapshot": snapshot,
        "environment": {
            "git": core.git_revision(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "exports-sqlite" + ("-quick" if args.quick else "")
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (RESULTS / f"{stem}.md").write_text(table)
    print(table)
    return 0 if subject["subject_ms_p95"] <= 50 else 1


if __name__ == "__main__":
    raise SystemExit(main())
