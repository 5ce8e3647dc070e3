"""``check`` and ``check-many``: the send gate, one recipient or a whole campaign."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Final

import typer

from consentline import Consentline, Decision
from consentline.cli._common import (
    JsonFlag,
    console,
    dump,
    emit,
    parse_time,
    session,
    short_iso,
    text,
)
from consentline.services.views import decision_json

REASONS: Final = {
    "enforcement_disabled": "the purpose is not enforced (model disabled)",
    "opted_out": "an opt-out covers this send",
    "opted_in": "an opt-in covers this send",
    "no_consent": "the purpose needs an opt-in and none covers this send",
    "consent_expired": "the opt-in is older than the consent TTL",
    "pending_confirmation": "a double opt-in is awaiting confirmation",
    "not_opted_out": "no opt-out covers this send",
    "quiet_hours": "it is inside the purpose's quiet hours where the recipient is",
    "invalid_address": "the address is not valid",
}

From = Annotated[str, typer.Option("--from", help="The sending line.")]
Purpose = Annotated[str, typer.Option("--purpose", help="Purpose of the message.")]
Topic = Annotated[str | None, typer.Option("--topic", help="Campaign or list, if any.")]
Channel = Annotated[str, typer.Option("--channel", help="sms, whatsapp or email.")]
At = Annotated[str | None, typer.Option("--at", help="Decide at this ISO-8601 time; default: now.")]


def describe_decision(decision: Decision, client: Consentline, from_: str, purpose: str) -> str:
    """The decision in words: verdict, reason and the event that decided it (Rich markup)."""
    verdict = "[green]ALLOWED[/green]" if decision.allowed else "[red]DENIED[/red]"
    lines = [
        f"{verdict}  {decision.reason}: {REASONS.get(decision.reason, '')}",
        f"  to       {text(decision.to)}",
        f"  from     {text(from_)}, purpose {text(purpose)}",
    ]
    event = decision.event
    if event is None:
        lines.append("  event    none: nothing in the ledger covers this send")
    else:
        covers = [f"purpose {event.purpose}" if event.purpose else "all purposes"]
        if event.topic:
            covers.append(f"topic {event.topic}")
        lines += [
            f"  event    #{event.id} {event.action} for {text(', '.join(covers))}",
            f"  when     {short_iso(event.occurred_at)}",
            f"  where    {text(client.describe_scope(event.scope))}",
            f"  how      {text(event.source)}",
        ]
    return "\n".join(lines)


def check(
    ctx: typer.Context,
    to: Annotated[str, typer.Argument(help="The recipient.")],
    from_: From,
    purpose: Purpose,
    topic: Topic = None,
    channel: Channel = "sms",
    at: At = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit with status 1 when the send is denied.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """May this line send this message? Prints the decision, its reason and deciding event.

    A denial is a successful answer, so the exit status is 0 either way; with
    --exit-code a denial exits with 1 (for shell scripts). Errors exit with 2.

    Example:

        consentline check +14155550101 --from +18005550100 --purpose marketing
        consentline check +14155550101 --from +18005550100 --purpose marketing \\
            --json --exit-code
    """
    with session(ctx, as_json) as client:
        decision = client.check(
            to,
            from_=from_,
            purpose=purpose,
            topic=topic,
            channel=channel,
            at=parse_time(at, "--at"),
        )
        if as_json:
            emit(decision_json(decision, client))
        else:
            console().print(describe_decision(decision, client, from_, purpose))
    if exit_code and not decision.allowed:
        raise typer.Exit(1)


def _recipients(source: typer.FileText) -> Iterator[str]:
    for raw in source:
        line = raw.strip()
        if line and not line.startswith("#"):
            yield line


def check_many(
    ctx: typer.Context,
    recipients: Annotated[
        typer.FileText,
        typer.Argument(help="File with one recipient per line; - reads standard input."),
    ],
    from_: From,
    purpose: Purpose,
    topic: Topic = None,
    channel: Channel = "sms",
    at: At = None,
    campaign: Annotated[
        str | None,
        typer.Option("--campaign", help="Name the send: it is recorded for opt-out attribution."),
    ] = None,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary", help="Only the counts (total, allowed, by reason); records nothing."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check a list of recipients and write one JSON line per recipient.

    Each output line is {"to": ..., "allowed": ..., "reason": ...}, in input
    order; blank lines and lines starting with # are skipped. An invalid
    number gives reason invalid_address instead of stopping the run. The
    output is JSON lines with or without --json; without it a summary is
    also written to stderr. --campaign names the send (recorded, for opt-out
    attribution); --summary is the deliverability preview: one JSON object
    {"total", "allowed", "by_reason"} and nothing recorded.

    Example:

        consentline check-many recipients.txt --from +18005550100 --purpose marketing
        consentline check-many recipients.txt --from +18005550100 --purpose marketing \\
            --summary
        cat recipients.txt | consentline check-many - --from +18005550100 \\
            --purpose marketing > decisions.jsonl
    """
    allowed = denied = 0
    if summary:
        with session(ctx, as_json) as client:
            preview = client.check_many(
                list(_recipients(recipients)),
                from_=from_,
                purpose=purpose,
                topic=topic,
                channel=channel,
                at=parse_time(at, "--at"),
                campaign=campaign,
                summary=True,
            )
            typer.echo(dump(preview))
        return
    with session(ctx, as_json) as client:
        decisions = client.check_many(
            _recipients(recipients),
            from_=from_,
            purpose=purpose,
            topic=topic,
            channel=channel,
            at=parse_time(at, "--at"),
            campaign=campaign,
        )
        for decision in decisions:
            row = {"to": decision.to, "allowed": decision.allowed, "reason": decision.reason}
            typer.echo(dump(row, indent=None))
            if decision.allowed:
                allowed += 1
            else:
                denied += 1
    if not as_json:
        typer.echo(f"{allowed + denied} checked: {allowed} allowed, {denied} denied", err=True)
