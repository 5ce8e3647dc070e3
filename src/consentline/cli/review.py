"""``review list`` and ``review decide``: the replies a person has to decide (C8)."""

from __future__ import annotations

from typing import Annotated, Final

import typer
from rich.table import Table

from consentline.cli._common import (
    JsonFlag,
    Limit,
    check_limit,
    clip,
    console,
    count,
    emit,
    event_line,
    session,
    short_iso,
    text,
)
from consentline.domain.errors import InvalidInput
from consentline.domain.replies import CONFIRMATION_WINDOW
from consentline.services.views import event_json

review_app = typer.Typer(
    no_args_is_help=True,
    help="""Ambiguous replies waiting for a person to decide (C8).

Example:

    consentline review list --account acme
    consentline review decide 3 --decision opt_out --reviewer alice
""",
)
REVIEW_STATUSES: Final = {"open": "open", "decided": "decided", "all": None}


@review_app.command("list")
def review_list(
    ctx: typer.Context,
    account: Annotated[
        str | None, typer.Option("--account", help="Any account of the tenant; default: all.")
    ] = None,
    status: Annotated[str, typer.Option("--status", help="open, decided or all.")] = "open",
    limit: Limit = 100,
    as_json: JsonFlag = False,
) -> None:
    """List review items, oldest first: replies the classifier would not decide alone.

    Example:

        consentline review list
        consentline review list --account acme --status all --json
    """
    with session(ctx, as_json) as client:
        if status not in REVIEW_STATUSES:
            raise InvalidInput(f"--status is open, decided or all, not {status!r}", field="status")
        items = client.review_list(
            account=account, status=REVIEW_STATUSES[status], limit=check_limit(limit)
        )
        if as_json:
            emit([item.as_dict() for item in items])
            return
        if not items:
            what = "review items" if status == "all" else f"{status} review items"
            console().print(f"No {what}.")
            return
        title = f"{count(len(items), 'review item')} ({status})"
        table = Table(title=title, title_justify="left")
        for name in ("id", "account", "received", "from", "text", "rule", "status"):
            table.add_column(name, overflow="fold")
        for item in items:
            if item.status == "open":
                state = "[yellow]open[/yellow]"
            else:
                state = f"{text(item.decision)} by {text(item.reviewer)}"
            table.add_row(
                str(item.id),
                text(item.account),
                short_iso(item.received_at),
                text(item.address),
                text(clip(item.text, 40)),
                text(item.rule),
                state,
            )
        console().print(table)


@review_app.command("decide")
def review_decide(
    ctx: typer.Context,
    item_id: Annotated[int, typer.Argument(metavar="ID", help="The review item.")],
    decision: Annotated[
        str, typer.Option("--decision", help="opt_out (record an opt-out) or none.")
    ],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Who decides (recorded as actor).")],
    note: Annotated[str | None, typer.Option("--note", help="Why, for the record.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Decide a review item; opt_out records an opt-out effective from receipt.

    An opt-out confirmation is queued only when this is within 5 minutes of
    receipt (C17). A decision cannot be taken twice.

    Example:

        consentline review decide 3 --decision opt_out --reviewer alice \\
            --note "asked to be removed"
        consentline review decide 4 --decision none --reviewer alice --json
    """
    with session(ctx, as_json) as client:
        item, event = client.review_decide(item_id, decision, reviewer=reviewer, note=note)
        if as_json:
            emit(
                {
                    "item": item.as_dict(),
                    "event": None if event is None else event_json(event, client),
                }
            )
            return
        lines = [f"Review #{item.id} decided: {text(item.decision)} by {text(item.reviewer)}"]
        if event is None:
            lines.append("  event     none: no consent change")
        else:
            # The library queues a confirmation iff it decides within 5 minutes of
            # receipt; the event's recorded_at is that moment, occurred_at the receipt.
            late = event.recorded_at - event.occurred_at > CONFIRMATION_WINDOW
            lines += [
                f"  event     {event_line(event, client)}",
                f"  for       {text(event.address)}, effective {short_iso(event.occurred_at)}",
                "  reply     "
                + (
                    "none: more than 5 minutes after receipt (C17)"
                    if late
                    else "opt_out_confirmation queued (within 5 minutes of receipt, C17)"
                ),
            ]
        console().print("\n".join(lines))
