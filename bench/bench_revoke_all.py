"""What the revoke-all rule (C16) costs the bulk check, against the rule off, same run.

A ledger where every other number holds a scoped opt-out (``STOP MARKETING``) is
checked for ``transactional`` three ways on the same data: the rule off, the rule
on with its date after every opt-out (nothing is widened: the row is read but its
fold is the old one), and the rule on with its date before them (every scoped
opt-out revokes everything). Rows without a scoped opt-out never pay anything
(measured by bench_core.py's check benchmarks).

    .venv/bin/python bench/bench_revoke_all.py [--numbers 20000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import consentline
from consentline import RecordRequest

LINE = "+18005550100"
GIVEN = datetime(2026, 6, 1, tzinfo=UTC)
STOPPED = datetime(2026, 7, 1, tzinfo=UTC)


def _build(path: Path, numbers: list[str]) -> None:
    cl = consentline.connect(f"sqlite:///{path}")
    try:
        cl.create_account("m", default_region="US")
        cl.add_line(LINE, account="m")
        for start in range(0, len(numbers), 5000):
            batch = numbers[start : start + 5000]
            cl.record_many(
                RecordRequest(n, "opt_in", account="m", purpose="marketing", occurred_at=GIVEN)
                for n in batch
            )
            cl.record_many(
                RecordRequest(n, "opt_out", account="m", purpose="marketing", occurred_at=STOPPED)
                for n in batch[::2]
            )
    finally:
        cl.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    numbers = [f"+1415{2_000_000 + n:07d}" for n in range(args.numbers)]
    cases = (
        ("rule off", None),
        ("rule on, date after the opt-outs", date(2026, 8, 1)),
        ("rule on, date before them (widened)", date(2026, 6, 15)),
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "revoke_all.db"
        _build(path, numbers)
        cl = consentline.connect(f"sqlite:///{path}")
        try:
            best: dict[str, float] = {}
            denied: dict[str, int] = {}
            for _ in range(args.repeats):  # interleaved: every case sees the same machine
                for label, day in cases:
                    cl.set_policy("m", revoke_all_from=day)
                    started = time.perf_counter()
                    found = cl.check_many(numbers, from_=LINE, purpose="transactional")
                    denied[label] = sum(not d.allowed for d in found)
                    elapsed = time.perf_counter() - started
                    best[label] = min(best.get(label, elapsed), elapsed)
        finally:
            cl.close()
    base = best["rule off"]
    print(f"\ncheck_many of {args.numbers:,} numbers, half with a scoped opt-out,", end=" ")
    print(f"best of {args.repeats}\n")
    print("| case | checks/s | vs rule off | transactional denied |")
    print("|---|---|---|---|")
    for label, _ in cases:
        rate = args.numbers / best[label]
        print(f"| {label} | {rate:,.0f} | {best[label] / base:.2f}× the time | {denied[label]:,} |")


if __name__ == "__main__":
    main()
