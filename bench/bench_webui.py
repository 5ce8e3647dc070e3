"""The web UI's contact page for a number with 5,000 events (issue 13: <= 150 ms).

Renders ``GET /ui/contacts/{number}`` (a signed-in operator, history paginated 50 to
a page) through the ASGI app in process, 40 times after 5 warm-ups, and reports the
median and p95 beside a baseline measured in the same run: the bare history read
(``Consentline.history``) of the same number, which the page's cost starts from.

    .venv/bin/python bench/bench_webui.py                 # SQLite
    .venv/bin/python bench/bench_webui.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/bench_webui

Results: a table on stdout and bench/results/webui-<backend>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

import consentline
from consentline.http import create_app
from consentline.services.recording import RecordRequest
from consentline.settings import Secret, Settings
from consentline.web import install

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HERE = Path(__file__).resolve().parent
NUMBER = "+14155550100"
EVENTS = 5000
RUNS = 40
TARGET_MS = 150.0


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


def run(url: str, backend: str) -> dict[str, object]:
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
    p95 = sorted(page_ms)[int(0.95 * len(page_ms)) - 1]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="also on this PostgreSQL (database bench*)")
    args = parser.parse_args()
    print("| backend | events | page median ms | page p95 ms | history read ms | <= 150 ms |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/webui.db", "sqlite")
    if args.postgres:
        run(_fresh_postgres(args.postgres), "postgres")


if __name__ == "__main__":
    main()
