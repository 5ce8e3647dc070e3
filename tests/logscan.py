"""The session-wide log scan: no phone number and no message text in any log line (C23).

Every log record emitted anywhere in the test process during the whole session is
captured (whatever its logger's handlers or propagation: ``Logger.callHandlers`` is
wrapped), formatted exactly as ``consentline serve`` would print it (the handler and
formatter that :func:`consentline.http.logging.uvicorn_log_config` gives its logger,
tracebacks included), and written to ``in-process.log`` in the session log
directory (``in-process-gwN.log`` by each pytest-xdist worker: the controller, which
runs no test, scans them all). Servers run as subprocesses (``tests/http/_server.py``)
write their stdout and stderr to files in the same directory. ``consentline`` loggers are
lowered to DEBUG for the session, so a debug line that leaks is caught too.

At the end of the session every file there is scanned for

* the digits of every phone number written in the tests' source and payload files
  (``+1...``, ``%2B1...``, with separators; generated numbers are caught through the
  literal prefix they are built from, e.g. ``f"+1415555{i:04d}"`` leaves ``+1415555``),
  in any notation: separators between digits are ignored;
* :data:`CANARY`, the token every canary message body carries (the dedicated tests
  in ``tests/http/test_log_hygiene.py`` send canaries through every route kind).

Any hit fails the run (exit status 1) and is listed in the terminal summary, masked.
The directory is ``$CONSENTLINE_TEST_LOG_DIR`` if set, else a fresh temporary one,
and is kept after the run (its path is printed) for a manual ``grep``.
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote_plus

import phonenumbers
import pytest

from consentline.domain.errors import mask
from consentline.http.logging import uvicorn_log_config

ENV_DIR: Final = "CONSENTLINE_TEST_LOG_DIR"
IN_PROCESS: Final = "in-process.log"
CANARY: Final = "zqxcanary"  # in every canary body; letters only, so URL-escaping keeps it

# Number literals in the tests: an explicit + or %2B, then digits with separators.
_LITERAL: Final = re.compile(r"(?:\+|%2[Bb])[0-9](?:(?:[ .\-()]{0,2}|%20)[0-9]){6,16}")
_SOURCES: Final = (".py", ".json", ".txt", ".tsv", ".csv", ".xml")
# In a log line, separators between two digits are dropped before searching.
_JOIN: Final = re.compile(r"(?<=[0-9])(?:[ \t.\-/()+]{1,3}|%20|%2[Dd]|%2[Bb])(?=[0-9])")
MIN_DIGITS: Final = 7


def key_of(number: str) -> str | None:
    """What must not appear of ``number``: its national significant number (else all
    its digits), or None when too short or plain to search for without false hits."""
    digits = re.sub(r"\D", "", re.sub("%2[0BbDd]", "", number))
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        parsed = None
    key = str(parsed.national_number) if parsed is not None else digits
    if len(key) < MIN_DIGITS:
        key = digits
    return key if len(key) >= MIN_DIGITS and len(set(key)) > 2 else None


def numbers_in_sources(root: Path) -> set[str]:
    """The search keys of every number literal in the files under ``root``."""
    keys: set[str] = set()
    for path in root.rglob("*"):
        if path.suffix not in _SOURCES or not path.is_file() or "__pycache__" in path.parts:
            continue
        text = path.read_text(errors="replace")
        for literal in _LITERAL.findall(text):
            key = key_of(literal)
            if key is not None:
                keys.add(key)
    return keys


@dataclass(frozen=True)
class Leak:
    file: str
    line: int
    what: str  # the masked number, or the canary
    text: str  # the line, numbers masked

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what} in: {self.text[:300]}"


def find_leaks(name: str, lines: Iterable[str], keys: set[str]) -> Iterator[Leak]:
    """Every line of ``lines`` that holds one of ``keys`` or the canary."""
    for number, line in enumerate(lines, 1):
        decoded = unquote_plus(line) if "%" in line or "+" in line else line
        joined = _JOIN.sub("", decoded)
        hits = [key for key in keys if key in joined or key in line]
        shown = line
        for key in hits:
            shown = shown.replace(key, mask(key))
        for key in hits:
            yield Leak(name, number, f"number {mask(key)}", shown)
        if CANARY in decoded.lower():
            yield Leak(name, number, f"canary {CANARY!r}", shown)


def scan(directory: Path, keys: set[str]) -> list[Leak]:
    leaks: list[Leak] = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            lines = path.read_text(errors="replace").splitlines()
            leaks.extend(find_leaks(str(path.relative_to(directory)), lines, keys))
    return leaks


class ProductionFormat:
    """Formats a record as ``consentline serve``'s logging config would print it."""

    def __init__(self, config: dict[str, Any]) -> None:
        configurator = logging.config.DictConfigurator(config)
        self._formatters = {
            name: configurator.configure_formatter(dict(spec))
            for name, spec in config["formatters"].items()
        }
        self._loggers: dict[str, Any] = config.get("loggers", {})
        self._handlers: dict[str, Any] = config["handlers"]
        self._root: list[str] = config.get("root", {}).get("handlers", [])

    def handlers_for(self, name: str) -> list[str]:
        """The handlers a record of logger ``name`` reaches, as logging walks them."""
        found: list[str] = []
        while name:
            spec = self._loggers.get(name, {})
            found += spec.get("handlers", [])
            if spec.get("propagate", True) is False:
                return found
            name = name.rpartition(".")[0]
        return found + self._root

    def format(self, record: logging.LogRecord) -> list[str]:
        names = self.handlers_for(record.name) or self._root
        texts = []
        for handler in dict.fromkeys(names):
            formatter = self._formatters[self._handlers[handler]["formatter"]]
            texts.append(formatter.format(record))
        return texts


