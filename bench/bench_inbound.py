"""Inbound benchmark: ``handle_inbound`` end to end, durable, on SQLite (and PostgreSQL).

End to end means what a provider webhook costs after parsing: resolve the line,
deduplicate on (provider, message id), classify, fold the address's state,
append the event(s) to the hash chain, update the projection, store the raw
message, queue the reply in the outbox — committed with ``synchronous=FULL``.

The traffic is realistic rather than flattering: the 4,827 real ``ham`` texts of
the SMS Spam Collection mixed with STOP / START / HELP / YES replies, from
20,000 distinct numbers, so most messages classify as nothing or go to review
and about a quarter write an event.

    .venv/bin/python bench/bench_inbound.py                 # SQLite
    .venv/bin/python bench/bench_inbound.py --postgres URL  # also PostgreSQL
    .venv/bin/python bench/bench_inbound.py --json

Baseline, measured in the same run: the bare durable write the same batch needs
without consentline — one executemany INSERT of the raw messages into a plain
SQLite table and a commit — so the ratio shows what classification, dedupe,
the ledger and the outbox cost on top of storing the messages at all.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import consentline
from consentline import InboundMessage

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "sms-spam-collection" / "SMSSpamCollection.tsv"
LINE = "+18005550100"
TARGET = 2_000


def traffic(count: int, seed: int = 7) -> list[InboundMessage]:
    ham = [
        text
        for label, _, text in (line.partition("\t") for line in CORPUS.read_text().splitlines())
        if label == "ham"
    ]
    replies = ["STOP"] * 6 + ["Stop."] * 2 + ["START"] * 2 + ["HELP", "YES", "stop please"]
    rng = random.Random(seed)
    out = []
    for n in range(count):
        text = rng.choice(replies) if rng.random() < 0.3 else rng.choice(ham)
        number = f"+1415{rng.randrange(200, 1000):03d}{rng.randrange(10_000):04d}"
        out.append(
            InboundMessage(
                from_=number, to=LINE, text=text, provider="twilio", message_id=f"SM{n:08d}"
            )
        )
    return out


def prepare(url: str) -> consentline.Consentline:
    cl = consentline.connect(url)
    cl.create_account("acme", default_region="US")
    cl.add_line(LINE, account="acme")
    cl.configure_account(
        "acme", program_name="Acme Alerts", support_contact="help@acme.example",
        frequency="4 msgs/month",
    )  # fmt: skip
    return cl


def run(url: str, messages: list[InboundMessage], batch: int) -> dict[str, Any]:
    cl = prepare(url)
    # warm-up: first-use costs (classifier tables, prepared statements) out of the figure
    cl.handle_inbound_many(traffic(200, seed=99))
    started = time.perf_counter()
    for start in range(0, len(messages), batch):
        cl.handle_inbound_many(messages[start : start + batch])
    batched = len(messages) / (time.perf_counter() - started)
    singles = []
    for message in traffic(300, seed=11):
        unique = dataclasses.replace(message, message_id=uuid.uuid4().hex)
        t0 = time.perf_counter()
        cl.handle_inbound_many([unique])
        singles.append(time.perf_counter() - t0)
    singles.sort()
    retry = messages[:batch]
    t0 = time.perf_counter()
    results = cl.handle_inbound_many(retry)  # a provider retrying a whole batch
    retried = len(retry) / (time.perf_counter() - t0)
    assert all(r.duplicate for r in results)
    events = cl.verify().events
    cl.close()
    return {
        "messages": len(messages),
        "batch": batch,
        "batched_msgs_per_s": batched,
        "single_p50_ms": statistics.median(singles) * 1000,
        "single_p99_ms": singles[int(len(singles) * 0.99) - 1] * 1000,
        "retried_batch_msgs_per_s": retried,
        "events_written": events,
    }


def baseline(messages: list[InboundMessage], batch: int) -> float:
    """Bare durable insert of the same messages into a plain SQLite table."""
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(Path(folder) / "raw.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(
            "CREATE TABLE inbound (id INTEGER PRIMARY KEY, provider TEXT, message_id TEXT,"
            " sender TEXT, line TEXT, body TEXT, UNIQUE (provider, message_id))"
        )
        started = time.perf_counter()
        for start in range(0, len(messages), batch):
            rows = [
                (m.provider, m.message_id, m.from_, m.to, m.text)
                for m in messages[start : start + batch]
            ]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO inbound (provider, message_id, sender, line, body)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute("COMMIT")
        rate = len(messages) / (time.perf_counter() - started)
        conn.close()
    return rate


def postgres_url(url: str) -> str:
    """A fresh schema in the given database, so runs never touch other data."""
    schema = f"bench_inbound_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    return (
        sa.engine.make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--postgres", help="also run on this PostgreSQL URL (a scratch schema)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    messages = traffic(args.messages)
    raw = baseline(messages, args.batch)
    report: dict[str, Any] = {"baseline_raw_insert_msgs_per_s": raw, "runs": {}}
    with tempfile.TemporaryDirectory() as folder:
        report["runs"]["sqlite"] = run(f"sqlite:///{folder}/inbound.db", messages, args.batch)
    if args.postgres:
        report["runs"]["postgres"] = run(postgres_url(args.postgres), messages, args.batch)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"handle_inbound end to end, {args.messages:,} messages, batches of {args.batch}\n")
    print(
        "| backend | batched msgs/s | target | single p50 | single p99 | retry msgs/s |"
        " events | vs raw insert |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in report["runs"].items():
        met = "met" if r["batched_msgs_per_s"] >= TARGET else "NOT met"
        print(
            f"| {name} | {r['batched_msgs_per_s']:,.0f} | ≥ {TARGET:,} ({met}) |"
            f" {r['single_p50_ms']:.2f} ms | {r['single_p99_ms']:.2f} ms |"
            f" {r['retried_batch_msgs_per_s']:,.0f} | {r['events_written']:,} |"
            f" {raw / r['batched_msgs_per_s']:.1f}× slower than {raw:,.0f}/s |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
