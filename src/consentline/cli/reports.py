"""``report KIND`` and ``hygiene [reconfirm]``: counts, never a number (C23, C24, C26)."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from consentline.cli._common import JsonFlag, console, emit, parse_time, session, text
from consentline.domain.errors import InvalidInput

Account = Annotated[str, typer.Option("--account", help="The account (its whole subtree).")]
OlderThan = Annotated[
    str | None,
    typer.Option("--older-than", help="Consent older than this: 18mo, 540d, 2y; default: TTL."),
]


def report(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="opt_outs, snapshot, inbound, ...")],
    account: Account,
    by: Annotated[str | None, typer.Option("--by", help="Grouping keys: line,topic,...")] = None,
    bucket: Annotated[
        str | None, typer.Option("--bucket", help="hour, day, week or month.")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO-8601, inclusive.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO-8601, exclusive.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="A snapshot's moment.")] = None,
    line: Annotated[list[str] | None, typer.Option("--line", help="Only this line.")] = None,
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone of the buckets.")] = "UTC",
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print a report: rows of grouping keys and counts (docs/reports.md).

    Example:

        consentline report opt_outs --account acme --by line,source --bucket day \\
            --tz America/New_York --since 2026-03-01T00:00:00-05:00
        consentline report snapshot --account acme --by line,purpose --json
    """
    with session(ctx, as_json) as client:
        result = client.report(
            kind,
            account=account,
            lines=line,
            since=parse_time(since, "--since"),
            until=parse_time(until, "--until"),
            bucket=bucket,
            by=by,
            timezone=tz,
            at=parse_time(at, "--at"),
        )
    if as_json:
        emit(result.as_dict())
        return
    if as_csv:
        sys.stdout.write(result.as_csv())
        return
    columns = result.columns()
    table = Table(title=f"{kind} — {account}")
    for name in columns:
        table.add_column(name, justify="right" if _numeric(result.rows, name) else "left")
    for row in result.rows:
        table.add_row(*(text(row.get(c)) for c in columns))
    console().print(table)
    if result.summary:
        console().print(", ".join(f"{k}: {v}" for k, v in result.summary.items()))


def _numeric(rows: list[dict[str, object]], name: str) -> bool:
    return all(isinstance(r.get(name), int) for r in rows if r.get(name) is not None)


def parse_age(value: str | None) -> timedelta | None:
    """``18mo``, ``540d``, ``2y``, ``12w`` -> a duration (a month is 30 days)."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*([0-9]{1,5})\s*(mo|d|w|y)\s*", value)
    if match is None:
        raise InvalidInput(
            f"--older-than {value!r}: give a number and mo, d, w or y (18mo)", field="older_than"
        )
    n, unit = int(match[1]), match[2]
    days = {"d": 1, "w": 7, "mo": 30, "y": 365}[unit] * n
    if days <= 0:
        raise InvalidInput("--older-than must be positive", field="older_than")
    return timedelta(days=days)


hygiene_app = typer.Typer(
    help=(
        "List hygiene: proof-less, old and expired consent (C24, C26).\n\n"
        "Example:\n\n    consentline hygiene --account acme --older-than 18mo\n\n"
        "    consentline hygiene reconfirm --account acme --older-than 18mo --dry-run"
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)


@hygiene_app.callback()
def hygiene(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option("--account", help="The account.")] = None,
    older_than: OlderThan = None,
    as_json: JsonFlag = False,
) -> None:
    """Count opt-ins with no proof or time, reconfirmation candidates and expired
    double opt-ins; list them with masked numbers.

    Example:

        consentline hygiene --account acme --older-than 18mo
        consentline hygiene reconfirm --account acme --older-than 18mo --dry-run
    """
    if ctx.invoked_subcommand is not None:
        return
    if account is None:
        raise typer.BadParameter("give --account", param_hint="--account")
    with session(ctx, as_json) as client:
        found = client.hygiene(account=account, older_than=parse_age(older_than))
    if as_json:
        emit(found.as_dict())
        return
    table = Table(title=f"hygiene — {account}")
    table.add_column("finding")
    table.add_column("count", justify="right")
    for source, n in sorted(found.no_proof.items()):
        table.add_row(f"opt-ins without proof ({source})", str(n))
    for source, n in sorted(found.no_timestamp.items()):
        table.add_row(f"opt-ins without a consent time ({source})", str(n))
    table.add_row("reconfirmation candidates", str(found.reconfirm))
    table.add_row("double opt-ins pending past their TTL", str(found.pending_expired))
    console().print(table)
    for item in found.items[:20]:
        console().print(f"  {item.kind:16} {item.number}  {item.line}  since {item.since}")


@hygiene_app.command("reconfirm")
def reconfirm(
    ctx: typer.Context,
    account: Account,
    older_than: OlderThan = None,
    per_line: Annotated[int, typer.Option("--per-line", help="At most this many per line.")] = 100,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count only; write nothing.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Queue a double opt-in request for each reconfirmation candidate (C26): never to
    an opted-out number, never twice for one consent, at most --per-line per line.

    Example:

        consentline hygiene reconfirm --account acme --older-than 18mo --dry-run
    """
    with session(ctx, as_json) as client:
        done = client.reconfirm(
            account=account, older_than=parse_age(older_than), per_line=per_line, dry_run=dry_run
        )
    if as_json:
        emit(done.as_dict())
        return
    verb = "would ask up to" if dry_run else "queued"
    shown = done.candidates - done.deferred if dry_run else done.queued
    console().print(
        f"{done.candidates} candidates: {verb} {shown}, asked before {done.already},"
        f" deferred to the next run {done.deferred}"
    )
