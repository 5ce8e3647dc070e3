"""HTTP benchmarks of consentline (issue 4), each against a baseline in the same run.

1. ``GET /v1/check`` requests/s under wrk vs a bare Starlette endpoint doing the same
   SQLite primary-key lookup (bench/http_servers.py), both served by uvicorn with the
   same settings; every request asks about a different recipient.
2. ``POST /v1/check`` bulk: recipients/s for 100,000 and 1,000,000 recipients in one
   request, vs ``cl.check_many`` on the same list through the Python API.
3. Signed Twilio inbound webhooks under wrk: durable messages/s on one server
   worker, each request sent exactly once (checked against the rows committed).

Run ``python bench/bench_http.py --help``; see bench/README.md ("HTTP"). Only
127.0.0.1 is ever contacted. Without wrk, parts 1 and 3 are skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from twilio.request_validator import RequestValidator

import consentline
from bench_core import (
    CACHE,
    RESULTS,
    ROOT,
    Report,
    Row,
    batched,
    environment,
    format_fingerprint,
    markdown,
    us_number,
)
from consentline.services.recording import RecordRequest

HERE = Path(__file__).resolve().parent
SERVERS = HERE / "http_servers.py"
WRK_DIR = HERE / "wrk"
CORPUS = ROOT.parent / "shared" / "data" / "sms-spam-collection" / "SMSSpamCollection.tsv"

ACCOUNT = "acme"
LINE = "+18005550100"
PURPOSE = "marketing"
OPT_OUT_EVERY = 10  # every 10th recipient has sent STOP (10%)
OPT_OUT_PHASE = 7
BUILD_BATCH = 5000
MAX_BULK_BODY = 64 * 1024 * 1024  # the product default, ample for 1M recipients (~17 MB)
FRESH_BASE = 20_000_000  # webhook senders that are not in the ledger start here

GET_TIMEOUT = 2  # s: a check that takes longer counts as failed
WEBHOOK_TIMEOUT = 10  # s
GET_TARGET = 0.6  # consentline >= 0.6x the bare endpoint
BULK_TARGET = 100_000  # recipients/s
WEBHOOK_TARGET = 1_000  # msgs/s

# Twilio test credentials of the benchmark account (never real ones).
TWILIO_SID = "AC" + "b3" * 16
TWILIO_TOKEN = "f0e1d2c3b4a5968778695a4b3c2d1e0f"


class BenchFailure(Exception):
    """A measurement that must not be reported as a figure (errors, wrong answers)."""


@dataclass
class Sizes:
    ledger: int
    duration: int  # seconds of each measured wrk run
    warmup: int  # seconds of each wrk warm-up run
    rounds: int  # measured wrk runs per server, interleaved
    connections: tuple[int, ...]  # GET at each; the webhooks at the first
    bulk: tuple[int, ...]
    repeats: int
    webhook_rate: int  # msgs/s the pre-generated webhooks suffice for

    @classmethod
    def pick(cls, quick: bool, connections: Sequence[int], duration: int | None) -> Sizes:
        if quick:
            return cls(
                ledger=20_000,
                duration=duration or 5,
                warmup=2,
                rounds=1,
                connections=tuple(connections),
                bulk=(10_000, 20_000),
                repeats=3,
                webhook_rate=4_000,
            )
        return cls(
            ledger=1_000_000,
            duration=duration or 10,
            warmup=3,
            rounds=2,
            connections=tuple(connections),
            bulk=(100_000, 1_000_000),
            repeats=3,
            webhook_rate=5_000,
        )


@dataclass
class Prepared:
    db: Path
    url: str
    api_key: str
    tenant_id: int
    recipients: list[str]  # the ledger's numbers, shuffled


# -- the ledger -----------------------------------------------------------------------
def ledger_requests(size: int) -> Iterator[RecordRequest]:
    for i in range(size):
        yield RecordRequest(
            us_number(i),
            "opt_in",
            account=ACCOUNT,
            purpose=PURPOSE,
            source="import",
            proof={"list": "crm-export-2024-11", "row": i},
        )
    for i in range(OPT_OUT_PHASE, size, OPT_OUT_EVERY):
        yield RecordRequest(
            us_number(i),
            "opt_out",
            via=LINE,
            source="keyword",
            proof={"keyword": "STOP", "message_id": f"SM{i:032x}"},
        )


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def ensure_ledger(size: int) -> Path:
    """The cached base ledger (account acme, line, opt-ins, 10% STOPs), built if needed."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"http-ledger-{size}.db"
    meta_path = CACHE / f"http-ledger-{size}.json"
    fingerprint = format_fingerprint()
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("format") == fingerprint and meta.get("size") == size:
            return path
    building = CACHE / f"http-ledger-{size}.building.db"
    _remove_db(building)
    print(f"  building the HTTP ledger: {size:,} opt-ins + {size // OPT_OUT_EVERY:,} STOPs ...")
    started = time.perf_counter()
    cl = consentline.connect(f"sqlite:///{building}")
    try:
        cl.create_account(ACCOUNT, default_region="US")
        cl.add_line(LINE, account=ACCOUNT)
        for batch in batched(ledger_requests(size), BUILD_BATCH):
            cl.record_many(batch)
    finally:
        cl.close()
    conn = sqlite3.connect(building)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    _remove_db(path)
    os.replace(building, path)
    _remove_db(building)
    meta_path.write_text(json.dumps({"format": fingerprint, "size": size}) + "\n")
    print(f"    built in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def prepare(sizes: Sizes) -> Prepared:
    """A working copy of the ledger with an API key, inbound settings and Twilio credentials."""
    base = ensure_ledger(sizes.ledger)
    db = CACHE / "http-run.db"
    _remove_db(db)
    shutil.copyfile(base, db)
    url = f"sqlite:///{db}"
    cl = consentline.connect(url)
    try:
        account = cl.directory().account(ACCOUNT)
        raw_key, _ = cl.api_keys().create(account_id=account.id, role="read")
        cl.configure_account(
            ACCOUNT,
            program_name="Acme Alerts",
            support_contact="help@acme.example",
            frequency="4 msgs/month",
        )
        cl.provider_credentials().put(
            account_id=account.id,
            provider="twilio",
            fields={"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN},
        )
        tenant_id = account.tenant_id
    finally:
        cl.close()
    recipients = [us_number(i) for i in range(sizes.ledger)]
    random.Random(2024).shuffle(recipients)
    return Prepared(db=db, url=url, api_key=raw_key, tenant_id=tenant_id, recipients=recipients)


# -- servers --------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    info: dict[str, Any]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def serve(kind: str, db: Path, max_bulk_body: int = MAX_BULK_BODY) -> Iterator[Server]:
    """Launch ``http_servers.py kind`` on a free port; always stopped on exit."""
    port = free_port()
    log = CACHE / f"server-{kind}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, str(SERVERS), kind, "--db", str(db), "--port", str(port)),
                *("--max-bulk-body", str(max_bulk_body)),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        _wait_listening(process, port, log)
        first = log.read_text().splitlines()[0]
        yield Server(kind, port, process, log, json.loads(first))
        if process.poll() is not None:
            raise BenchFailure(f"{kind} server died: {log.read_text()[-2000:]}")
    finally:
        _stop(process)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchFailure(f"server exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise BenchFailure(f"server on port {port} did not start in 60 s")


# -- wrk ------------------------------------------------------------------------------
def wrk_version() -> str | None:
    path = shutil.which("wrk")
    if path is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return (out.stdout + out.stderr).splitlines()[0].strip()


def run_wrk(
    url: str,
    script: str,
    args: Sequence[str],
    seconds: int,
    connections: int,
    timeout: int = GET_TIMEOUT,
) -> dict[str, Any]:
    """One wrk run (1 thread, ``--latency``) and its figures; ``failed`` counts non-2xx
    answers and socket errors (timeouts included), which make the run a failure."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", f"{timeout}s"]
    command += ["-s", str(WRK_DIR / script), url, "--", *args]
    out = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + 120
    )
    if out.returncode != 0:
        raise BenchFailure(f"wrk failed ({out.returncode}): {out.stderr.strip()}")
    match = re.search(r"^WRK_JSON (\{.*\})$", out.stdout, re.MULTILINE)
    if match is None:
        raise BenchFailure(f"no WRK_JSON line in wrk's output:\n{out.stdout}{out.stderr}")
    figures: dict[str, Any] = json.loads(match.group(1))
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", out.stdout, re.MULTILINE)
    figures["requests_per_s"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["wrk_requests_per_s"] = float(rate.group(1)) if rate else None
    figures["command"] = " ".join(command)
    figures["output"] = out.stdout.split("WRK_JSON")[0].rstrip()
    failed = figures["non_2xx_3xx"] + figures["connect_errors"] + figures["read_errors"]
    figures["failed"] = failed + figures["write_errors"] + figures["timeouts"]
    figures["timeout_s"] = timeout
    return figures


def failure(label: str, figures: dict[str, Any]) -> str | None:
    """What went wrong in a wrk run, or None if every request got a 2xx answer in time."""
    if not figures["requests"]:
        return f"{label}: no request was answered in {figures['duration_us'] / 1e6:.1f} s"
    if not figures["failed"]:
        return None
    return (
        f"{label}: {figures['failed']} of {figures['sent']} requests failed"
        f" (non-2xx {figures['non_2xx_3xx']}, timeouts {figures['timeouts']},"
        f" socket errors {figures['connect_errors'] + figures['read_errors']})"
    )


# -- 1. GET /v1/check -----------------------------------------------------------------
GET_KINDS = ("bare", "consentline", "bare-async")


def bench_get(prep: Prepared, sizes: Sizes) -> dict[str, Any]:
    """Every connection count with freshly started servers (a stalled one cannot carry over)."""
    numbers = CACHE / "http-numbers.txt"
    numbers.write_text("".join(quote(n, safe="") + "\n" for n in prep.recipients))
    levels: dict[str, Any] = {}
    for connections in sizes.connections:
        with ExitStack() as stack:
            servers = {k: stack.enter_context(serve(k, prep.db)) for k in GET_KINDS}
            levels[str(connections)] = _bench_get(prep, sizes, servers, numbers, connections)
    return {
        "levels": levels,
        "distinct_recipients": len(prep.recipients),
        "errors": [e for level in levels.values() for e in level["errors"]],
    }


def _bench_get(
    prep: Prepared, sizes: Sizes, servers: dict[str, Server], numbers: Path, connections: int
) -> dict[str, Any]:
    query = f"/v1/check?from={quote(LINE, safe='')}&purpose={PURPOSE}&to="
    targets = {
        "consentline": (query, prep.api_key),
        "bare": ("/check?to=", ""),
        "bare-async": ("/check?to=", ""),
    }
    _verify_get(prep, servers)
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in servers}
    errors: list[str] = []
    for kind, server in servers.items():  # warm-up: threads, connections, caches
        prefix, key = targets[kind]
        args = [str(numbers), prefix, key]
        figures = run_wrk(server.base, "check.lua", args, sizes.warmup, connections)
        if problem := failure(f"GET {kind} c={connections} warm-up", figures):
            errors.append(problem)
    for _ in range(sizes.rounds):  # interleaved: every server sees the same machine state
        for kind, server in servers.items():
            prefix, key = targets[kind]
            args = [str(numbers), prefix, key]
            figures = run_wrk(server.base, "check.lua", args, sizes.duration, connections)
            runs[kind].append(figures)
            problem = failure(f"GET {kind} c={connections}", figures)
            if problem:
                errors.append(problem)
            print(
                f"  GET {kind} c={connections}: {figures['requests_per_s']:,.0f} req/s,"
                f" p50 {figures['latency_us']['p50'] / 1000:.2f} ms,"
                f" p99 {figures['latency_us']['p99'] / 1000:.2f} ms"
                + (f"  ** {problem}" if problem else ""),
                flush=True,
            )
    best = {kind: max(r, key=lambda f: f["requests_per_s"]) for kind, r in runs.items()}
    return {
        "connections": connections,
        "servers": {k: s.info for k, s in servers.items()},
        "runs": runs,
        "best": best,
        "errors": errors,
    }


def _verify_get(prep: Prepared, servers: dict[str, Server]) -> None:
    """The answers are right before anything is timed (an opted-out and an allowed one)."""
    out_number = us_number(OPT_OUT_PHASE)
    in_number = us_number(OPT_OUT_PHASE + 1)
    headers = {"Authorization": f"Bearer {prep.api_key}"}
    with httpx.Client(timeout=30) as client:
        for number, allowed in ((out_number, False), (in_number, True)):
            if "consentline" in servers:
                params = {"to": number, "from": LINE, "purpose": PURPOSE}
                r = client.get(
                    f"{servers['consentline'].base}/v1/check", params=params, headers=headers
                )
                if r.status_code != 200 or r.json().get("allowed") is not allowed:
                    raise BenchFailure(f"GET /v1/check {number}: {r.status_code} {r.text}")
            for kind in ("bare", "bare-async"):
                if kind in servers:
                    r = client.get(f"{servers[kind].base}/check", params={"to": number})
                    if r.status_code != 200 or not r.json().get("found"):
                        raise BenchFailure(f"bare /check {number}: {r.status_code} {r.text}")


# -- 2. POST /v1/check ----------------------------------------------------------------
def bulk_list(size: int) -> list[str]:
    """``size`` distinct numbers: the ledger's first, then numbers it has never seen."""
    numbers = [us_number(i) for i in range(size)]
    random.Random(size).shuffle(numbers)
    return numbers


def _api_run(cl: consentline.Consentline, recipients: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    allowed = sum(d.allowed for d in cl.check_many(recipients, from_=LINE, purpose=PURPOSE))
    return time.perf_counter() - started, allowed


def _http_run(
    client: httpx.Client, url: str, key: str, body: bytes, recipients: list[str]
) -> tuple[float, int]:
    """One bulk request, timed from its start to the last byte of the answer."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    started = time.perf_counter()
    with client.stream("POST", url, content=body, headers=headers) as response:
        raw = response.read()
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise BenchFailure(f"POST /v1/check: {response.status_code} {raw[:500]!r}")
    results = json.loads(raw)["results"]
    if len(results) != len(recipients) or any(
        r["to"] != n for r, n in zip(results, recipients, strict=True)
    ):
        raise BenchFailure(f"POST /v1/check answered {len(results)} of {len(recipients)}")
    return elapsed, sum(r["allowed"] for r in results)


def bench_bulk(prep: Prepared, sizes: Sizes) -> dict[str, Any]:
    with serve("consentline", prep.db) as server:
        return {"server": server.info, "sizes": _bench_bulk(prep, sizes, server)}


def _bench_bulk(prep: Prepared, sizes: Sizes, server: Server) -> dict[str, Any]:
    out: dict[str, Any] = {}
    url = f"{server.base}/v1/check"
    cl = consentline.connect(prep.url)
    try:
        with httpx.Client(timeout=600) as client:
            for size in sizes.bulk:
                recipients = bulk_list(size)
                payload = {"from": LINE, "purpose": PURPOSE, "recipients": recipients}
                body = json.dumps(payload).encode()
                if len(body) > MAX_BULK_BODY:
                    raise BenchFailure(f"{size:,} recipients exceed the server's body limit")
                _http_run(client, url, prep.api_key, body, recipients)  # warm-up
                http_runs, api_runs = [], []
                for _ in range(sizes.repeats):  # interleaved
                    http_runs.append(_http_run(client, url, prep.api_key, body, recipients))
                    api_runs.append(_api_run(cl, recipients))
                allowed = {a for _, a in http_runs} | {a for _, a in api_runs}
                in_ledger = min(size, sizes.ledger)
                expected = in_ledger - len(range(OPT_OUT_PHASE, in_ledger, OPT_OUT_EVERY))
                if allowed != {expected}:
                    raise BenchFailure(f"bulk allowed {sorted(allowed)}, expected {expected}")
                http_s = [t for t, _ in http_runs]
                api_s = [t for t, _ in api_runs]
                out[str(size)] = {
                    "recipients": size,
                    "in_ledger": in_ledger,
                    "allowed": expected,
                    "body_bytes": len(body),
                    "http_runs_s": http_s,
                    "api_runs_s": api_s,
                    "http_best_per_s": size / min(http_s),
                    "http_median_per_s": size / statistics.median(http_s),
                    "api_best_per_s": size / min(api_s),
                    "api_median_per_s": size / statistics.median(api_s),
                }
                print(
                    f"  POST /v1/check {size:,}: best {min(http_s):.2f} s"
                    f" ({size / min(http_s):,.0f}/s); check_many {min(api_s):.2f} s",
                    flush=True,
                )
    finally:
        cl.close()
    return out


# -- 3. Twilio webhooks ---------------------------------------------------------------
def texts() -> list[str]:
    if CORPUS.exists():
        rows = (line.partition("\t") for line in CORPUS.read_text().splitlines())
        return [text for label, _, text in rows if label == "ham"]
    return ["Ok see you at 7", "Thanks!", "Can you call me back?", "What time is it?"]


def webhook_requests(
    count: int, url: str, ledger: int, seed: int, sid_prefix: str, fresh: Iterator[int]
) -> Iterator[tuple[str, str]]:
    """``count`` signed (signature, body) pairs: distinct MessageSid and From numbers.

    About 10% STOP (in Twilio's spellings), 2% START, 2% HELP, the rest ordinary texts;
    half the senders are ledger recipients, half numbers the ledger has never seen.
    """
    rng = random.Random(seed)
    ham = texts()
    known = list(range(ledger))
    rng.shuffle(known)
    validator = RequestValidator(TWILIO_TOKEN)
    for n in range(count):
        roll = rng.random()
        if roll < 0.10:
            text, kind = rng.choice(["STOP", "STOP", "Stop", "stop", "STOP "]), "STOP"
        elif roll < 0.12:
            text, kind = rng.choice(["START", "Start"]), "START"
        elif roll < 0.14:
            text, kind = rng.choice(["HELP", "help"]), "HELP"
        else:
            text, kind = rng.choice(ham), ""
        index = known.pop() if known and rng.random() < 0.5 else next(fresh)
        sid = f"SM{sid_prefix}{n:0{32 - len(sid_prefix)}x}"
        params = {
            "ToCountry": "US",
            "ToState": "CA",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ToCity": "SAN FRANCISCO",
            "FromZip": "94105",
            "SmsSid": sid,
            "FromState": "CA",
            "SmsStatus": "received",
            "FromCity": "SAN FRANCISCO",
            "Body": text,
            "FromCountry": "US",
            "To": LINE,
            "MessagingServiceSid": "MG9752274e9e519418a7406176694466fa",
            "ToZip": "94105",
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": TWILIO_SID,
            "From": us_number(index),
            "ApiVersion": "2010-04-01",
        }
        if kind:
            params["OptOutType"] = kind
        yield validator.compute_signature(url, params), urlencode(params)


def write_requests(path: Path, pairs: Iterator[tuple[str, str]]) -> int:
    count = 0
    with path.open("w") as out:
        for signature, body in pairs:
            out.write(f"{signature}\t{body}\n")
            count += 1
    return count


def counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("inbound_messages", "events", "outbox")
        }
    finally:
        conn.close()


def settled_counts(db: Path, timeout: float = 60) -> dict[str, int]:
    """Row counts once the server has finished what it was sent (two equal readings)."""
    previous = counts(db)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = counts(db)
        if current == previous:
            return current
        previous = current
    raise BenchFailure(f"the server was still writing {timeout:.0f} s after wrk stopped")


def bench_webhooks(prep: Prepared, sizes: Sizes) -> dict[str, Any]:
    with serve("consentline", prep.db) as server:
        return {"server": server.info, **_bench_webhooks(prep, sizes, server)}


def _bench_webhooks(prep: Prepared, sizes: Sizes, server: Server) -> dict[str, Any]:
    url = f"{server.base}/webhooks/twilio"
    fresh = iter(range(FRESH_BASE, FRESH_BASE + 10_000_000))
    warm_file = CACHE / "twilio-warmup.tsv"
    run_file = CACHE / "twilio-run.tsv"
    warm_n = write_requests(
        warm_file,
        webhook_requests(sizes.warmup * sizes.webhook_rate, url, 0, 1, "ffff", fresh),
    )
    run_n = write_requests(
        run_file,
        webhook_requests(sizes.duration * sizes.webhook_rate, url, sizes.ledger, 2, "", fresh),
    )
    with warm_file.open() as first:
        _verify_webhook(url, first.readline().rstrip("\n"))
    connections = sizes.connections[0]
    warm = run_wrk(url, "twilio.lua", [str(warm_file)], sizes.warmup, connections, WEBHOOK_TIMEOUT)
    errors = [p for p in [failure("webhooks warm-up", warm)] if p]
    before = settled_counts(prep.db)
    figures = run_wrk(
        url, "twilio.lua", [str(run_file)], sizes.duration, connections, WEBHOOK_TIMEOUT
    )
    if problem := failure("webhooks", figures):
        errors.append(problem)
    after = settled_counts(prep.db)
    seconds = figures["duration_us"] / 1e6
    rows = after["inbound_messages"] - before["inbound_messages"]
    # Each request of the file is a new message. Counted: the 2xx answers wrk got in
    # its measured time, less any repeat sent after the file ran out (answered by the
    # dedupe path). Cross-checked with the rows committed, which may include up to one
    # request per connection still in flight when wrk stopped.
    answered = figures["requests"] - figures["non_2xx_3xx"] - figures["exhausted"]
    if rows < answered:
        raise BenchFailure(f"only {rows} messages stored for {answered} answers")
    if rows > figures["sent"]:
        raise BenchFailure(f"{rows} messages stored but only {figures['sent']} sent")
    out = {
        "generated": run_n,
        "warmup_generated": warm_n,
        "wrk": figures,
        "seconds": seconds,
        "messages_answered": answered,
        "messages_committed": rows,
        "msgs_per_s": answered / seconds,
        "committed_per_s": rows / seconds,
        "events_written": after["events"] - before["events"],
        "outbox_rows": after["outbox"] - before["outbox"],
        "exhausted": figures["exhausted"],
        "errors": errors,
    }
    print(
        f"  webhooks: {out['msgs_per_s']:,.0f} msgs/s ({answered:,} answered in"
        f" {seconds:.1f} s, {rows:,} committed), {out['events_written']:,} events,"
        f" p50 {figures['latency_us']['p50'] / 1000:.1f} ms,"
        f" p99 {figures['latency_us']['p99'] / 1000:.1f} ms" + "".join(f"  ** {e}" for e in errors),
        flush=True,
    )
    if figures["exhausted"]:
        print(
            f"  note: the {run_n:,} pre-generated webhooks ran out before {sizes.duration} s;"
            " raise --webhook-rate for a full-length run"
        )
    return out


def _verify_webhook(url: str, line: str) -> None:
    """A signed request is accepted and a wrongly signed one refused (403)."""
    signature, _, body = line.partition("\t")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(timeout=30) as client:
        bad = client.post(url, content=body, headers={**headers, "X-Twilio-Signature": "x"})
        if bad.status_code != 403:
            raise BenchFailure(f"a wrongly signed webhook got {bad.status_code}, not 403")
        good = client.post(url, content=body, headers={**headers, "X-Twilio-Signature": signature})
        if good.status_code != 200 or not good.text.startswith("<?xml"):
            raise BenchFailure(f"a signed webhook got {good.status_code}: {good.text[:300]}")


# -- report ---------------------------------------------------------------------------
def rows_get(report: Report, get: dict[str, Any], sizes: Sizes) -> None:
    for level in get["levels"].values():
        best, errors, c = level["best"], level["errors"], level["connections"]
        cl, bare = best["consentline"], best["bare-async"]
        # The target is judged against the faster, stricter baseline: the bare lookup
        # straight on the event loop, the execution model of consentline's own route.
        ratio = cl["requests_per_s"] / bare["requests_per_s"]
        report.add(
            Row(
                f"GET /v1/check (req/s, c={c}, {sizes.duration} s, best of {sizes.rounds})",
                cl["requests_per_s"],
                "req/s",
                baseline=bare["requests_per_s"],
                ratio=ratio,
                ratio_label=f"{ratio:.2f}× bare Starlette (async def)",
                target=f"≥ {GET_TARGET}× bare",
                met=ratio >= GET_TARGET and not errors,
                note=f"{len(errors)} runs with failed requests" if errors else "",
            )
        )
        threaded = best["bare"]["requests_per_s"]
        report.add(
            Row(
                f"GET /v1/check vs bare def endpoint (worker threads) (req/s, c={c})",
                cl["requests_per_s"],
                "req/s",
                baseline=threaded,
                ratio=cl["requests_per_s"] / threaded,
                ratio_label=f"{cl['requests_per_s'] / threaded:.2f}× bare (def)",
            )
        )
        for pct in ("p50", "p99"):
            if not cl["requests"]:
                continue  # nothing answered: no latency to report
            report.add(
                Row(
                    f"GET /v1/check latency {pct} (ms, c={c})",
                    cl["latency_us"][pct] / 1000,
                    "ms",
                    baseline=bare["latency_us"][pct] / 1000,
                )
            )


def rows_bulk(report: Report, bulk: dict[str, Any]) -> None:
    for figures in bulk["sizes"].values():
        n = figures["recipients"]
        ratio = figures["http_best_per_s"] / figures["api_best_per_s"]
        report.add(
            Row(
                f"POST /v1/check {n:,} recipients (recipients/s, best of 3)",
                figures["http_best_per_s"],
                "recipients/s",
                baseline=figures["api_best_per_s"],
                ratio=ratio,
                ratio_label=f"{ratio:.2f}× cl.check_many",
                target=f"≥ {BULK_TARGET:,}/s",
                met=figures["http_best_per_s"] >= BULK_TARGET,
                note=f"median {figures['http_median_per_s']:,.0f}/s"
                f" vs {figures['api_median_per_s']:,.0f}/s;"
                f" {figures['in_ledger']:,} in the ledger",
            )
        )


def rows_webhooks(report: Report, hooks: dict[str, Any], sizes: Sizes) -> None:
    lat = hooks["wrk"]["latency_us"]
    report.add(
        Row(
            f"Twilio webhooks, signed, durable (msgs/s, c={sizes.connections[0]})",
            hooks["msgs_per_s"],
            "msgs/s",
            target=f"≥ {WEBHOOK_TARGET:,}/s",
            met=hooks["msgs_per_s"] >= WEBHOOK_TARGET and not hooks["errors"],
            note=f"{hooks['messages_answered']:,} messages answered"
            f" ({hooks['messages_committed']:,} committed), {hooks['events_written']:,} events"
            f" in {hooks['seconds']:.1f} s"
            + (f"; {hooks['wrk']['failed']} failed requests" if hooks["wrk"]["failed"] else ""),
        )
    )
    report.add(Row("Twilio webhook latency p50 (ms)", lat["p50"] / 1000, "ms"))
    report.add(Row("Twilio webhook latency p99 (ms)", lat["p99"] / 1000, "ms"))


def write_results(path: Path, payload: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 5 s runs: a smoke run")
    parser.add_argument(
        "--connections",
        "-c",
        type=int,
        action="append",
        help="wrk connections; repeat for several GET runs (default: 32 and 8)."
        " The webhooks use the first.",
    )
    parser.add_argument("--duration", type=int, help="seconds per measured wrk run")
    parser.add_argument("--webhook-rate", type=int, help="msgs/s of webhooks to pre-generate")
    parser.add_argument(
        "--only", choices=("get", "bulk", "webhooks"), action="append", help="run only these"
    )
    args = parser.parse_args(argv)
    sizes = Sizes.pick(args.quick, args.connections or [32, 8], args.duration)
    if args.webhook_rate:
        sizes.webhook_rate = args.webhook_rate
    parts = set(args.only or ("get", "bulk", "webhooks"))
    wrk = wrk_version()
    if wrk is None and parts & {"get", "webhooks"}:
        print("wrk is not installed (apt-get install wrk): skipping GET and webhook benchmarks")
        parts -= {"get", "webhooks"}

    prep = prepare(sizes)
    report = Report("http")
    details: dict[str, Any] = {
        "sizes": sizes.__dict__,
        "uvicorn_run": 'uvicorn.run(app, host="127.0.0.1", port=P, workers=1,'
        ' log_level="warning", access_log=False)',
    }
    problems: list[str] = []
    steps = [("get", bench_get), ("bulk", bench_bulk), ("webhooks", bench_webhooks)]
    for name, step in steps:
        if name not in parts:
            continue
        print(f"  {name} ...", flush=True)
        try:
            details[name] = step(prep, sizes)
        except (BenchFailure, httpx.HTTPError) as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
            print(f"  FAILED {name}: {exc}", file=sys.stderr, flush=True)
        else:
            problems += details[name].get("errors", [])
    if "get" in details:
        rows_get(report, details["get"], sizes)
    if "bulk" in details:
        rows_bulk(report, details["bulk"])
    if "webhooks" in details:
        rows_webhooks(report, details["webhooks"], sizes)

    env = {**environment(), "wrk": wrk, "wrk_threads": 1}
    out = RESULTS / f"http{'-quick' if args.quick else ''}.json"
    payload = {
        "environment": env,
        "rows": [row.__dict__ for row in report.rows],
        "problems": problems,
        **details,
        "baselines": {
            "get": "bare Starlette GET /check (bench/http_servers.py): plain sqlite3,"
            " SELECT shape, ids, times, max_us FROM consent_state WHERE tenant_id=?"
            " AND channel=? AND address=?, JSON answer; same uvicorn.run settings",
            "bulk": "cl.check_many(recipients) through the Python API, in the bench process",
            "webhooks": "none (absolute target); rows committed in inbound_messages / seconds",
        },
    }
    write_results(out, payload)
    print(f"  wrote {out.relative_to(ROOT)}")
    print(f"\n## consentline HTTP benchmarks — {env['date']} ({env['git']}, {env['cpus']} CPUs)\n")
    print(markdown(report))
    if problems:
        print("\nfailed:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
