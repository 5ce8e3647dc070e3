"""The two servers of the HTTP benchmark, launched the same way (see bench_http.py).

    python bench/http_servers.py bare --db PATH --port P
    python bench/http_servers.py consentline --db PATH --port P

``bare`` is the baseline: a Starlette app with one route, ``GET /check?to=...``, that
runs the primary-key lookup consentline's send gate runs (``consent_state`` by tenant,
channel and address) on a plain ``sqlite3`` connection (one per worker thread) and
answers a small JSON. No authentication, no validation, no policy: only the framework,
the server and the lookup. Like consentline's ``GET /v1/check`` it is a plain ``def``
endpoint, so both run in the same worker-thread pool; ``bare-async`` is the same
lookup called straight on the event loop (reported as a second, stricter baseline).

``consentline`` is ``consentline.http.create_app(consentline.connect(url), Settings)``.

Both are served by ``uvicorn.run(app, host="127.0.0.1", port=P, workers=1,
log_level="warning", access_log=False)``: the same settings, so the same event loop
and HTTP parser. The implementation uvicorn picks ("auto") is printed as one JSON line
on stdout before it starts, so the benchmark can record it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sqlite3
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

POINT_SQL = (
    "SELECT shape, ids, times, max_us FROM consent_state"
    " WHERE tenant_id = ? AND channel = ? AND address = ?"
)
KINDS = ("bare", "bare-async", "consentline")


def bare_app(db: Path, tenant_id: int, *, run_async: bool = False) -> Starlette:
    """The baseline: one route doing the gate's projection lookup on plain sqlite3."""
    local = threading.local()

    def lookup(to: str) -> dict[str, Any]:
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(db, check_same_thread=False)
            local.conn = conn
        row = conn.execute(POINT_SQL, (tenant_id, "sms", to)).fetchone()
        return {"to": to, "found": row is not None, "shape": None if row is None else row[0]}

    def check(request: Request) -> Response:
        return JSONResponse(lookup(request.query_params["to"]))

    async def check_async(request: Request) -> Response:
        return JSONResponse(lookup(request.query_params["to"]))

    return Starlette(routes=[Route("/check", check_async if run_async else check)])


def consentline_app(db: Path, max_bulk_body: int) -> Any:
    # Imported here so that the baseline servers never load consentline.
    import consentline
    from consentline.http import create_app
    from consentline.settings import Secret, Settings

    url = f"sqlite:///{db}"
    settings = Settings(database_url=Secret(url), max_bulk_body=max_bulk_body)
    return create_app(consentline.connect(url), settings)


def tenant_of(db: Path, account: str) -> int:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT tenant_id FROM accounts WHERE slug = ?", (account,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise SystemExit(f"no account {account!r} in {db}")
    return int(row[0])


def implementation() -> dict[str, str]:
    """What uvicorn's "auto" loop and HTTP protocol resolve to in this environment."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return {
        "uvicorn": uvicorn.__version__,
        "loop": loop,
        "http": AutoHTTPProtocol.__name__,
        "python": platform.python_version(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--db", type=Path, required=True, help="the SQLite ledger file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--account", default="acme", help="account whose tenant bare reads")
    parser.add_argument("--max-bulk-body", type=int, default=64 * 1024 * 1024)
    args = parser.parse_args(argv)

    app: Any
    if args.kind == "consentline":
        app = consentline_app(args.db, args.max_bulk_body)
    else:
        app = bare_app(args.db, tenant_of(args.db, args.account), run_async=args.kind != "bare")
    print(json.dumps({"kind": args.kind, **implementation()}), flush=True)
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, workers=1, log_level="warning", access_log=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
