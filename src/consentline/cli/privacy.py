"""``subject erase`` and ``retention``: erasure that keeps the suppression (C22).

Both need the installation's erasure key in ``CONSENTLINE_ERASURE_KEY`` (never in
the database). Output masks every number: an erased number is not echoed back.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from consentline.cli._common import JsonFlag, console, count, emit, session, short_iso, text
from consentline.cli.subject import subject_app
from consentline.domain.errors import mask

Account = Annotated[str, typer.Option("--account", help="Any account of the tenant.")]


@subject_app.command("erase")
def erase(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="The number to erase.")],
    account: Account,
    reason: Annotated[
        str, typer.Option("--reason", help="A reason code (no free text: it is kept).")
    ] = "subject_request",
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Erase a number's personal data from the tenant, keeping its opt-out.

    Removes the number (replaced by a keyed hash), its inbound texts, the replies
    sent to it, review notes and the personal proof fields (IP, user agent, names,
    free text). An opt-out still denies every later send; an opt-in lapses, since
    its evidence is gone. The erasure is recorded (with no personal data) and
    `consentline verify` still passes. Needs CONSENTLINE_ERASURE_KEY. Erasing
    again changes nothing.

    Example:

        consentline subject erase +14155550123 --account acme --yes
    """
    if not yes and not as_json:
        typer.confirm(
            f"Erase {mask(number)} from the tenant of {account}? This cannot be undone",
            abort=True,
        )
    with session(ctx, as_json) as client:
        report = client.erase(number, account=account, reason=reason)
        if as_json:
            emit(report.as_dict())
            return
        if report.already_erased:
            console().print(
                f"{text(report.address)} was already erased (erasure #{report.erasure}):"
                " nothing left to remove."
            )
            return
        lines = [
            f"Erased {text(report.address)} (erasure #{report.erasure}, reason {text(reason)})",
            f"  events          {report.events} (personal fields removed, chain kept)",
            f"  consents lapsed {report.lapsed}",
            f"  inbound texts   {report.inbound}",
            f"  replies         {report.outbox}",
            f"  review notes    {report.review_notes}",
            f"  scope questions {report.scope_questions}",
            f"  keyed as        {text(report.address_key[:23])}…",
            "An opt-out it held still denies every send.",
        ]
        console().print("\n".join(lines))


def retention(
    ctx: typer.Context,
    account: Account,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what is past retention.")
    ] = False,
    years: Annotated[
        int | None,
        typer.Option("--years", help="Set the tenant's retention (years) first; default 4."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List, and purge, the evidence kept past the tenant's retention period (C22).

    Evidence is kept at least N years (default 4) after the last message that
    relied on it: the newest of the number's consent events, inbound messages and
    replies. Purging erases each such number (reason `retention`): its proof and
    message texts go, an opt-out stays. Numbers are masked in the output.

    Example:

        consentline retention --account acme --dry-run
        consentline retention --account acme --years 6 --yes
    """
    with session(ctx, as_json) as client:
        if years is not None:
            client.set_retention(account, years)
        if not dry_run and not yes and not as_json:
            listed = client.retention(account=account, dry_run=True)
            if not listed.due:
                console().print(f"Nothing is past {listed.years} years of retention.")
                return
            typer.confirm(f"Purge the evidence of {count(len(listed.due), 'number')}?", abort=True)
        report = client.retention(account=account, dry_run=dry_run)
        if as_json:
            emit(report.as_dict())
            return
        verb = "past retention" if dry_run else "purged"
        title = (
            f"{count(len(report.due), 'number')} {verb} ({report.years} years:"
            f" last reliance before {short_iso(report.cutoff)})"
        )
        if not report.due:
            console().print(f"Nothing is past {report.years} years of retention.")
            return
        table = Table(title=title, title_justify="left")
        for name in ("number", "last reliance"):
            table.add_column(name)
        for item in report.due:
            table.add_row(text(item.address), short_iso(item.last_reliance))
        console().print(table)
        if dry_run:
            console().print("Dry run: nothing was removed.")
