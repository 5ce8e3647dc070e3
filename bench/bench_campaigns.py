"""Campaign sends (issue 12): recording cost, the preview, attribution and the reports.

On a ledger of N numbers (default 1,000,000) with 2N events (N marketing opt-ins,
N/10 keyword STOPs, 0.9N opt-ins of a second purpose), in the same run:

1. ``check_many`` of the N numbers without a campaign (baseline) and with
   ``campaign=`` (recorded: counts + the reach in chunks), 5 interleaved pairs, best
   of each, recipients/s, wall and CPU time of this process. Target: with a campaign
   >= 150,000/s on SQLite; overhead < 10 %.
2. ``check_many(..., summary=True)`` of the N numbers, best of 3. Target <= 2 s.
3. (SQLite) 50 campaign sends in all (the 3 timed ones + 47 of 20,000 recipients),
   then 10,000 STOPs attributed by the job: opt-outs/s of ``attribute``.
4. (SQLite) ``campaigns_report`` and ``gateway_report`` (20,000 gateway decisions
   tallied over 30 days), best of 5, against a plain ``GROUP BY`` over the events table
   (``SELECT action, count(*) FROM events WHERE tenant_id=? GROUP BY action``).
   Target <= 500 ms each.

``python bench/bench_campaigns.py [--numbers N] [--postgres URL] [--out FILE]``.
SQLite: the built ledger is cached in bench/.cache/ and each run works on a copy.
PostgreSQL (``--postgres postgresql+psycopg://postgres@127.0.0.1:5432/DB``): the ledger
is built once in the schema ``bench_campaigns_<N>`` of that database (never any other
schema; ``--rebuild`` drops and rebuilds that one), and only parts 1 and 2 run there
(they do not change the ledger; the sends they record are deleted afterwards).
Results: bench/results/issue12/campaigns-<backend>[-N].json, or ``--out``.

The script uses only the public API and plain SQL, so it also runs against an older
checkout (``PYTHONPATH=<old>/src``) for a before/after comparison on the same ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

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
PAIRS = 5  # interleaved passes without and with a campaign


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


def build(url: str, n: int, analyze: Any = None) -> float:
    cl = consentline.connect(url)
    started = time.perf_counter()
    try:
        cl.create_account(ACCOUNT, default_region="US")
        cl.add_line(LINE, account=ACCOUNT)
        cl.set_purpose(ACCOUNT, SECOND, "restrictive")
        done = 0
        for batch in batched(requests(n), BUILD_BATCH):
            cl.record_many(batch)
            done += len(batch)
            if analyze is not None and (
                done in (BUILD_BATCH, 4 * BUILD_BATCH) or done % 100_000 == 0
            ):
                analyze()  # what autovacuum would do (it is off on these machines)
            if done % 200_000 == 0:
                print(f"    {done:,} events", flush=True)
    finally:
        cl.close()
    if analyze is not None:
        analyze()
    return time.perf_counter() - started


class Postgres:
    """The bench's own schema in a PostgreSQL database on 127.0.0.1."""

    def __init__(self, url: str, n: int) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql" or parsed.host != "127.0.0.1":
            raise SystemExit("--postgres takes a postgresql URL on 127.0.0.1")
        self.schema = f"bench_campaigns_{n}"
        self.libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self.url = (
            parsed.set(drivername="postgresql+psycopg")
            .update_query_dict({"options": f"-csearch_path={self.schema}"})
            .render_as_string(hide_password=False)
        )

    def raw(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.libpq, autocommit=True)
        conn.execute(f"SET search_path TO {self.schema}")
        return conn

    def built(self, n: int) -> bool:
        with self.raw() as conn:
            try:
                row = conn.execute("SELECT count(*) FROM consent_state").fetchone()
            except psycopg.Error:
                return False
        return bool(row) and int(row[0]) == n

    def rebuild(self, n: int) -> float:
        with psycopg.connect(self.libpq, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            conn.execute(f"CREATE SCHEMA {self.schema}")

        def analyze() -> None:
            with self.raw() as conn:
                conn.execute("ANALYZE")

        return build(self.url, n, analyze)

    def cleanup(self, tables: list[str]) -> None:
        """Delete the sends the run recorded (the ledger is left as built)."""
        with self.raw() as conn:
            for table in tables:
                conn.execute(f"DELETE FROM {table}")
            conn.execute("VACUUM ANALYZE")


def reach_tables(conn: Any) -> list[str]:
    """The reach table(s) of the schema this checkout made (before or after 0015)."""
    names = {"campaign_reach", "campaign_reach_chunks"}
    try:
        found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except Exception:  # PostgreSQL
        found = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    return sorted(names & {r[0] for r in found})


def reach_stats(conn: Any) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for table in reach_tables(conn):
        stats[f"{table} rows"] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if table == "campaign_reach_chunks":
            stats["chunk bytes"] = conn.execute(
                "SELECT sum(length(data)) FROM campaign_reach_chunks"
            ).fetchone()[0]
    return stats


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
    parser.add_argument("--postgres", help="a postgresql+psycopg URL on 127.0.0.1")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached ledger")
    parser.add_argument("--out", type=Path, help="where to write the JSON results")
    args = parser.parse_args(argv)
    n = args.numbers
    pg = Postgres(args.postgres, n) if args.postgres else None
    work = CACHE / f"campaigns-{n}-work.db"
    if pg is not None:
        if args.rebuild or not pg.built(n):
            print(f"building the ledger in {pg.schema} ({n:,} numbers) ...", flush=True)
            print(f"  built in {pg.rebuild(n):.0f} s", flush=True)
        url = pg.url
    else:
        CACHE.mkdir(parents=True, exist_ok=True)
        cached = CACHE / f"campaigns-{n}.db"
        if args.rebuild or not cached.exists():
            cached.unlink(missing_ok=True)
            print(f"building the ledger ({n:,} numbers, ~{2 * n:,} events) ...", flush=True)
            print(f"  built in {build(f'sqlite:///{cached}', n):.0f} s", flush=True)
        shutil.copy(cached, work)
        for suffix in ("-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{work}"
    clock_now = [datetime.now(UTC)]
    cl = consentline.connect(url, clock=lambda: clock_now[0])
    rows: list[dict[str, Any]] = []
    load = [os.getloadavg()[0]]
    try:
        numbers = [us_number(i) for i in range(n)]
        random.Random(12).shuffle(numbers)

        def consume(campaign: str | None) -> int:
            allowed = 0
            decision: Decision
            for decision in cl.check_many(numbers, from_=LINE, purpose=PURPOSE, campaign=campaign):
                allowed += decision.allowed
            return allowed

        def timed(campaign: str | None) -> tuple[float, float]:
            """(wall, CPU) seconds of one pass: the CPU time of this process leaves out
            the other processes of a busy machine (and the database server's work)."""
            wall, cpu = time.perf_counter(), time.process_time()
            consume(campaign)
            return time.perf_counter() - wall, time.process_time() - cpu

        consume(None)  # warm-up
        names = iter(f"timed-{i}" for i in range(100))
        plain, with_ = [], []
        for _ in range(PAIRS):  # interleaved, so a busy moment hits both sides
            plain.append(timed(None))
            clock_now[0] += timedelta(hours=1)
            with_.append(timed(next(names)))
        plain_s, with_s = min(w for w, _ in plain), min(w for w, _ in with_)
        plain_cpu, with_cpu = min(c for _, c in plain), min(c for _, c in with_)
        rows.append(
            {
                "name": "check_many, no campaign (recipients/s)",
                "value": n / plain_s,
                "seconds": plain_s,
                "cpu_seconds": plain_cpu,
                "runs": plain,
            }
        )
        rows.append(
            {
                "name": "check_many, campaign recorded (recipients/s)",
                "value": n / with_s,
                "seconds": with_s,
                "cpu_seconds": with_cpu,
                "runs": with_,
                "ratio": plain_s / with_s,
                "overhead": with_s / plain_s - 1,
                "cpu_overhead": with_cpu / plain_cpu - 1,
                "target": ">= 150,000/s, overhead < 10 %",
                "met": n / with_s >= 150_000 and with_s / plain_s - 1 < 0.10,
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
        load.append(os.getloadavg()[0])
        if pg is not None:
            with pg.raw() as conn:
                rows.append(
                    {
                        "name": "reach stored after the 3 timed sends",
                        "value": 0,
                        **reach_stats(conn),
                    }
                )
                tables = reach_tables(conn)
            pg.cleanup([*tables, "campaign_send_reasons", "campaign_sends"])
            return finish(rows, n, "postgres", args.out, load)
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
        rows.append({"name": "reach stored after 50 sends", "value": 0, **reach_stats(raw)})
        raw.close()
        load.append(os.getloadavg()[0])
    finally:
        cl.close()
    return finish(rows, n, "sqlite", args.out, load)


def finish(
    rows: list[dict[str, Any]], n: int, backend: str, out: Path | None, load: list[float]
) -> int:
    for row in rows:
        extra = {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in row.items()
            if k.endswith(("rows", "bytes", "overhead", "cpu_seconds"))
        }
        print(
            f"  {row['name']}: {row['value']:,.3f}"
            + (f"  (met: {row['met']})" if "met" in row else "")
            + (f"  {extra}" if extra else "")
        )
    print(f"  load average (1 min) during the run: {', '.join(f'{x:.1f}' for x in load)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"campaigns-{backend}" + ("" if n == 1_000_000 else f"-{n}") + ".json"
    target = out or RESULTS / name
    target.write_text(
        json.dumps(
            {"environment": environment(), "numbers": n, "load": load, "rows": rows}, indent=2
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
