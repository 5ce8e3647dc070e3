"""The bulk-check table scan (StateReader.scan_table) at 1M rows, with the GC as it is.

storage/fastpath.scan_table used to pause the cyclic garbage collector for the
whole process while it built a million row tuples; in a threaded server that
pauses it for every thread. This measures the scan with the collector left alone,
against the same scan with it paused (the old way), in the same run:

    .venv/bin/python bench/bench_scan_gc.py [--rows 1000000] [--repeats 5]

A background thread allocates cyclic garbage during each scan, as other requests
would.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

import consentline
from consentline.storage.fastpath import StateReader


def _build(path: Path, rows: int) -> None:
    consentline.connect(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO consent_state (tenant_id, channel, address, shape, ids, times, max_us)"
            " VALUES (1, 'sms', ?, 'i', '1', '1', 1)",
            ((f"+1415{n:07d}",) for n in range(rows)),
        )


def _scan_once(reader: StateReader, paused: bool) -> float:
    stop = threading.Event()

    def churn() -> None:  # another request's garbage: small reference cycles
        while not stop.is_set():
            for _ in range(1000):
                a: list[object] = []
                a.append(a)
            time.sleep(0.001)

    other = threading.Thread(target=churn)
    if paused:
        gc.disable()
    other.start()
    try:
        started = time.perf_counter()
        table = reader.scan_table(1, "sms")
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        other.join()
        if paused:
            gc.enable()
    assert table
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scan.db"
        _build(path, args.rows)
        cl = consentline.connect(f"sqlite:///{path}")
        reader = StateReader(cl.engine)
        results: dict[str, list[float]] = {"gc paused (before)": [], "gc running (after)": []}
        for _ in range(args.repeats):  # interleaved, so load changes hit both sides
            for label, paused in (("gc paused (before)", True), ("gc running (after)", False)):
                results[label].append(_scan_once(reader, paused))
        reader.close()
        cl.close()
    for label, times in results.items():
        print(
            f"{label:22s} scan_table {args.rows:,} rows: median {statistics.median(times):.3f} s"
            f" (min {min(times):.3f}, max {max(times):.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
