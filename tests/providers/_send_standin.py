"""A stand-in for a provider's send API on 127.0.0.1: records requests, answers canned.

Tests talk to loopback only, so this server replaces the provider's API when an
official SDK sends a message: the SDK's request is what we compare ours with.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the stand-in received it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StandIn:
    """The running server: its base URL, what it received, what it answers."""

    url: str
    status: int = 200
    body: bytes = b"{}"
    received: list[Recorded] = field(default_factory=list)

    def answer(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body

    def only(self) -> Recorded:
        """The single request received (fails when there were none or several)."""
        assert len(self.received) == 1, [r.path for r in self.received]
        return self.received[0]


@contextmanager
def standin() -> Iterator[StandIn]:
    """Serve on 127.0.0.1, port chosen by the OS, until the block ends."""
    state = StandIn(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.received.append(Recorded(self.command, self.path, headers, body))
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        do_GET = do_POST = do_PUT = _record

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
