"""The imports page's uploads and runs, held by this server process.

An uploaded CSV is kept in a temporary folder of the process (never in memory) under
a random token, for :data:`KEEP_S` and for its operator only; a run (a dry run or the
import) of a file larger than :attr:`Imports.inline_bytes` goes on in a thread of its
own while its page refreshes itself, and its rows left out are written to a CSV
beside the upload with :func:`consentline.services.imports.error_writer`.

Why in the process and not in the database: an upload is a working copy for the
minutes it takes to map and run it, and a table for it would need a migration for
what a restart may lose (the operator uploads again; an import that stopped
half-way is resumed by running it again, which appends only what is missing).
``consentline serve`` is one process; behind several, pin ``/ui/imports`` to one.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Final

from consentline.domain.errors import ConsentlineError, LimitExceeded, NotFound
from consentline.services.import_planning import RowProblem
from consentline.services.imports import ImportReport, error_writer

log = logging.getLogger("consentline.web")
KEEP_S: Final = 3600
MAX_KEPT: Final = 100  # uploads and runs kept per process; the oldest go first
_COPY: Final = 1 << 20

Runner = Callable[[Callable[[RowProblem], None], Callable[[ImportReport], None]], ImportReport]


@dataclass(frozen=True, slots=True)
class Upload:
    token: str
    operator_id: int
    account: str
    filename: str
    path: Path
    size: int
    lines: int  # newlines in the file: about how many rows it holds
    created: float


@dataclass(slots=True)
class Run:
    """One dry run or import of an upload; ``report`` grows chunk by chunk."""

    id: str
    upload: Upload
    operator_id: int
    dry_run: bool
    form: dict[str, str]
    errors_path: Path
    report: ImportReport | None = None
    failure: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    created: float = field(default_factory=time.monotonic)

    @property
    def state(self) -> str:
        if not self.finished.is_set():
            return "running"
        return "failed" if self.failure is not None else "done"

    @property
    def percent(self) -> int:
        done = self.report.rows if self.report is not None else 0
        total = max(self.upload.lines - 1, 1)
        return min(100, done * 100 // total) if self.state == "running" else 100


class Imports:
    """Uploads and runs by token, for their operator only (anyone else: 404)."""

    def __init__(self, *, inline_bytes: int = 256 * 1024) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="consentline-ui-imports-"))
        # Removed with this object, or when the process exits.
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)
        self.inline_bytes = inline_bytes  # smaller files run while the page waits
        self._uploads: dict[str, Upload] = {}
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def add(
        self, source: IO[bytes], *, operator_id: int, account: str, filename: str, limit: int
    ) -> Upload:
        """Keep a copy of ``source`` (:class:`LimitExceeded` past ``limit`` bytes)."""
        self._expire()
        token = secrets.token_urlsafe(16)
        path = self.root / f"{token}.csv"
        size = lines = 0
        with path.open("wb") as out:
            while chunk := source.read(_COPY):
                size += len(chunk)
                if size > limit:
                    out.close()
                    path.unlink(missing_ok=True)
                    raise LimitExceeded(
                        f"the file is larger than {limit // (1 << 20)} MiB: split it", limit=limit
                    )
                lines += chunk.count(b"\n")
                out.write(chunk)
        name = Path(filename or "upload.csv").name[:120]
        upload = Upload(token, operator_id, account, name, path, size, lines, time.monotonic())
        with self._lock:
            self._uploads[token] = upload
        return upload

    def discard(self, upload: Upload) -> None:
        with self._lock:
            self._uploads.pop(upload.token, None)
        upload.path.unlink(missing_ok=True)

    def upload(self, token: str, operator_id: int) -> Upload:
        found = self._uploads.get(token)
        if found is None or found.operator_id != operator_id or not found.path.exists():
            raise NotFound("no such upload (uploads are kept for an hour)", upload=token[:32])
        return found

    def run(self, run_id: str, operator_id: int) -> Run:
        found = self._runs.get(run_id)
        if found is None or found.operator_id != operator_id:
            raise NotFound("no such import run", run=run_id[:32])
        return found

    def start(
        self, upload: Upload, *, operator_id: int, dry_run: bool, form: dict[str, str], go: Runner
    ) -> Run:
        """Run ``go`` (with the row-error writer and the progress callback): in this
        thread for a small file, in a thread of its own otherwise."""
        run_id = secrets.token_urlsafe(16)
        run = Run(run_id, upload, operator_id, dry_run, dict(form), self.root / f"{run_id}.err")
        with self._lock:
            self._runs[run_id] = run
        if upload.size <= self.inline_bytes:
            self._work(run, go)
        else:
            threading.Thread(target=self._work, args=(run, go), daemon=True).start()
        return run

    def _work(self, run: Run, go: Runner) -> None:
        def progress(report: ImportReport) -> None:
            # A copy: the page reads it while the import goes on.
            run.report = replace(
                report, by_action=dict(report.by_action), first_errors=list(report.first_errors)
            )

        try:
            with run.errors_path.open("w", newline="", encoding="utf-8") as errors:
                run.report = go(error_writer(errors), progress)
        except ConsentlineError as error:
            run.failure = str(error)
        except Exception as error:
            log.exception("web: an import run failed (%s)", type(error).__name__)
            run.failure = "the import stopped on an internal error; run it again to resume"
        finally:
            run.finished.set()

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            old = [u for u in self._uploads.values() if now - u.created > KEEP_S]
            old += sorted(self._uploads.values(), key=lambda u: u.created)[: -MAX_KEPT or None]
            for upload in old:
                self._uploads.pop(upload.token, None)
                upload.path.unlink(missing_ok=True)
            done = [r for r in self._runs.values() if r.finished.is_set()]
            stale = [r for r in done if now - r.created > KEEP_S]
            stale += sorted(done, key=lambda r: r.created)[: -MAX_KEPT or None]
            for run in stale:
                self._runs.pop(run.id, None)
                run.errors_path.unlink(missing_ok=True)

    def close(self) -> None:
        self._cleanup()


def state_of(app_state: Any) -> Imports:
    """The app's :class:`Imports`, made on first use."""
    with _MAKE:
        found = getattr(app_state, "ui_imports", None)
        if found is None:
            found = Imports()
            app_state.ui_imports = found
        return found


_MAKE: Final = threading.Lock()
