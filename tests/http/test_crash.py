"""The crash test: SIGKILL the server in the middle of a burst of signed STOP webhooks.

``consentline serve`` runs as a separate process on 127.0.0.1 with a SQLite database
in ``tmp_path``. A burst of Twilio inbound STOPs, each from its own handset and each
signed by Twilio's own SDK (``twilio.request_validator.RequestValidator``), is POSTed
concurrently; the process is killed with SIGKILL right after the K-th 2xx, with
requests still in flight. What it proves:

* a 2xx is sent only after the commit: every opt-out acknowledged before the kill is
  in the ledger when the database is opened after the crash, before any retry;
* deduplication on ``MessageSid``: the server is restarted on the same database and,
  as Twilio does, every webhook is delivered again, twice (acknowledged ones too).
  All are then answered 2xx, each handset has exactly one ``opt_out`` event, one
  stored inbound message and one confirmation, a retry gets the same TwiML as the
  first answer, and the hash chain verifies;
* the confirmation goes out once, inline in the TwiML, and is never also handed to
  the send API by the server's background worker.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

import consentline
from tests.http._server import Server, free_port

PUBLIC = "https://consentline.example.com"  # what Twilio signs; the port may change
LINE = "+18005550100"
ACCOUNT_SID = "AC" + "c0" * 16
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
N = 240  # webhooks in the burst, one handset each
KILL_AFTER = N // 3  # SIGKILL right after this many 2xx answers
THREADS = 12
TIMEOUT = httpx.Timeout(15.0)


@dataclass(frozen=True)
class Hook:
    """One signed Twilio inbound STOP, as Twilio would (re)deliver it."""

    sid: str
    handset: str
    body: bytes
    signature: str


def make_hooks() -> list[Hook]:
    """Fields as in tests/providers/payloads/twilio_stop.txt, without ``OptOutType``
    (so the confirmation is ours, inline in the TwiML)."""
    validator = RequestValidator(AUTH_TOKEN)
    hooks = []
    for i in range(N):
        sid = "SM" + secrets.token_hex(16)
        handset = f"+1415555{1000 + i:04d}"
        params = {
            "ToCountry": "US",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "SmsStatus": "received",
            "Body": "STOP",
            "FromCountry": "US",
            "To": LINE,
            "NumSegments": "1",
            "MessageSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": handset,
            "ApiVersion": "2010-04-01",
        }
        signature = validator.compute_signature(f"{PUBLIC}/webhooks/twilio", params)
        hooks.append(Hook(sid, handset, urlencode(params).encode(), signature))
    return hooks


@dataclass
class Burst:
    """Answers to one round of deliveries: the 2xx bodies, and what failed."""

    acked: dict[str, bytes] = field(default_factory=dict)  # MessageSid -> TwiML
    errors: dict[str, str] = field(default_factory=dict)  # MessageSid -> non-2xx answer
    failed: dict[str, str] = field(default_factory=dict)  # MessageSid -> reset, refused...

    def unacknowledged(self) -> set[str]:
        return set(self.errors) | set(self.failed)


def deliver(
    server: Server, hooks: list[Hook], *, on_ack: Callable[[int], None] | None = None
) -> Burst:
    """POST every hook from THREADS threads; ``on_ack(count)`` after each 2xx."""
    burst = Burst()
    lock = threading.Lock()
    local = threading.local()
    clients: list[httpx.Client] = []
    url = f"{server.url}/webhooks/twilio"

    def send(hook: Hook) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=TIMEOUT)
            with lock:
                clients.append(local.client)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": hook.signature,
        }
        try:
            response = local.client.post(url, content=hook.body, headers=headers)
        except httpx.TransportError as error:  # reset, refused: not acknowledged
            with lock:
                burst.failed[hook.sid] = f"{type(error).__name__}: {error}"
            return
        with lock:
            if response.is_success:
                burst.acked[hook.sid] = response.content
                count = len(burst.acked)
            else:
                burst.errors[hook.sid] = f"{response.status_code} {response.text[:200]}"
                return
        if on_ack is not None:
            on_ack(count)

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(send, hooks))
    finally:
        for client in clients:
            client.close()
    return burst


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    found = Server(
        f"sqlite:///{tmp_path / 'crash.db'}",
        tmp_path / "server.log",
        public_url=PUBLIC,
        outbound_allow="127.0.0.0/8",  # the upstream_base_url below is on this machine
    )
    try:
        yield found
    finally:
        found.stop()


def set_up(server: Server) -> None:
    """acme (US) with the line, and Twilio credentials, over the admin API."""
    with httpx.Client(base_url=server.url, headers=server.admin_headers(), timeout=TIMEOUT) as api:
        steps = [
            ("POST", "/v1/accounts", {"slug": "acme", "default_region": "US"}),
            ("POST", "/v1/lines", {"number": LINE, "account": "acme"}),
            (
                "PUT",
                "/v1/accounts/acme/providers/twilio",
                # Replies are inline TwiML; should one go through the send API
                # instead, it meets a closed port here, never api.twilio.com.
                {
                    "account_sid": ACCOUNT_SID,
                    "auth_token": AUTH_TOKEN,
                    "upstream_base_url": f"http://127.0.0.1:{free_port()}",
                },
            ),
        ]
        for method, path, body in steps:
            response = api.request(method, path, json=body)
            assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"


def count_by(conn: sa.Connection, sql: str) -> Counter[str]:
    return Counter({str(key): int(n) for key, n in conn.execute(sa.text(sql))})


def test_acknowledged_opt_outs_survive_sigkill_and_retries_add_no_duplicates(
    server: Server,
) -> None:
    hooks = make_hooks()
    handset_of = {h.sid: h.handset for h in hooks}
    server.start()
    set_up(server)

    killed = threading.Event()

    def kill_after_k(count: int) -> None:
        if count == KILL_AFTER:
            killed.set()
            server.kill()

    before = deliver(server, hooks, on_ack=kill_after_k)
    assert killed.is_set(), f"the burst ended before the kill: {len(before.acked)} acked"
    log = server.tail()
    assert not before.errors, f"error answers before the kill: {before.errors}\n{log}"
    acked_before = set(before.acked)
    assert KILL_AFTER <= len(acked_before) < N, f"not mid-burst: {len(acked_before)} acked"
    assert len(acked_before) + len(before.failed) == N

    # After the crash, before any retry: every acknowledged opt-out is on disk.
    with consentline.connect(server.db_url) as cl:
        for sid in sorted(acked_before):
            actions = [e.action for e in cl.history(handset_of[sid], account="acme")]
            assert actions == ["opt_out"], f"acked {sid} ({handset_of[sid]}): {actions}\n{log}"
        committed_unacked = sum(
            bool(cl.history(handset_of[sid], account="acme")) for sid in before.failed
        )
    print(
        f"\ncrash: {len(acked_before)}/{N} acked before SIGKILL; of the rest"
        f" {committed_unacked} were already committed;"
        f" failures {Counter(why.split(':')[0] for why in before.failed.values())}"
    )

    # Twilio retries what failed and may re-deliver what it saw acknowledged: all, twice.
    server.start()
    first = deliver(server, hooks)
    second = deliver(server, hooks)
    server.stop()
    log = server.tail()
    for retry in (first, second):
        unacknowledged = {s: retry.errors.get(s) or retry.failed[s] for s in retry.unacknowledged()}
        assert not unacknowledged, f"retries not all 2xx: {unacknowledged}\n{log}"
    for sid in acked_before:
        assert first.acked[sid] == before.acked[sid], f"{sid}: a retry answered differently"
    assert second.acked == first.acked, "a second retry answered differently"
    confirmed = {sid for sid, twiml in first.acked.items() if b"<Message>" in twiml}
    assert confirmed == set(handset_of), (
        f"no confirmation in the TwiML for {set(handset_of) - confirmed}"
    )

    with consentline.connect(server.db_url) as cl:
        for hook in hooks:
            actions = [e.action for e in cl.history(hook.handset, account="acme")]
            assert actions == ["opt_out"], f"{hook.sid} ({hook.handset}): {actions}\n{log}"
        with cl.engine.connect() as conn:
            events = count_by(conn, "SELECT address, count(*) FROM events GROUP BY address")
            inbound = count_by(
                conn, "SELECT message_id, count(*) FROM inbound_messages GROUP BY message_id"
            )
            replies = count_by(
                conn,
                "SELECT to_address, count(*) FROM outbox"
                " WHERE kind = 'opt_out_confirmation' GROUP BY to_address",
            )
            # Sent once, inline in the TwiML; never also tried through the send API.
            delivery = count_by(
                conn,
                "SELECT status || ' ' || coalesce(detail, '') || ' attempts=' || attempts,"
                " count(*) FROM outbox GROUP BY 1",
            )
        report = cl.verify()
    handsets = Counter(h.handset for h in hooks)
    assert events == handsets, "opt-out events per handset"
    assert inbound == Counter(h.sid for h in hooks), "stored inbound messages per MessageSid"
    assert replies == handsets, "opt-out confirmations per handset"
    assert report.ok and report.events == N, report.as_dict()
    assert delivery == Counter({"sent inline attempts=0": N}), (
        "each confirmation must go out once, inline in the TwiML; attempts>0 means the"
        " background worker also tried it through the send API, a second SMS"
        f" (outbox status, detail, attempts: {dict(delivery)})"
    )
