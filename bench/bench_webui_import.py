"""The web UI's import of a large CSV against the same import made by the library.

A CSV of ``--rows`` rows (default 50,000: a legacy opt-out checkbox, a third of the
rows checked) goes in through the imports pages in process — the multipart upload,
its copy and preview, then the run in the background thread the page watches —
and, as the baseline in the same run, through ``Consentline.import_records`` on the
same file. Each side runs ``--repeat`` times, each time on a fresh SQLite database,
alternating; the medians and their ratio are reported.

    .venv/bin/python bench/bench_webui_import.py
    .venv/bin/python bench/bench_webui_import.py --rows 200000 --repeat 3

Results: a table on stdout and bench/results/webui-import-sqlite.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import consentline
from consentline.http import create_app
from consentline.settings import Secret, Settings
from consentline.web import install
from consentline.web.import_jobs import state_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

HERE = Path(__file__).resolve().parent
PASSWORD = "bench password 123"
MAPPING = {"map_address": "Phone", "preset": "legacy-opt-out", "preset_column": "Opt Out"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _csv(path: Path, rows: int) -> None:
    with path.open("w") as out:
        out.write("Phone,Opt Out,Name\n")
        for i in range(rows):
            out.write(f"+1415{2000000 + i:07d},{'true' if i % 3 == 0 else 'false'},n{i}\n")


def _client(folder: Path) -> consentline.Consentline:
    cl = consentline.connect(f"sqlite:///{folder / 'b.db'}", cache_seconds=0.0)
    cl.create_account("acme", default_region="US")
    cl.set_purpose("acme", "marketing", "restrictive")
    return cl


def _library(source: Path) -> float:
    with tempfile.TemporaryDirectory() as folder:
        cl = _client(Path(folder))
        try:
            start = time.perf_counter()
            report = cl.import_records(
                source,
                account="acme",
                mapping={"address": "Phone"},
                preset="legacy-opt-out:Opt Out",
            )
            took = time.perf_counter() - start
        finally:
            cl.close()
    assert report.errors == 0 and report.written > 0
    return took


def _ui(source: Path) -> float:
    with tempfile.TemporaryDirectory() as folder:
        cl = _client(Path(folder))
        ops = cl.operators()
        ops.create(
            "bench", directory=cl.directory(), account="acme", role="write", password=PASSWORD
        )
        settings = Settings(session_secret=Secret("b" * 40), max_bulk_body=1 << 30)
        app = create_app(cl, settings)
        install(app, cl, settings)
        try:
            with TestClient(app, base_url="http://127.0.0.1") as http:
                login = _CSRF.search(http.get("/ui/login").text)
                assert login
                http.post(
                    "/ui/login",
                    data={"csrf": login.group(1), "username": "bench", "password": PASSWORD},
                )
                found = _CSRF.search(http.get("/ui/imports").text)
                assert found
                csrf = found.group(1)
                start = time.perf_counter()
                with source.open("rb") as data:
                    uploaded = http.post(
                        "/ui/imports",
                        data={"csrf": csrf, "account": "acme"},
                        files={"file": ("bench.csv", data, "text/csv")},
                        follow_redirects=False,
                    )
                token = uploaded.headers["location"].rsplit("/", 1)[1]
                started = http.post(
                    f"/ui/imports/{token}/run",
                    data={"csrf": csrf, "mode": "run", **MAPPING},
                    follow_redirects=False,
                )
                run_id = started.headers["location"].rsplit("/", 1)[1]
                (me,) = ops.list()
                run = state_of(app.state).run(run_id, me.id)
                assert run.finished.wait(3600), "the import did not end"
                took = time.perf_counter() - start
                page = http.get(started.headers["location"]).text
                assert "Import done" in page, page[-500:]
        finally:
            cl.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "bench.csv"
        _csv(source, args.rows)
        library: list[float] = []
        ui: list[float] = []
        for _ in range(args.repeat):
            library.append(_library(source))
            ui.append(_ui(source))
    lib_s, ui_s = statistics.median(library), statistics.median(ui)
    result = {
        "rows": args.rows,
        "repeat": args.repeat,
        "library_s": library,
        "ui_s": ui,
        "library_median_s": lib_s,
        "ui_median_s": ui_s,
        "ratio": ui_s / lib_s,
    }
    print(f"| {args.rows:,} rows (SQLite) | median s | rows/s |")
    print("|---|---|---|")
    print(f"| library import_records (baseline) | {lib_s:.2f} | {args.rows / lib_s:,.0f} |")
    print(f"| web UI: upload + preview + background run | {ui_s:.2f} | {args.rows / ui_s:,.0f} |")
    print(f"ratio UI / library: {ui_s / lib_s:.2f}")
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / "webui-import-sqlite.json"
    path.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
