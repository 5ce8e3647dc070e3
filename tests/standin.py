"""A stand-in HTTP server on 127.0.0.1 for the services consentline calls out to.

Tests never reach the internet: a webhook subscriber or a provider's send API is
replaced by this server, started by the test on a free port. It records every
request and answers from a script (a list of statuses or a function).

>>> with StandIn() as server:                                 # doctest: +SKIP
...     server.answer(500, 200)          # first request 500, then 200 for good
...     ... server.url ...
...     server.requests[0].json()
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    delay_s: float = 0.0


Script = Callable[[Recorded], Answer]


@dataclass
class StandIn:
    requests: list[Recorded] = field(default_factory=list)
    _script: list[Answer] = field(default_factory=list)
    _default: Answer = field(default_factory=Answer)
    _function: Script | None = None

    def __enter__(self) -> Self:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                answer = owner._next(recorded)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_POST = do_GET = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean (and numbers out of it)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, *statuses: int | Answer) -> None:
        """Answer the next requests with these, then keep answering with the last."""
        answers = [s if isinstance(s, Answer) else Answer(s) for s in statuses]
        self._script = answers[:-1]
        self._default = answers[-1]

    def respond(self, function: Script) -> None:
        self._function = function

    def _next(self, recorded: Recorded) -> Answer:
        self.requests.append(recorded)
        if self._function is not None:
            return self._function(recorded)
        if self._script:
            return self._script.pop(0)
        return self._default
