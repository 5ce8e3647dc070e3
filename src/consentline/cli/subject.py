"""``subject``: what a data subject may ask of the ledger about their own number (C28).

One Typer group, one command per request: ``subject export`` here, ``subject
erase`` in :mod:`consentline.cli.privacy` (C22), which adds itself to :data:`subject_app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consentline.cli._common import JsonFlag, console, count, dump, emit, session, text

subject_app = typer.Typer(
    no_args_is_help=True,
    help="""Data-subject requests about one number: access (C28) and erasure (C22).

Example:

    consentline subject export +14155550101 --account acme --output subject.json
    consentline subject erase +14155550101 --account acme
""",
)


@subject_app.command("export")
def export(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="The subject's phone number (or email).")],
    account: Annotated[
        str, typer.Option("--account", help="The account whose subtree is searched.")
    ],
    channel: Annotated[
        str | None, typer.Option("--channel", help="Only this channel; default: all.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the document to this file; default: stdout."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Everything held about a number, as one JSON document (a data-subject access request).

    The events with proof and chain hashes, the inbound messages (raw text and
    the classifier's reading), the replies sent, the review items and scope
    questions: all in the account's subtree. With --output the document goes to
    the file and a summary is printed (--json: as JSON).

    Example:

        consentline subject export +14155550101 --account acme
        consentline subject export +14155550101 --account shop --output dsar.json
    """
    with session(ctx, as_json) as client:
        document = client.subject_export(number, account=account, channel=channel)
    body = dump(document)
    if output is None:
        typer.echo(body)
        return
    output.write_text(body + "\n", encoding="utf-8")
    sizes = {
        name: len(document[name])
        for name in ("events", "inbound_messages", "replies", "review_items", "scope_questions")
    }
    if as_json:
        emit({"output": str(output), "address": document["address"], **sizes})
        return
    parts = [
        count(len(document["events"]), "event"),
        count(len(document["inbound_messages"]), "inbound message"),
        count(len(document["replies"]), "reply", "replies"),
        count(len(document["review_items"]), "review item"),
        count(len(document["scope_questions"]), "scope question"),
    ]
    console().print(
        f"Wrote {text(output)}: {text(document['address'])} in the subtree of"
        f" {text(document['account'])}: {', '.join(parts)}"
    )
