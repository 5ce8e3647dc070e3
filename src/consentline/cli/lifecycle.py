"""``change-number`` and ``import-deactivations``: consents that end with a number."""

from __future__ import annotations

import csv
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from consentline.cli._common import JsonFlag, console, emit, session, text
from consentline.services.import_planning import RowProblem

Account = Annotated[str, typer.Option("--account", help="The account whose subtree it applies to.")]
Channel = Annotated[str, typer.Option("--channel", help="sms or whatsapp.")]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def change_number(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="The number that changed hands or was given up.")],
    new: Annotated[str, typer.Argument(help="The person's new number (nothing carries over).")],
    account: Account,
    channel: Channel = "sms",
    as_json: JsonFlag = False,
) -> None:
    """Lapse every opt-in and pending request OLD holds in the subtree of --account.

    Opt-outs stay with OLD (a lapse never clears one) and nothing is written for
    NEW: its holder must consent there. Running it again changes nothing.

    Example:

        consentline change-number +14155550101 +14155550199 --account acme
    """
    with session(ctx, as_json) as client:
        result = client.change_number(old, new, account=account, channel=channel)
        if as_json:
            emit(result.as_dict())
            return
        out = console()
        if not result.lapsed:
            out.print(f"Nothing held by {text(result.old)}: no consent lapsed.")
            return
        out.print(
            f"Lapsed {_count(len(result.lapsed), 'consent')} of {text(result.old)}"
            f" (changed to {text(result.new)}):"
        )
        directory = client.directory()
        for event in result.lapsed:
            what = ", ".join(
                part
                for part in (
                    f"purpose {event.purpose}" if event.purpose else "all purposes",
                    f"topic {event.topic}" if event.topic else "",
                )
                if part
            )
            out.print(
                f"  #{event.id} lapse at {text(directory.describe_scope(event.scope))}:"
                f" {text(what)} (ends event #{event.proof.get('lapsed_event')})"
            )


def import_deactivations(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV with a number and a deactivation date.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    account: Account,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="Zone of bare dates and naive times (default UTC)."),
    ] = None,
    errors: Annotated[
        Path | None, typer.Option("--errors", help="Write the bad rows to this CSV file.")
    ] = None,
    channel: Channel = "sms",
    as_json: JsonFlag = False,
) -> None:
    """Lapse the consents each listed number was given before its deactivation date.

    FILE is a carrier disconnect file or a reassigned-numbers answer: a CSV with a
    number column (number, phone, phone_number, tn, msisdn, ...) and a date column
    (deactivation_date, deactivated_on, disconnect_date, date, ...). A bare date is
    the start of that day in --timezone (default UTC); a date and time needs an
    offset or --timezone. Consents given on or after the date are kept; opt-outs
    are never touched. Bad rows are reported and skipped; a re-run appends nothing.

    Example:

        consentline import-deactivations disconnects.csv --account acme --errors bad.csv
    """
    with session(ctx, as_json) as client, ExitStack() as stack:
        on_error = None
        if errors is not None:
            writer = csv.writer(stack.enter_context(errors.open("w", newline="", encoding="utf-8")))
            writer.writerow(["row", "column", "code", "message"])

            def on_error(error: RowProblem) -> None:
                writer.writerow([error.row, error.column or "", error.code, error.message])

        report = client.import_deactivations(
            str(file),
            account=account,
            list_name=file.name,
            channel=channel,
            timezone=timezone,
            on_error=on_error,
        )
        if as_json:
            emit(report.as_dict())
            return
        out = console()
        out.print(
            f"{_count(report.rows, 'row')}: {report.lapsed} lapsed"
            f" ({_count(report.events, 'consent')}), {report.unchanged} unchanged,"
            f" {_count(report.errors, 'error')}"
        )
        for error in report.first_errors:
            out.print(
                f"  row {error.row} {text(error.column or '')}: {error.code}: {text(error.message)}"
            )
        if report.errors > len(report.first_errors):
            out.print(f"  … and {report.errors - len(report.first_errors)} more")
