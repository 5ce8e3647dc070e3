"""``outbox list``: the replies waiting to be sent, sent, dropped or failed (C17, C24)."""

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
    session,
    short_iso,
    text,
)
from consentline.domain.errors import InvalidInput

outbox_app = typer.Typer(
    no_args_is_help=True,
    help="""Replies queued for sending: confirmations, help, double opt-in requests.

Example:

    consentline outbox list --status pending
""",
)

OUTBOX_STATUSES: Final = ("pending", "sent", "dropped", "failed")
STATUS_STYLE: Final = {"pending": "yellow", "sent": "green", "dropped": "dim", "failed": "red"}


@outbox_app.command("list")
def outbox_list(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option("--status", help="pending, sent, dropped or failed; default: all."),
    ] = None,
    limit: Limit = 100,
    as_json: JsonFlag = False,
) -> None:
    """List the replies in the outbox, oldest first.

    Example:

        consentline outbox list
        consentline outbox list --status pending --json
    """
    with session(ctx, as_json) as client:
        if status is not None and status not in OUTBOX_STATUSES:
            raise InvalidInput(
                f"--status is {', '.join(OUTBOX_STATUSES)}, not {status!r}", field="status"
            )
        messages = client.outbox(status=status, limit=check_limit(limit))
        if as_json:
            emit([message.as_dict() for message in messages])
            return
        if not messages:
            console().print(f"No {status + ' ' if status else ''}replies in the outbox.")
            return
        table = Table(title=count(len(messages), "reply", "replies"), title_justify="left")
        for name in ("id", "kind", "status", "to", "from", "send by", "body"):
            table.add_column(name, overflow="fold")
        for message in messages:
            style = STATUS_STYLE.get(message.status, "")
            state = f"[{style}]{message.status}[/{style}]" if style else text(message.status)
            if message.detail:
                state += f"\n{text(message.detail)}"
            table.add_row(
                str(message.id),
                text(message.kind),
                state,
                text(message.to),
                text(message.from_line),
                "" if message.not_after is None else short_iso(message.not_after),
                text(clip(message.body, 60)),
            )
        console().print(table)
