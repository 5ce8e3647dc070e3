"""``consentline serve`` as a real process on 127.0.0.1, for end-to-end tests.

    server = Server(f"sqlite:///{tmp_path / 'e2e.db'}")
    try:
        server.start()                  # returns once uvicorn listens and /healthz is 200
        httpx.get(f"{server.url}/healthz")
        server.kill()                   # SIGKILL: no shutdown, no flush, like a crash
        server.start()                  # the same database and admin key, a fresh port
    finally:
        server.stop()                   # SIGTERM, then SIGKILL after a timeout

The process's stdout and stderr go through a pipe into :attr:`Server.log` (every start
appends), so readiness is seen in uvicorn's own "Uvicorn running on" line rather than by
polling, and :meth:`Server.tail` gives the end of the log for assertion messages. In a
test session the log is a file of the session log directory (``tests.logscan``), whose
scan at the end of the run fails it if a server printed a number or a message body;
``log`` only names the file then (outside a session it is the file itself).

``faults=True`` runs ``tests/http/_fault_server.py`` instead: the same ``serve``
command with test-only routes that fail on purpose (see there).
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Final

import httpx

from tests import logscan

START_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 10.0
READY_LINE: Final = b"Uvicorn running on"
ROOT: Final = Path(__file__).resolve().parents[2]
_SERVERS = itertools.count(1)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_path(log: Path | None) -> Path:
    """A new file in the session log directory when there is one, else ``log``."""
    directory = logscan.session_directory()
    name = log.name if log is not None else "server.log"
    if directory is not None:
        return directory / f"server-{os.getpid()}-{next(_SERVERS):03d}-{name}"
    assert log is not None, "give a log path outside a test session"
    return log


def command(*, faults: bool = False) -> list[str]:
    """The installed ``consentline`` console script, next to this interpreter."""
    if faults:
        return [sys.executable, "-m", "tests.http._fault_server"]
    script = Path(sys.executable).with_name("consentline")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from consentline.cli import main; main()"]


class Server:
    """One ``consentline serve`` process at a time on a database that outlives it."""

    def __init__(
        self,
        db_url: str,
        log: Path | None = None,
        *,
        public_url: str | None = None,
        admin_key: str | None = None,
        outbound_allow: str | None = None,
        faults: bool = False,
    ) -> None:
        self.db_url = db_url
        self.log = log_path(log)
        self.faults = faults
        self.public_url = public_url
        # CONSENTLINE_OUTBOUND_ALLOW: "127.0.0.0/8" for stand-ins on this machine.
        self.outbound_allow = outbound_allow
        self.admin_key = admin_key or "cl_" + secrets.token_hex(20)
        self.port = 0
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._copier: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def start(self) -> None:
        """Start the process; return once it listens and answers ``/healthz``."""
        assert self._process is None, "the server is already running"
        self.port = free_port()
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENTLINE_")}
        env.update(CONSENTLINE_ADMIN_KEY=self.admin_key, PYTHONUNBUFFERED="1")
        if self.faults:
            env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        if self.public_url is not None:
            env["CONSENTLINE_PUBLIC_URL"] = self.public_url
        if self.outbound_allow is not None:
            env["CONSENTLINE_OUTBOUND_ALLOW"] = self.outbound_allow
        args = [*command(faults=self.faults), "--db", self.db_url, "serve", "--host", "127.0.0.1"]
        args += ["--port", str(self.port)]
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts}: port {self.port}\n".encode())
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        assert process.stdout is not None
        ready = threading.Event()
        self._process = process
        self._copier = threading.Thread(
            target=self._copy, args=(process.stdout, ready), name="server-log", daemon=True
        )
        self._copier.start()
        if not ready.wait(START_TIMEOUT) or process.poll() is not None:
            raise AssertionError(f"consentline serve did not start:\n{self.tail()}")
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            health = client.get("/healthz")
        assert health.status_code == 200, f"/healthz: {health.status_code}\n{self.tail()}"

    def _copy(self, stream: IO[bytes], ready: threading.Event) -> None:
        with self.log.open("ab") as log:
            for line in stream:
                log.write(line)
                log.flush()
                if READY_LINE in line:
                    ready.set()
        ready.set()  # the process ended: let start() see it at once

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no shutdown handler runs."""
        os.kill(self.pid, signal.SIGKILL)
        self._reap(STOP_TIMEOUT)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM); SIGKILL if it has not ended within the timeout."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
        self._reap(STOP_TIMEOUT)

    def _reap(self, timeout: float) -> None:
        process, copier = self._process, self._copier
        assert process is not None and copier is not None
        process.wait(timeout)
        copier.join(timeout)
        assert process.stdout is not None
        process.stdout.close()
        self._process = self._copier = None

    def tail(self, lines: int = 40) -> str:
        """The end of the server's log, for assertion messages."""
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])
