"""``import``: bring a consent list (a CRM export, another platform's list) into the ledger."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from consentline.cli._common import JsonFlag, console, emit, session, text
from consentline.domain.errors import InvalidImport
from consentline.domain.import_mapping import parse_value_map
from consentline.services.import_planning import RowProblem
from consentline.services.imports import ImportReport, error_writer


def _pairs(items: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items or []:
        name, sep, column = item.partition("=")
        if not sep or not name.strip() or not column:
            raise InvalidImport(f"--map {item!r} is not FIELD=COLUMN", field="map")
        found[name.strip()] = column
    return found


def _values(items: list[str] | None) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for item in items or []:
        column, raw, action = parse_value_map(item)
        found.setdefault(column, {})[raw] = action
    return found


def _count_rows(path: Path) -> int | None:
    """About how many rows the file holds (its lines), for the progress bar's ETA."""
    try:
        opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as data:
            lines: int = sum(chunk.count(b"\n") for chunk in iter(lambda: data.read(1 << 20), b""))
    except OSError:
        return None
    jsonl = path.name.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson", ".json"))
    return max(lines if jsonl else lines - 1, 1)


def import_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV or JSONL file (.gz too); - for stdin.")],
    account: Annotated[str, typer.Option("--account", help="The account the list is for.")],
    line: Annotated[
        str | None, typer.Option("--line", help="Scope the rows to this line of the account.")
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="FIELD=COLUMN: address, action, occurred_at, account, line, purpose, topic, "
            "channel, source, contact_ref or proof.<name>. Repeat.",
        ),
    ] = None,
    value: Annotated[
        list[str] | None,
        typer.Option("--value", help="COLUMN:RAW=ACTION, e.g. Status:Gone=opt_out. Repeat."),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            help="legacy-opt-out:COLUMN (a CRM's opt-out checkbox) or optout-status:COLUMN "
            "(Subscribed/Unsubscribed).",
        ),
    ] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Purpose of every row (fixed value).")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Source of every row; default: import.")
    ] = None,
    fixed: Annotated[
        list[str] | None,
        typer.Option("--fixed", help="FIELD=VALUE: a fixed value instead of a column. Repeat."),
    ] = None,
    time_format: Annotated[
        str | None,
        typer.Option("--time-format", help="strftime format of occurred_at; default ISO 8601."),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="Zone of naive times (America/New_York); none: error."),
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option("--delimiter", help="CSV delimiter; default: sniffed.")
    ] = None,
    batch_id: Annotated[
        str | None,
        typer.Option("--batch-id", help="Idempotency batch; default: digest of file + mapping."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate every row; write nothing.")
    ] = False,
    errors: Annotated[
        Path | None,
        typer.Option("--errors", help="Write every row left out to this CSV file."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Import consent from a CSV or JSONL file, row by row, with its proof.

    Rows already imported are unchanged on a re-run; a bad row is reported and
    skipped, never fatal; an opt-in never clears an opt-out already held unless it
    is later and carries proof of consent (C25). See docs/imports.md.

    Example:

        consentline import crm.csv --account acme --map address=Phone \\
            --map contact_ref=Id --preset "legacy-opt-out:SMS Opt Out" --purpose marketing
        consentline import leads.csv --account acme --map address=Mobile \\
            --map action=Status --value Status:Yes=opt_in --value Status:No=opt_out \\
            --map occurred_at=Date --time-format "%m/%d/%Y %H:%M" \\
            --timezone America/New_York --map proof.form_url=Form --errors rejected.csv
    """
    with session(ctx, as_json) as client:
        columns = _pairs(mapping)
        fixed_values = _pairs(fixed)
        if purpose is not None:
            fixed_values["purpose"] = purpose
        if source is not None:
            fixed_values["source"] = source
        error_file: IO[str] | None = None
        problem: Callable[[RowProblem], None] | None = None
        if errors is not None:
            try:
                error_file = errors.open("w", newline="", encoding="utf-8")
            except OSError as exc:
                raise InvalidImport(
                    f"cannot write {errors}: {exc.strerror}", field="errors"
                ) from None
            problem = error_writer(error_file)

        source_arg: Any = sys.stdin.buffer if str(file) == "-" else file
        show = not as_json and sys.stdout.isatty() and source_arg is file
        options: dict[str, Any] = {
            "account": account,
            "line": line,
            "mapping": columns,
            "fixed": fixed_values,
            "values": _values(value),
            "preset": preset,
            "time_format": time_format,
            "timezone": timezone,
            "delimiter": delimiter,
            "batch_id": batch_id,
            "dry_run": dry_run,
            "on_problem": problem,
        }
        try:
            if show:
                report = _with_progress(client, file, options)
            else:
                report = client.import_records(source_arg, **options)
        finally:
            if error_file is not None:
                error_file.close()
    if as_json:
        emit(report.as_dict())
        return
    _print_report(report, errors)


def _with_progress(client: Any, file: Path, options: dict[str, Any]) -> ImportReport:
    """The import with a progress bar (rows, rows/s, ETA): on a terminal only."""
    total = _count_rows(file)
    with Progress(
        TextColumn("[bold]importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console(),
        transient=True,
    ) as progress:
        task = progress.add_task("import", total=total, rate="-")

        def advance(report: ImportReport) -> None:
            elapsed = progress.tasks[task].elapsed or 0.0
            rate = f"{report.rows / elapsed:,.0f}" if elapsed > 0 else "-"
            progress.update(task, completed=report.rows, rate=rate)

        return client.import_records(  # type: ignore[no-any-return]
            file,
            **options,
            on_chunk=advance,
        )


def _print_report(report: ImportReport, errors: Path | None) -> None:
    out = console()
    verb = "would write" if report.dry_run else "written"
    actions = ", ".join(f"{n} {a}" for a, n in sorted(report.by_action.items())) or "none"
    out.print(
        f"{'Dry run: ' if report.dry_run else ''}{report.rows} rows: {report.written} {verb} "
        f"({actions}), {report.unchanged} unchanged, {report.kept_opt_out} kept opted out "
        f"(C25), {report.errors} error{'' if report.errors == 1 else 's'}"
    )
    out.print(f"batch {report.batch_id}", style="dim")
    if report.first_errors:
        table = Table(title="rows left out (first ones)", title_justify="left")
        for name in ("row", "column", "code", "message"):
            table.add_column(name, overflow="fold")
        for p in report.first_errors:
            table.add_row(str(p.row), text(p.column or ""), p.code, text(p.message))
        out.print(table)
    if errors is not None and (report.errors or report.kept_opt_out):
        out.print(f"Every row left out is in {text(str(errors))}")
