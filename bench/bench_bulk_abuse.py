"""Bulk checks as a denial of service (issue 8, defect 10), each figure against a baseline.

1. Invalid-number handling in-process: the address normalisation the gate runs on an
   invalid recipient today vs the pre-change pattern (``phonenumbers.parse`` +
   ``is_valid_number`` + an ``InvalidAddress`` with a masked message, uncached), µs per
   recipient, on three kinds of invalid input.
2. ``POST /v1/check`` with 500,000 invalid numbers (~8 MB, the issue's attack) and
   the other invalid kinds: the server process's CPU seconds (``/proc/<pid>/stat``)
   and wall time for the request, and how it ended (200, 200 cut off by the time
   budget with a final ``error`` member, or a typed 4xx).
3. ``GET /v1/check`` latency p50/p99 from one sequential keep-alive client (in this
   process; each bulk request is sent from a process of its own): alone, while another
   process keeps a core busy (what any CPU-bound work beside it costs on this machine),
   and while each bulk request above runs.
4. Concurrent bulk requests beyond the cap: how many were answered 429.

Run ``python bench/bench_bulk_abuse.py [--quick]``; see bench/README.md ("Bulk check
abuse"). Only 127.0.0.1 is contacted. Every request is bounded (``REQUEST_TIMEOUT``)
and every list has at most ``--size`` recipients.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import phonenumbers

from bench_core import RESULTS, ROOT, Report, Row, environment, markdown, us_number
from bench_http import LINE, PURPOSE, BenchFailure, Prepared, Server, Sizes, prepare, serve
from consentline.domain.addresses import normalise_address

try:
    from consentline.domain.addresses import address_or_none
except ImportError:  # before the change: what the gate called then

    def address_or_none(raw: object, channel: str, region: str | None = None) -> str | None:
        try:
            return normalise_address(raw, channel, region)  # type: ignore[arg-type]
        except InvalidAddress:
            return None


from consentline.domain.errors import InvalidAddress, mask
from consentline.settings import DEFAULT_MAX_BULK_BODY, Settings

REQUEST_TIMEOUT = 600  # s: no request of this benchmark may take longer
PROBE_SECONDS = 5.0  # the GET probe alone
MICRO_SIZE = 20_000  # recipients per kind in the in-process comparison


# -- the invalid lists ----------------------------------------------------------------
def issue_kind(i: int) -> str:
    """E.164-shaped but impossible: a NANP number whose area code starts with 0 (12
    characters, so 500,000 of them make the issue's ~8 MB body)."""
    return f"+10{i:09d}"


def garbage_kind(i: int) -> str:
    """What a dirty CSV holds: words, national formats that are not numbers, stray
    punctuation, numbers with a digit missing or too many."""
    n = us_number(i)
    options = (
        f"n/a {i}",
        f"(0{i % 100:02d}) 555-{i % 10_000:04d}",
        n[:-1],
        n + "7",
        f"tel:{i:08d}",
        f"0{i:011d}",
    )
    return options[i % len(options)]


def hard_kind(i: int) -> str:
    """Adversarial: shaped like a NANP number of a real area code (so no cheap
    syntactic filter rejects it) but with an exchange starting with 0 or 1."""
    return f"+1{us_number(i)[2:5]}{i % 2}{i % 1_000_000:06d}"


KINDS: dict[str, Callable[[int], str]] = {
    "issue": issue_kind,
    "garbage": garbage_kind,
    "hard": hard_kind,
}


def invalid_list(kind: str, size: int) -> list[str]:
    make = KINDS[kind]
    return [make(i) for i in range(size)]


# -- 1. in-process --------------------------------------------------------------------
def old_normalise(raw: str, region: str | None) -> str:
    """The pre-change cost of an invalid number (what ``_parse_phone`` did on a miss:
    its cache never held failures)."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(
            f"{mask(text)} is not a phone number ({exc._msg})", address=mask(text)
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidAddress(f"{mask(text)} is not a valid phone number", address=mask(text))
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _per_item_us(fn: Callable[[str], object], items: list[str]) -> float:
    started = time.perf_counter()
    for raw in items:
        try:  # noqa: SIM105 - a with-block would add its own cost to what is timed
            fn(raw)
        except InvalidAddress:
            pass
    return (time.perf_counter() - started) / len(items) * 1e6


def bench_micro(kinds: Sequence[str], size: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in kinds:
        # Offset past the HTTP lists, so no cache of this process helps either side.
        items = [KINDS[kind](i) for i in range(10_000_000, 10_000_000 + size)]
        for raw in items[:200]:  # warm both code paths (imports, compiled patterns)
            with contextlib.suppress(InvalidAddress):
                old_normalise(raw, "US")
            with contextlib.suppress(InvalidAddress):
                normalise_address(raw, "sms", "US")
        valid = sum(1 for raw in items if _valid(raw))
        if valid:
            raise BenchFailure(f"{valid} of the {kind!r} list are valid numbers")
        old = _per_item_us(lambda r: old_normalise(r, "US"), items)
        new = _per_item_us(lambda r: address_or_none(r, "sms", "US"), items)
        raising = _per_item_us(lambda r: normalise_address(r, "sms", "US"), items)
        out[kind] = {"recipients": size, "old_us": old, "new_us": new, "raising_us": raising}
        print(
            f"  invalid {kind}: {new:.2f} µs/recipient (pre-change pattern {old:.2f} µs;"
            f" normalise_address, which raises, {raising:.2f} µs)"
        )
    return out


def _valid(raw: str) -> bool:
    try:
        normalise_address(raw, "sms", "US")
    except InvalidAddress:
        return False
    return True


# -- 2./3. over HTTP --------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux ``/proc``), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


class Probe:
    """Sequential GET /v1/check on one keep-alive connection (``http.client``: a
    light client, so the figures are mostly the server's), until stopped."""

    def __init__(self, server: Server, prep: Prepared) -> None:
        self.port = server.port
        self.path = f"/v1/check?from={quote(LINE, safe='')}&purpose={PURPOSE}&to="
        self.headers = {"Authorization": f"Bearer {prep.api_key}"}
        self.numbers = [quote(n, safe="") for n in prep.recipients[:5000]]

    def run(self, until: Callable[[], bool], limit_s: float) -> list[float]:
        latencies: list[float] = []
        deadline = time.monotonic() + limit_s
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            i = 0
            while not until() and time.monotonic() < deadline:
                started = time.perf_counter()
                conn.request(
                    "GET", self.path + self.numbers[i % len(self.numbers)], headers=self.headers
                )
                response = conn.getresponse()
                answer = response.read()
                latencies.append(time.perf_counter() - started)
                if response.status != 200:
                    raise BenchFailure(f"GET /v1/check: {response.status} {answer[:200]!r}")
                i += 1
        finally:
            conn.close()
        return latencies


def summary(latencies: list[float]) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000,
    }


def bulk_request(
    base: str,
    pid: int,
    key: str,
    body: bytes,
    size: int,
    received: Any = None,
) -> dict[str, Any]:
    """One bulk check, streamed to the end; what it answered and what it cost the
    server (process ``pid``). ``received`` (an Event) is set at the answer's last byte."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    before = cpu_seconds(pid)
    started = time.perf_counter()
    with (
        httpx.Client(timeout=REQUEST_TIMEOUT) as client,
        client.stream("POST", f"{base}/v1/check", content=body, headers=headers) as r,
    ):
        raw = r.read()
    wall = time.perf_counter() - started
    cpu = cpu_seconds(pid) - before
    if received is not None:
        received.set()
    out: dict[str, Any] = {"status": r.status_code, "wall_s": wall, "server_cpu_s": cpu}
    answer = json.loads(raw)
    if r.status_code == 200:
        results = answer["results"]
        out["answered"] = len(results)
        out["error"] = answer.get("error")
        if any(x["reason"] != "invalid_address" or x["allowed"] for x in results):
            raise BenchFailure("an invalid recipient was not answered invalid_address")
        if out["error"] is None and len(results) != size:
            raise BenchFailure(f"answered {len(results)} of {size} without an error")
    else:
        out["answered"] = 0
        out["error"] = answer
    return out


def _burn(stop: Any) -> None:
    """Keep one core busy (a process of its own: no GIL shared with anyone)."""
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def with_a_busy_core(probe: Probe) -> list[float]:
    """The probe while another process keeps a core busy: on a 2-core machine, what
    a CPU-bound bulk check costs single checks even with no GIL in the way."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    burner = context.Process(target=_burn, args=(stop,))
    burner.start()
    try:
        time.sleep(0.5)  # let it start burning
        return probe.run(lambda: False, PROBE_SECONDS)
    finally:
        stop.set()
        burner.join(30)
        if burner.is_alive():
            burner.kill()


def _bulk_child(args: tuple[Any, ...], received: Any, results: Any) -> None:
    """In a process of its own, so that reading a large answer never competes with
    the probe for this process's GIL."""
    try:
        results.put(bulk_request(*args, received))
    except Exception as exc:  # reported, never swallowed
        results.put({"failure": repr(exc)})
    finally:
        received.set()


def with_probe(
    server: Server, prep: Prepared, body: bytes, size: int
) -> tuple[dict[str, Any], list[float]]:
    context = multiprocessing.get_context("spawn")
    received = context.Event()
    results = context.Queue()
    args = (server.base, server.process.pid, prep.api_key, body, size)
    child = context.Process(target=_bulk_child, args=(args, received, results))
    child.start()
    try:
        latencies = Probe(server, prep).run(received.is_set, REQUEST_TIMEOUT)
        result: dict[str, Any] = results.get(timeout=REQUEST_TIMEOUT)
    finally:
        child.join(REQUEST_TIMEOUT)
        if child.is_alive():
            child.kill()
    if "failure" in result:
        raise BenchFailure(f"bulk request failed: {result['failure']}")
    return result, latencies


def concurrent_bulk(server: Server, prep: Prepared, body: bytes, size: int, n: int) -> Any:
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    args = (server.base, server.process.pid, prep.api_key, body, size)

    def send() -> None:
        try:
            found = bulk_request(*args)
        except Exception as exc:
            found = {"failure": repr(exc)}
        with lock:
            results.append(found)

    threads = [threading.Thread(target=send) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(REQUEST_TIMEOUT)
    statuses = sorted(r.get("status", 0) for r in results)
    return {"requests": n, "statuses": statuses, "results": results}


def bench_http(prep: Prepared, kinds: Sequence[str], size: int, max_body: int) -> dict[str, Any]:
    out: dict[str, Any] = {"kinds": {}}
    with serve("consentline", prep.db, max_body) as server:
        out["server"] = server.info
        probe = Probe(server, prep)
        probe.run(lambda: False, 1.0)  # warm-up
        alone = probe.run(lambda: False, PROBE_SECONDS)
        out["get_alone"] = summary(alone)
        out["get_busy_core"] = summary(with_a_busy_core(probe))
        for label, key in (("alone", "get_alone"), ("with a core busy elsewhere", "get_busy_core")):
            print(
                f"  GET {label}: p50 {out[key]['p50_ms']:.2f} ms,"
                f" p99 {out[key]['p99_ms']:.2f} ms ({out[key]['requests']:,} requests)"
            )
        for kind in kinds:
            recipients = invalid_list(kind, size)
            body = json.dumps({"from": LINE, "purpose": PURPOSE, "recipients": recipients})
            encoded = body.encode()
            if len(encoded) > max_body:
                raise BenchFailure(f"the {kind!r} body ({len(encoded):,} bytes) is over the limit")
            solo = bulk_request(server.base, server.process.pid, prep.api_key, encoded, size)
            beside, latencies = with_probe(server, prep, encoded, size)
            figures = {
                "recipients": size,
                "body_bytes": len(encoded),
                "alone": solo,
                "with_probe": beside,
                "get_during": summary(latencies) if latencies else None,
            }
            out["kinds"][kind] = figures
            during = figures["get_during"]
            print(
                f"  POST {size:,} invalid ({kind}, {len(encoded) / 1e6:.1f} MB):"
                f" {solo['status']}, server CPU {solo['server_cpu_s']:.2f} s,"
                f" wall {solo['wall_s']:.2f} s, answered {solo['answered']:,}"
                + (f", error {solo['error'].get('code')}" if solo.get("error") else "")
                + (
                    f"; GET during: p50 {during['p50_ms']:.2f} ms, p99 {during['p99_ms']:.2f} ms"
                    f" ({during['requests']:,} requests)"
                    if during
                    else ""
                ),
                flush=True,
            )
        cap = getattr(Settings(), "max_bulk_checks", None)
        if cap is not None:
            body = json.dumps(
                {"from": LINE, "purpose": PURPOSE, "recipients": invalid_list("issue", size)}
            ).encode()
            out["concurrent"] = concurrent_bulk(server, prep, body, size, cap + 2)
            print(f"  {cap + 2} bulk requests at once (cap {cap}): {out['concurrent']['statuses']}")
    return out


# -- report ---------------------------------------------------------------------------
def rows(report: Report, micro: dict[str, Any], http: dict[str, Any]) -> None:
    for kind, figures in micro.items():
        ratio = figures["new_us"] / figures["old_us"]
        report.add(
            Row(
                f"invalid recipient, {kind} (µs, in-process, {figures['recipients']:,})",
                figures["new_us"],
                "µs",
                baseline=figures["old_us"],
                ratio=ratio,
                ratio_label=f"{ratio:.2f}× the pre-change pattern",
                note=f"normalise_address, which raises: {figures['raising_us']:.1f} µs",
            )
        )
    alone, busy = http["get_alone"], http["get_busy_core"]
    for pct in ("p50", "p99"):
        report.add(
            Row(
                f"GET /v1/check {pct} alone (ms)",
                alone[f"{pct}_ms"],
                "ms",
                note=f"{alone['requests']:,} requests",
            )
        )
        report.add(
            Row(
                f"GET /v1/check {pct} while another process keeps a core busy (ms)",
                busy[f"{pct}_ms"],
                "ms",
                baseline=alone[f"{pct}_ms"],
                ratio=busy[f"{pct}_ms"] / alone[f"{pct}_ms"],
                ratio_label=f"{busy[f'{pct}_ms'] / alone[f'{pct}_ms']:.2f}× alone",
                note=f"{busy['requests']:,} requests",
            )
        )
    for kind, figures in http["kinds"].items():
        solo = figures["alone"]
        ended = f"HTTP {solo['status']}, {solo['answered']:,} answered" + (
            f", ended by {solo['error'].get('code')}" if solo.get("error") else ""
        )
        report.add(
            Row(
                f"POST /v1/check {figures['recipients']:,} invalid ({kind},"
                f" {figures['body_bytes'] / 1e6:.1f} MB): server CPU (s)",
                solo["server_cpu_s"],
                "s",
                note=f"{ended}; wall {solo['wall_s']:.2f} s",
            )
        )
        during = figures["get_during"]
        if during:
            for pct in ("p50", "p99"):
                value, base = during[f"{pct}_ms"], alone[f"{pct}_ms"]
                report.add(
                    Row(
                        f"GET /v1/check {pct} during it (ms)",
                        value,
                        "ms",
                        baseline=base,
                        ratio=value / base,
                        ratio_label=f"{value / base:.2f}× alone",
                        note=f"{during['requests']:,} requests",
                    )
                )
    if "concurrent" in http:
        c = http["concurrent"]
        refused = sum(1 for s in c["statuses"] if s == 429)
        report.add(
            Row(
                f"{c['requests']} concurrent bulk checks: answered 429",
                refused,
                "requests",
                note=f"statuses {c['statuses']}",
            )
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 recipients: a smoke run")
    parser.add_argument("--size", type=int, help="recipients per bulk request (default 500,000)")
    parser.add_argument(
        "--kind", choices=list(KINDS), action="append", help="only these invalid lists"
    )
    args = parser.parse_args(argv)
    kinds = args.kind or list(KINDS)
    size = args.size or (50_000 if args.quick else 500_000)
    max_body = getattr(Settings(), "max_bulk_body", DEFAULT_MAX_BULK_BODY)
    prep = prepare(Sizes.pick(True, [8], None))  # the 20,000-number HTTP ledger
    report = Report("bulk-abuse")
    micro = bench_micro(kinds, MICRO_SIZE if not args.quick else 5_000)
    http = bench_http(prep, kinds, size, max_body)
    rows(report, micro, http)
    env = environment()
    out = RESULTS / f"bulk-abuse{'-quick' if args.quick else ''}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "environment": env,
        "rows": [row.__dict__ for row in report.rows],
        "micro": micro,
        "http": http,
        "baselines": {
            "micro": "the pre-change invalid path (phonenumbers.parse + is_valid_number"
            " + InvalidAddress with a masked message), same inputs, same process",
            "get": "the same GET probe alone, same server, just before",
        },
    }
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    print(f"  wrote {out.relative_to(ROOT)}")
    print(f"\n## consentline bulk-check abuse — {env['date']} ({env['git']})\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
