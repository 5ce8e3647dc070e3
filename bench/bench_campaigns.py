"""Campaign sends (issue 12): recording cost, the preview, attribution and the reports.

On a ledger of N numbers (default 1,000,000) with 2N events (N marketing opt-ins,
N/10 keyword STOPs, 0.9N opt-ins of a second purpose), in the same run:

1. ``check_many`` of the N numbers without a campaign (baseline) and with
   ``campaign=`` (recorded: counts + reach upserts), best of 3, recipients/s.
   Target: with a campaign >= 150,000/s on SQLite.
2. ``check_many(..., summary=True)`` of the N numbers, best of 3. Target <= 2 s.
3. 50 campaign sends in all (the 3 timed ones + 47 of 20,000 recipients), then
   10,000 STOPs attributed by the job: opt-outs/s of ``attribute``.
4. ``campaigns_report`` and ``gateway_report`` (20,000 gateway decisions tallied over
   30 days), best of 5, against a plain ``GROUP BY`` over the events table
   (``SELECT action, count(*) FROM events WHERE tenant_id=? GROUP BY action``).
   Target <= 500 ms each.

``python bench/bench_campaigns.py [--numbers N]`` (SQLite; the built ledger is cached
in bench/.cache/). Results: bench/results/issue12/campaigns-sqlite[-N].json.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import consentline
from bench_core import ACCOUNT, BUILD_BATCH, LINE, PURPOSE, batched, environment, us_number
from consentline.domain.policy import Decision
from consentline.domain.reports import ReportQuery
from consentline.services import campaigns
from consentline.services.recording import RecordRequest
from consentline.services.report_campaigns import campaigns_report, gateway_report

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
RESULTS = HERE / "results" / "issue12"
SECOND = "alerts"


def requests(n: int) -> Any:
    for i in range(n):
        yield RecordRequest(
            us_number(i),
            "opt_in",
            account=ACCOUNT,
            purpose=PURPOSE,
            source="import",
            proof={"list": "crm", "row": i},
        )
    for i in range(7, n, 10):
        yield RecordRequest(
            us_number(i), "opt_out", via=LINE, source="keyword", proof={"keyword": "STOP"}
        )
    for i in range(n):
        if i % 10 != 7:
            yield RecordRequest(
                us_number(i),
                "opt_in",
                account=ACCOUNT,
                purpose=SECOND,
                source="import",
                proof={"list": "crm", "row": i},
            )


def build(path: Path, n: int) -> float:
    if path.exists():
        path.unlink()
    cl = consentline.connect(f"sqlite:///{path}")
    started = time.perf_counter()
    try:
        cl.create_account(ACCOUNT, default_region="US")
        cl.add_line(LINE, account=ACCOUNT)
        cl.set_purpose(ACCOUNT, SECOND, "restrictive")
        done = 0
        for batch in batched(requests(n), BUILD_BATCH):
            cl.record_many(batch)
            done += len(batch)
            if done % 200_000 == 0:
                print(f"    {done:,} events", flush=True)
    finally:
        cl.close()
    return time.perf_counter() - started


def best(fn: Any, repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    n = args.numbers
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"campaigns-{n}.db"
    if not cached.exists():
        print(f"building the ledger ({n:,} numbers, ~{2 * n:,} events) ...", flush=True)
        build_s = build(cached, n)
        print(f"  built in {build_s:.0f} s", flush=True)
    work = CACHE / f"campaigns-{n}-work.db"
    shutil.copy(cached, work)
    for suffix in ("-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    clock_now = [datetime.now(UTC)]
    cl = consentline.connect(f"sqlite:///{work}", clock=lambda: clock_now[0])
    rows: list[dict[str, Any]] = []
    try:
        numbers = [us_number(i) for i in range(n)]
        random.Random(12).shuffle(numbers)

        def consume(campaign: str | None) -> int:
            allowed = 0
            decision: Decision
            for decision in cl.check_many(numbers, from_=LINE, purpose=PURPOSE, campaign=campaign):
                allowed += decision.allowed
            return allowed

        consume(None)  # warm-up
        names = iter(f"timed-{i}" for i in range(100))
        plain_s = with_s = float("inf")
        for _ in range(3):  # interleaved, so a busy moment hits both sides
            plain_s = min(plain_s, best(lambda: consume(None), 1)[0])
            clock_now[0] += timedelta(hours=1)
            with_s = min(with_s, best(lambda: consume(next(names)), 1)[0])
        rows.append(
            {
                "name": "check_many, no campaign (recipients/s)",
                "value": n / plain_s,
                "seconds": plain_s,
            }
        )
        rows.append(
            {
                "name": "check_many, campaign recorded (recipients/s)",
                "value": n / with_s,
                "seconds": with_s,
                "ratio": plain_s / with_s,
                "target": ">= 150,000/s",
                "met": n / with_s >= 150_000,
            }
        )
        summary_s, preview = best(
            lambda: cl.check_many(numbers, from_=LINE, purpose=PURPOSE, summary=True), 3
        )
        rows.append(
            {
                "name": f"summary preview of {n:,} (s)",
                "value": summary_s,
                "target": "<= 2 s",
                "met": summary_s <= 2.0,
                "preview": preview,
            }
        )
        # 50 sends in all: 3 timed + 47 small ones.
        for i in range(47):
            clock_now[0] += timedelta(hours=6)
            list(
                cl.check_many(
                    numbers[i * 20_000 : (i + 1) * 20_000],
                    from_=LINE,
                    purpose=PURPOSE,
                    campaign=f"weekly-{i}",
                )
            )
        clock_now[0] += timedelta(minutes=30)
        stops = [
            RecordRequest(
                numbers[i], "opt_out", via=LINE, source="keyword", proof={"keyword": "STOP"}
            )
            for i in range(0, min(200_000, n), 20)
        ]
        for batch in batched(iter(stops), BUILD_BATCH):
            cl.record_many(batch)
        started = time.perf_counter()
        read = 0
        while True:
            got = campaigns.attribute(cl.units, cl.directory(), now=clock_now[0])
            if not got:
                break
            read += got
        attribute_s = time.perf_counter() - started
        rows.append(
            {
                "name": "attribution (opt-outs attributed/s)",
                "value": read / attribute_s,
                "events": read,
                "seconds": attribute_s,
            }
        )
        line = cl.directory().line(LINE)
        gateway_at = clock_now[0] - timedelta(days=30)
        checks = numbers[:20_000]
        started = time.perf_counter()
        for i, number in enumerate(checks):
            decision = cl.check(number, from_=LINE, purpose=PURPOSE)
            with cl.units() as uow:
                campaigns.record_gateway(
                    uow,
                    line,
                    decision,
                    purpose=PURPOSE,
                    campaign=None,
                    now=gateway_at + timedelta(seconds=i * 130),
                )
                uow.commit()
        gateway_s = time.perf_counter() - started
        rows.append(
            {
                "name": "gateway decision stored (ms each, check + tally)",
                "value": gateway_s / len(checks) * 1000,
            }
        )
        directory = cl.directory()
        for kind, function in (("campaigns", campaigns_report), ("gateway", gateway_report)):
            query = ReportQuery(
                kind=kind, account=ACCOUNT, bucket="day", timezone="America/New_York"
            )

            def run(function: Any = function, query: ReportQuery = query) -> Any:
                with cl.units(write=False) as uow:
                    return function(uow, directory, query)

            seconds, report = best(run, 5)
            rows.append(
                {
                    "name": f"{kind} report (ms)",
                    "value": seconds * 1000,
                    "rows": len(report),
                    "target": "<= 500 ms",
                    "met": seconds <= 0.5,
                }
            )
        raw = sqlite3.connect(work)
        tenant = directory.account(ACCOUNT).tenant_id

        def group_by() -> Any:
            return raw.execute(
                "SELECT action, count(*) FROM events WHERE tenant_id = ? GROUP BY action", (tenant,)
            ).fetchall()

        seconds, grouped = best(group_by, 3)
        events = sum(c for _, c in grouped)
        rows.append(
            {
                "name": f"baseline: plain GROUP BY over the {events:,} events (ms)",
                "value": seconds * 1000,
            }
        )
        reach = raw.execute("SELECT count(*) FROM campaign_reach").fetchone()[0]
        rows.append({"name": "campaign_reach rows after 50 sends", "value": reach})
        raw.close()
    finally:
        cl.close()
    for row in rows:
        print(
            f"  {row['name']}: {row['value']:,.3f}"
            + (f"  (met: {row['met']})" if "met" in row else "")
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("campaigns-sqlite.json" if n == 1_000_000 else f"campaigns-sqlite-{n}.json")
    out.write_text(
        json.dumps({"environment": environment(), "numbers": n, "rows": rows}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
