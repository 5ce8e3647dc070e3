"""The web UI's heavy pages, each against a baseline measured in the same run (issue 13).

1. The contact page of a number with 5,000 events (target <= 150 ms): renders
   ``GET /ui/contacts/{number}`` (a signed-in operator, history paginated 50 to a
   page) through the ASGI app in process, 40 times after 5 warm-ups; baseline: the
   bare history read (``Consentline.history``) of the same number.
2. The dashboard on the 1,000,000-number ledger of bench_reports.py (target <=
   500 ms): 2,000,000 events over a year on 4 lines of two accounts, 200,000 double
   opt-in requests left pending in the outbox (the sender never ran: every count
   reaches its cap), plus 40 campaign sends of 2,000 recipients with opt-outs
   attributed, 200 review items and 3 webhook subscriptions. ``GET /ui/dashboard``
   (30 UTC days; 30 New York days; 90 days) 40 times after 5 warm-ups; baselines in
   the same run: the service read alone (``Consentline.dashboard``) and the plain
   ``GROUP BY`` over the events that the dashboard's chart replaces.

    .venv/bin/python bench/bench_webui.py                       # both, SQLite
    .venv/bin/python bench/bench_webui.py --only dashboard --numbers 20000
    .venv/bin/python bench/bench_webui.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/bench_webui

The SQLite dashboard ledger is built once and cached in bench/.cache/ (git-ignored;
about 9 minutes for 1M numbers on the 2-core machine); PostgreSQL builds it afresh.
Results: a table on stdout and bench/results/webui-<backend>.json,
bench/results/issue13/dashboard-<backend>[-N].json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_reports
import consentline
from consentline.http import create_app
from consentline.services import campaigns
from consentline.services.recording import RecordRequest
from consentline.settings import Secret, Settings
from consentline.web import install

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
NUMBER = "+14155550100"
EVENTS = 5000
RUNS = 40
TARGET_MS = 150.0
DASHBOARD_TARGET_MS = 500.0
SENDS, SEND_SIZE = 40, 2000


def _fresh_postgres(url: str) -> str:
    parsed = sa.engine.make_url(url)
    if parsed.host != "127.0.0.1" or not (parsed.database or "").startswith("bench"):
        sys.exit("the PostgreSQL URL must be on 127.0.0.1 with a database named bench*")
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    admin.dispose()
    return url


def _timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - start) * 1000)
    return out


@contextlib.contextmanager
def signed_in(cl: consentline.Consentline) -> Iterator[TestClient]:
    """The app with the UI, and a client signed in as the operator ``bench``."""
    settings = Settings(session_secret=Secret("x" * 40))
    app = create_app(cl, settings)
    install(app, cl, settings)
    with TestClient(app, base_url="http://127.0.0.1") as http:
        page = http.get("/ui/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token
        http.post(
            "/ui/login", data={"csrf": token.group(1), "username": "bench", "password": "b" * 12}
        )
        yield http


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(0.95 * len(values)) - 1)]


def contact_page(url: str, backend: str) -> dict[str, object]:
    cl = consentline.connect(url, cache_seconds=5.0)
    cl.create_account("acme", default_region="US")
    cl.create_account("shop", parent="acme")
    for line, account in (("+18005550100", "acme"), ("+18005550101", "shop")):
        cl.add_line(line, account=account)
    cl.set_purpose("acme", "marketing", "restrictive")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    requests = [
        RecordRequest(
            address=NUMBER,
            action="opt_in" if i % 2 == 0 else "opt_out",
            account="acme" if i % 3 else "shop",
            purpose="marketing" if i % 2 == 0 else None,
            source="api",
            proof={"note": f"event {i}"},
            occurred_at=start + timedelta(minutes=i),
        )
        for i in range(EVENTS)
    ]
    for i in range(0, EVENTS, 1000):
        cl.record_many(requests[i : i + 1000])
    cl.operators().create(
        "bench", directory=cl.directory(), account="acme", role="write", password="b" * 12
    )
    with signed_in(cl) as http:
        path = f"/ui/contacts/{NUMBER}"
        first = http.get(path)
        assert first.status_code == 200 and "5000 events" in first.text, first.status_code

        def render() -> None:
            assert http.get(path).status_code == 200

        def baseline() -> None:
            cl.history(NUMBER, account="acme")

        _timed(render, 5)
        page_ms = _timed(render, RUNS)
        base_ms = _timed(baseline, RUNS)
    cl.close()
    p95 = _p95(page_ms)
    result = {
        "backend": backend,
        "events": EVENTS,
        "runs": RUNS,
        "page_median_ms": round(statistics.median(page_ms), 1),
        "page_p95_ms": round(p95, 1),
        "history_read_median_ms": round(statistics.median(base_ms), 1),
        "target_ms": TARGET_MS,
        "met": p95 <= TARGET_MS,
        "raw_page_ms": [round(x, 2) for x in page_ms],
        "raw_history_ms": [round(x, 2) for x in base_ms],
    }
    print(
        f"| {backend} | {EVENTS} | {result['page_median_ms']} | {result['page_p95_ms']} |"
        f" {result['history_read_median_ms']} | {'yes' if result['met'] else 'NO'} |"
    )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"webui-{backend}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


# -- the dashboard -------------------------------------------------------------------------
def dashboard_ledger(url: str, n: int, backend: str) -> tuple[str, float | None]:
    """bench_reports' ledger of ``n`` numbers: SQLite from (or into) the cache, copied
    to a work file; PostgreSQL built afresh. Returns the URL and the build time."""
    if backend != "sqlite":
        cl, build_s = bench_reports.build(url, n)
        cl.close()
        return url, build_s
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"webui-dashboard-{n}.db"
    build_s = None
    if not cached.exists():
        print(f"building the ledger ({n:,} numbers, {2 * n:,} events) ...", flush=True)
        building = Path(f"{cached}.building")
        building.unlink(missing_ok=True)
        cl, build_s = bench_reports.build(f"sqlite:///{building}", n)
        cl.close()
        building.rename(cached)
    work = Path(url.removeprefix("sqlite:///"))
    shutil.copy(cached, work)
    return url, build_s


def decorate(cl: consentline.Consentline, clock: list[datetime], n: int) -> dict[str, int]:
    """What a live installation also has: sends with attributed opt-outs, review items,
    webhook subscriptions and the operator (the outbox's 200,000 pending double
    opt-in requests come with the ledger)."""
    cl.operators().create(
        "bench", directory=cl.directory(), account="bench", role="read", password="b" * 12
    )
    tenant = cl.directory().account("bench").tenant_id
    with cl.units() as uow:  # attribution starts at the sends, not at the year's events
        uow.campaigns.set_cursor(tenant, uow.hooks.chain_seq(tenant))
        uow.commit()
    lines = bench_reports.LINES
    for k in range(SENDS):
        clock[0] += timedelta(hours=6)
        start = (k * SEND_SIZE * 4) % max(1, n - SEND_SIZE * 4)
        recipients = [bench_reports.number(i) for i in range(start, start + SEND_SIZE * 4)]
        line = lines[k % len(lines)]
        list(cl.check_many(recipients, from_=line, purpose="marketing", campaign=f"send-{k}"))
        stops = [
            RecordRequest(r, "opt_out", via=line, source="keyword", proof={"keyword": "STOP"})
            for r in recipients[k % 4 :: 4][: 2 + k % 7]
        ]
        cl.record_many(stops)
    clock[0] += timedelta(hours=1)
    campaigns.attribute(cl.units, cl.directory(), now=clock[0])
    for i in range(200):
        cl.handle_inbound(
            from_=bench_reports.number(i), to=lines[i % 4], text="cancel my appointment"
        )
    for k in range(3):
        cl.subscribe("bench" if k else "shop", f"https://hooks{k}.example.com/consent")
    with cl.engine.connect() as conn:
        return {
            table: int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() or 0)
            for table in ("events", "consent_state", "report_counts", "outbox", "review_items")
        }


def dashboard_page(url: str, backend: str, n: int) -> dict[str, object]:
    url, build_s = dashboard_ledger(url, n, backend)
    clock = [bench_reports.NOW + timedelta(hours=1)]
    cl = consentline.connect(url, clock=lambda: clock[0], cache_seconds=3600)
    sizes = decorate(cl, clock, n)
    if backend != "sqlite":  # autovacuum is off on these machines: the planner's statistics
        with cl.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    tenant = cl.directory().account("bench").tenant_id
    since_us = int((clock[0] - timedelta(days=30)).timestamp() * 1_000_000)
    naive = sa.text(
        "SELECT scope, occurred_us / 86400000000, count(*) FROM events WHERE tenant_id = :t"
        " AND action = 'opt_out' AND occurred_us >= :since GROUP BY 1, 2"
    )
    cases = {
        "30 UTC days": "/ui/dashboard",
        "30 New York days": "/ui/dashboard?tz=America/New_York",
        "90 UTC days": "/ui/dashboard?days=90",
    }
    out: dict[str, Any] = {}
    with signed_in(cl) as http:
        first = http.get("/ui/dashboard")
        assert first.status_code == 200 and "chart-opt-outs" in first.text, first.status_code
        # n/5 double opt-in requests wait in the outbox: past 50,000 the count is capped.
        assert n < 60_000 or "more than 10,000" in first.text
        for name, path in cases.items():

            def render(path: str = path) -> None:
                assert http.get(path).status_code == 200

            _timed(render, 5)
            out[name] = _timed(render, RUNS)
        _timed(lambda: cl.dashboard(account="bench"), 3)
        out["service read alone (30 UTC days)"] = _timed(
            lambda: cl.dashboard(account="bench"), RUNS
        )
        with cl.engine.connect() as conn:
            out["baseline: GROUP BY events, 30 days"] = _timed(
                lambda: conn.execute(naive, {"t": tenant, "since": since_us}).all(), 5
            )
    cl.close()
    figures = {
        name: {
            "median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(_p95(ms), 1),
            "raw_ms": [round(x, 2) for x in ms],
        }
        for name, ms in out.items()
    }
    result = {
        "backend": backend,
        "numbers": n,
        "build_s": None if build_s is None else round(build_s, 1),
        "rows": sizes,
        "runs": RUNS,
        "target_ms": DASHBOARD_TARGET_MS,
        "met": all(figures[name]["p95_ms"] <= DASHBOARD_TARGET_MS for name in cases),
        "results": figures,
        "env": {"python": platform.python_version(), "load": _load()},
    }
    print(f"## dashboard, {backend}, {n:,} numbers; rows: {sizes}; load {result['env']['load']}")
    print("| case | median ms | p95 ms |")
    print("|---|---|---|")
    for name, f in figures.items():
        print(f"| {name} | {f['median_ms']} | {f['p95_ms']} |")
    folder = HERE / "results" / "issue13"
    folder.mkdir(parents=True, exist_ok=True)
    suffix = "" if n == 1_000_000 else f"-{n}"
    (folder / f"dashboard-{backend}{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="also on this PostgreSQL (database bench*)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--only", choices=("contact", "dashboard"), default=None)
    parser.add_argument("--numbers", type=int, default=1_000_000, help="the dashboard's ledger")
    args = parser.parse_args()
    sqlite = not args.no_sqlite
    if args.only != "dashboard":
        print("| backend | events | page median ms | page p95 ms | history read ms | <= 150 ms |")
        print("|---|---|---|---|---|---|")
        if sqlite:
            with tempfile.TemporaryDirectory() as tmp:
                contact_page(f"sqlite:///{tmp}/webui.db", "sqlite")
        if args.postgres:
            contact_page(_fresh_postgres(args.postgres), "postgres")
    if args.only != "contact":
        if sqlite:
            CACHE.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                dashboard_page(f"sqlite:///{tmp}/dashboard.db", "sqlite", args.numbers)
        if args.postgres:
            dashboard_page(_fresh_postgres(args.postgres), "postgres", args.numbers)


if __name__ == "__main__":
    main()
