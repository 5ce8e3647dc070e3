"""``export``, ``snapshot`` and ``verify --file``: consent out of the ledger, and an
exported chain checked again with no database (C21)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO, TypeVar

import typer
from rich.table import Table

from consentline.cli._common import (
    JsonFlag,
    console,
    count,
    emit,
    errors_to_exit,
    parse_time,
    session,
    text,
)
from consentline.domain.errors import InvalidInput
from consentline.domain.exports import ExportCheck, check_export, csv_rows, dump_line
from consentline.services.exports import SNAPSHOT_COLUMNS

Format = Literal["jsonl", "csv"]
T = TypeVar("T")
Output = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file; default: standard output."),
]


def _format(value: str) -> Format:
    if value not in ("jsonl", "csv"):
        raise InvalidInput(f"--format must be jsonl or csv, not {value!r}", field="format")
    return "csv" if value == "csv" else "jsonl"


def _primed(items: Iterator[T]) -> Iterator[T]:
    """Start ``items`` before anything is written, so that an error about the request
    (an unknown account, line or purpose) leaves no half-written output file."""
    try:
        first = next(items)
    except StopIteration:
        return iter(())
    return chain([first], items)


@contextmanager
def _sink(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as handle:
        yield handle


def export(
    ctx: typer.Context,
    account: Annotated[str, typer.Option("--account", help="This account and its sub-accounts.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="Events recorded at or after this ISO-8601 time.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Events recorded before this ISO-8601 time.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    output: Output = None,
    as_json: JsonFlag = False,
) -> None:
    """Export the events of a subtree with proof, sequence numbers and chain hashes.

    The first record describes the export (tenant, subtree, range, whether it is
    the tenant's complete chain); the last one counts the events. An export of a
    tenant's root account with no range is the whole chain, and `consentline
    verify --file` checks it with no database. CSV carries the proof as canonical
    JSON in one column. Streamed: memory stays flat for any ledger. With
    --output a summary is printed (--json: as JSON).

    Example:

        consentline export --account acme --output acme.jsonl
        consentline export --account shop --from 2026-01-01T00:00:00Z --format csv
    """
    with session(ctx, as_json) as client:
        chosen = _format(fmt)
        records = _primed(
            client.export_events(
                account=account, since=parse_time(from_, "--from"), until=parse_time(to, "--to")
            )
        )
        last: dict[str, Any] = {}

        def kept() -> Iterator[dict[str, Any]]:
            for record in records:
                if record["type"] != "event":
                    last.update(record)
                yield record

        with _sink(output) as out:
            if chosen == "csv":
                for row in csv_rows(kept()):
                    out.write(row)
            else:
                for record in kept():
                    out.write(dump_line(record) + "\n")
    if output is not None:
        summary = {
            "output": str(output),
            "format": chosen,
            "account": account,
            "events": last.get("events", 0),
            "complete_chain": bool(last.get("complete_chain")),
            "last_seq": last.get("last_seq"),
        }
        if as_json:
            emit(summary)
        else:
            kind = "the complete chain" if summary["complete_chain"] else "a subtree export"
            console().print(
                f"Wrote {count(summary['events'], 'event')} of {text(account)} to"
                f" {text(output)} ({kind}, up to seq {summary['last_seq']})"
            )


def snapshot(
    ctx: typer.Context,
    line: Annotated[list[str], typer.Option("--line", help="A line; repeat for several.")],
    purpose: Annotated[
        list[str] | None,
        typer.Option("--purpose", help="Only this purpose (repeatable); default: every one."),
    ] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Campaign or list, if any.")] = None,
    channel: Annotated[str, typer.Option("--channel", help="sms, whatsapp or email.")] = "sms",
    at: Annotated[
        str | None, typer.Option("--at", help="The status at this ISO-8601 time; default: now.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    output: Output = None,
    as_json: JsonFlag = False,
) -> None:
    """List every address with a status on some lines: opted_in, opted_out, pending, expired.

    One row per address, line and purpose, with the answer `check` gives it
    (allowed, reason) and the event that decided it: the opt-in and opt-out list
    a CRM syncs back. Addresses nothing is known about are left out. Streamed.
    With --output a summary is printed (--json: as JSON).

    Example:

        consentline snapshot --line +18005550100 --purpose marketing --output optins.csv
        consentline snapshot --line +18005550100 --line +18005550101 \\
            --at 2026-01-01T00:00:00Z --format jsonl
    """
    written = 0
    with session(ctx, as_json) as client:
        chosen = _format(fmt)
        rows = _primed(
            client.snapshot(
                lines=line,
                purposes=purpose or None,
                topic=topic,
                channel=channel,
                at=parse_time(at, "--at"),
            )
        )
        with _sink(output) as out:
            if chosen == "csv":
                writer = csv.writer(out, lineterminator="\n")
                writer.writerow(SNAPSHOT_COLUMNS)
                for row in rows:
                    written += 1
                    values = row.as_dict()
                    values["contact_refs"] = ";".join(f"{s}:{r}" for s, r in row.contact_refs)
                    writer.writerow(
                        ["" if values[c] is None else values[c] for c in SNAPSHOT_COLUMNS]
                    )
            else:
                for row in rows:
                    written += 1
                    out.write(dump_line(row.as_dict()) + "\n")
    if output is not None:
        if as_json:
            emit({"output": str(output), "format": chosen, "rows": written})
        else:
            console().print(f"Wrote {count(written, 'row')} to {text(output)}")


def verify_file(path: Path, as_json: bool) -> ExportCheck:
    """Check an export file (``.csv`` is read as CSV, anything else as JSONL)."""
    fmt: Format = "csv" if path.suffix.lower() == ".csv" else "jsonl"
    with errors_to_exit(as_json):
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                return check_export(handle, fmt)
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {path}: {exc}", field="file") from None


def print_file_report(path: Path, report: ExportCheck) -> None:
    """The check's outcome in words, with a table of problems by line."""
    out = console()
    what = "complete chain" if report.complete_chain else "subtree export"
    account = report.header.get("account") if report.header else None
    if report.ok:
        out.print(
            f"OK: {text(path.name)} ({what} of {text(account)}), {count(report.events, 'event')};"
            " every hash matches and every link holds"
        )
        return
    out.print(
        f"{count(len(report.problems), 'problem')} in {text(path.name)} ({what} of"
        f" {text(account)}, {count(report.events, 'event')}):"
    )
    table = Table()
    for name in ("kind", "line", "seq", "detail"):
        table.add_column(name, overflow="fold")
    for problem in report.problems:
        table.add_row(
            problem.kind,
            "" if problem.line is None else str(problem.line),
            "" if problem.seq is None else str(problem.seq),
            text(problem.detail),
        )
    out.print(table)
