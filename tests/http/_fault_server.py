"""``consentline serve`` with routes that fail on purpose, for the log-hygiene tests.

    python -m tests.http._fault_server --db URL serve --port N

It is the ``serve`` command itself (same settings, same logging config, same
worker), with one test-only route added to the app, ``GET /_faults/{kind}``, whose
query's ``to`` and ``text`` end up inside the failure:

* ``runtime``: a ``RuntimeError`` whose message quotes both (the 500 handler);
* ``statement``: a SQL statement that fails with both as bound parameters, raised
  untranslated, as a driver error escaping a unit of work would be (SQLAlchemy's
  message then lists ``[parameters: ...]``);
* ``cast``: a cast of ``text`` to an integer: PostgreSQL's own message then quotes
  the value (SQLite casts anything, so it answers 200 there);
* ``job``: the next round of the background worker fails with such a chained
  error; the answer comes once the worker has logged it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException

import consentline.cli.serve as serve
from consentline.cli import main
from consentline.jobs.worker import Job, Worker


class FaultyJob:
    """A worker job that fails once each time it is triggered."""

    def __init__(self) -> None:
        self.trigger = threading.Event()
        self.logged = threading.Event()
        self.failed = False
        self.context: tuple[str, str] = ("", "")

    def run_once(self) -> int:
        if self.failed:  # the worker logged the last failure before calling again
            self.failed = False
            self.logged.set()
        if not self.trigger.is_set():
            return 0
        self.trigger.clear()
        self.failed = True
        to, text = self.context
        try:
            failing_statement(sa.create_engine("sqlite://"), to, text)
        except sa.exc.SQLAlchemyError as error:
            raise RuntimeError(f"delivery to {to} failed: {text}") from error
        return 0

    def close(self) -> None:
        pass


JOB = FaultyJob()


def failing_statement(engine: sa.Engine, to: str, text: str) -> None:
    with engine.connect() as conn:
        conn.execute(
            sa.text("SELECT * FROM no_such_table WHERE a = :a AND b = :b"), {"a": to, "b": text}
        )


def add_faults(app: FastAPI, engine: sa.Engine) -> None:
    # consentline's own engine translates driver errors and hides bound parameters;
    # a plain engine on the same database stands for a driver error that escapes
    # untranslated (a bug, or a library's own engine), parameters and all.
    engine = sa.create_engine(engine.url)

    def fault(kind: str, request: Request) -> dict[str, Any]:
        to = request.query_params.get("to", "")
        text = request.query_params.get("text", "")
        if kind == "runtime":
            raise RuntimeError(f"could not handle {to}: {text!r}")
        if kind == "statement":
            failing_statement(engine, to, text)
        elif kind == "cast":
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT CAST(:b AS INTEGER), :a"), {"a": to, "b": text})
        elif kind == "job":
            JOB.context = (to, text)
            JOB.logged.clear()
            JOB.trigger.set()
            return {"logged": JOB.logged.wait(20)}
        else:
            raise HTTPException(404, "no such fault")
        return {"failed": False}

    app.add_api_route("/_faults/{kind}", fault, methods=["GET"], include_in_schema=False)


_create_app = serve.create_app


def create_app(client: Any, settings: Any, **options: Any) -> FastAPI:
    app = _create_app(client, settings, **options)
    add_faults(app, client.engine)
    return app


def worker(jobs: Sequence[Job], **options: Any) -> Worker:
    return Worker([*jobs, JOB], **options)


serve.create_app = create_app  # type: ignore[assignment]
serve.Worker = worker  # type: ignore[assignment,misc]

if __name__ == "__main__":
    main()
