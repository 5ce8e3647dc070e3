"""The background worker ``consentline serve`` runs beside the API.

It repeats each job's ``run_once()`` on its own thread: straight away while a
job reports work, otherwise after ``interval_s``. A job that raises is logged and
tried again on the next turn; the worker itself only stops with :meth:`stop`.

>>> job = WebhookDelivery(cl.units, clock=cl.now, directory=cl.directory)  # doctest: +SKIP
>>> worker = Worker([job])
>>> worker.start(); ...; worker.stop()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

log = logging.getLogger("consentline.jobs.worker")


class Job(Protocol):
    def run_once(self) -> int:
        """Do one round of work; how much was done (0: idle)."""
        ...

    def close(self) -> None: ...


class Worker:
    def __init__(self, jobs: Sequence[Job], *, interval_s: float = 0.5) -> None:
        self._jobs = list(jobs)
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="consentline-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        for job in self._jobs:
            job.close()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            busy = 0
            for job in self._jobs:
                try:
                    busy += job.run_once()
                except Exception:  # keep going: the next turn retries (and the log says why)
                    log.exception("background job %s failed", type(job).__name__)
            if not busy:
                self._stopping.wait(self._interval_s)