class Capture(logging.Handler):
    """Every record of the process, formatted for production, appended to a file."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.DEBUG)
        self.format_as = ProductionFormat(uvicorn_log_config())
        self._file = path.open("a", encoding="utf-8")
        self._guard = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._guard, "busy", False):  # a record logged while formatting one
            return
        self._guard.busy = True
        try:
            for text in self.format_as.format(record):
                self._file.write(text + "\n")
            self._file.flush()
        except Exception:
            self.handleError(record)
        finally:
            self._guard.busy = False

    def close(self) -> None:
        # Every dictConfig (uvicorn's, a test's) closes all handlers: stay usable.
        self.flush()
        super().close()

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def end(self) -> None:
        self.close()
        self._file.close()


class LogScan:
    """The plugin: install the capture at configure, scan at session end."""

    def __init__(self, directory: Path, *, owns_env: bool) -> None:
        self.directory = directory
        self.owns_env = owns_env
        # Under pytest-xdist each worker writes a file of its own; the controller,
        # which runs no test, scans them all once every worker has finished.
        self.worker = os.environ.get("PYTEST_XDIST_WORKER")
        name = IN_PROCESS if self.worker is None else f"in-process-{self.worker}.log"
        self.capture = Capture(directory / name)
        self.leaks: list[Leak] = []
        self._original = logging.Logger.callHandlers
        self._level = logging.getLogger("consentline").level

    def install(self) -> None:
        capture, original = self.capture, self._original

        def call_handlers(logger: logging.Logger, record: logging.LogRecord) -> None:
            capture.handle(record)
            original(logger, record)

        logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]
        logging.getLogger("consentline").setLevel(logging.DEBUG)

    def uninstall(self) -> None:
        logging.Logger.callHandlers = self._original  # type: ignore[method-assign]
        logging.getLogger("consentline").setLevel(self._level)
        self.capture.end()
        if self.owns_env:
            os.environ.pop(ENV_DIR, None)

    def finish(self, root: Path) -> list[Leak]:
        self.capture.acquire()
        try:
            self.capture.flush()
        finally:
            self.capture.release()
        sources = root / "tests"
        self.leaks = scan(self.directory, numbers_in_sources(sources if sources.is_dir() else root))
        return self.leaks


_KEY = pytest.StashKey[LogScan]()


def session_directory() -> Path | None:
    """Where subprocess servers write their output (None outside a scanned session)."""
    found = os.environ.get(ENV_DIR)
    return Path(found) if found else None


def configure(config: pytest.Config) -> None:
    given = os.environ.get(ENV_DIR)
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix="consentline-logs-"))
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[ENV_DIR] = str(directory)
    plugin = LogScan(directory, owns_env=not given)
    plugin.install()
    config.stash[_KEY] = plugin


def sessionfinish(session: pytest.Session) -> None:
    plugin = session.config.stash.get(_KEY, None)
    if plugin is None or plugin.worker is not None:  # a worker: the controller scans
        return
    if plugin.finish(session.config.rootpath):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def terminal_summary(reporter: Any, config: pytest.Config) -> None:
    plugin = config.stash.get(_KEY, None)
    if plugin is None:
        return
    if plugin.leaks:
        reporter.section("personal data in the logs (C23)", red=True, bold=True)
        for leak in plugin.leaks[:50]:
            reporter.line(str(leak))
        more = len(plugin.leaks) - 50
        if more > 0:
            reporter.line(f"... and {more} more")
    reporter.line(f"log scan: {len(plugin.leaks)} leaks; logs in {plugin.directory}")


def unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(_KEY, None)
    if plugin is not None:
        plugin.uninstall()
