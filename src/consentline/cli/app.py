"""The ``consentline`` command: global options, ``init``, ``verify`` and the command table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from consentline import __version__
from consentline.cli import (
    accounts,
    checks,
    classify,
    configure,
    exports,
    imports,
    inbound,
    ledger,
    lifecycle,
    operators,
    outbox,
    policy,
    privacy,
    reports,
    review,
    serve,
    subject,
)
from consentline.cli._common import (
    DEFAULT_URL,
    ENV_URL,
    GlobalOptions,
    JsonFlag,
    console,
    emit,
    global_options,
    session,
    text,
)
from consentline.settings import database_location

app = typer.Typer(
    name="consentline",
    no_args_is_help=True,
    add_completion=False,
    # Locals of a crashed frame may hold phone numbers: never print them.
    pretty_exceptions_show_locals=False,
)


def _print_version(shown: bool) -> None:
    if shown:
        typer.echo(f"consentline {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar=ENV_URL,
            help="Database URL: sqlite:///path.db or postgresql+psycopg://user@host/db.",
        ),
    ] = DEFAULT_URL,
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print consentline's version and exit.",
        ),
    ] = False,
) -> None:
    """consentline: an SMS consent ledger and send gate.

    Every command takes --json for machine-readable output on stdout. Errors
    print "Error: ..." on stderr (with --json, {"error": {...}} on stdout) and
    exit with status 2.

    Example:

        consentline --db sqlite:///consent.db init
        export CONSENTLINE_DATABASE_URL=sqlite:///consent.db
        consentline check +14155550101 --from +18005550100 --purpose marketing
    """
    ctx.obj = GlobalOptions(db)


def _where(url: str) -> dict[str, Any]:
    """Where the database is, with any password hidden."""
    shown, path = database_location(url)
    return {"url": shown, "path": path}


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def init(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Create the database, or bring its schema up to date, and say where it is.

    Example:

        consentline --db sqlite:///var/consentline.db init
    """
    with session(ctx, as_json) as client:
        directory = client.directory()
        info = {
            **_where(global_options(ctx).url),
            "accounts": len(directory.accounts()),
            "lines": len(directory.lines()),
        }
        if as_json:
            emit(info)
            return
        console().print(
            f"Database ready at {text(info['path'] or info['url'])} "
            f"({_count(info['accounts'], 'account')}, {_count(info['lines'], 'line')})"
        )


def verify(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Check this export file instead, offline (no database is opened).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check every hash chain and the current-state table; exit 1 on problems.

    With --file, check an export (`consentline export`) with no database: every
    event's hash against its stated predecessor, deleted, moved and truncated
    lines, and for a tenant-wide export the whole chain up to its head.

    Example:

        consentline verify
        consentline verify --json
        consentline verify --file acme.jsonl
    """
    if file is not None:
        checked = exports.verify_file(file, as_json)
        if as_json:
            emit(checked.as_dict())
        else:
            exports.print_file_report(file, checked)
        if not checked.ok:
            raise typer.Exit(1)
        return
    with session(ctx, as_json) as client:
        report = client.verify()
    if as_json:
        emit(report.as_dict())
    elif report.ok:
        console().print(
            f"OK: {_count(report.tenants, 'tenant')}, {_count(report.events, 'event')};"
            " every hash chain and the current state are intact"
        )
    else:
        table = Table(title=f"{len(report.problems)} problems", title_justify="left")
        for name in ("kind", "tenant", "seq", "event", "detail"):
            table.add_column(name, overflow="fold")
        for problem in report.problems:
            table.add_row(
                problem.kind,
                str(problem.tenant_id),
                "" if problem.seq is None else str(problem.seq),
                "" if problem.event_id is None else str(problem.event_id),
                text(problem.detail),
            )
        console().print(table)
    if not report.ok:
        raise typer.Exit(1)


# Registered in the order of a first session, which is the order `--help` lists them.
app.command("init")(init)
app.add_typer(accounts.account_app, name="account")
app.add_typer(accounts.line_app, name="line")
app.add_typer(accounts.purpose_app, name="purpose")
app.command("record")(ledger.record)
app.command("check")(checks.check)
app.command("check-many")(checks.check_many)
app.command("history")(ledger.history)
app.command("import")(imports.import_file)
app.command("classify")(classify.classify)
app.command("inbound")(inbound.inbound)
app.add_typer(review.review_app, name="review")
app.add_typer(outbox.outbox_app, name="outbox")
app.command("change-number")(lifecycle.change_number)
app.command("import-deactivations")(lifecycle.import_deactivations)
app.command("policy")(policy.policy)
app.command("verify")(verify)
app.command("export")(exports.export)
app.command("snapshot")(exports.snapshot)
app.add_typer(subject.subject_app, name="subject")
app.command("serve")(serve.serve)
app.add_typer(operators.operator_app, name="operator")
app.command("retention")(privacy.retention)
app.command("report")(reports.report)
app.add_typer(reports.hygiene_app, name="hygiene")
# `account configure` lives with the inbound settings; accounts.py owns the group.
accounts.account_app.command("configure")(configure.configure_account)


def main() -> None:
    """Console-script entry point."""
    app()
