"""``record`` and ``history``: append consent events and read them back with proof."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from consentline import Consentline, Event
from consentline.cli._common import (
    JsonFlag,
    console,
    emit,
    parse_proof,
    parse_time,
    proof_lines,
    proof_text,
    session,
    short_hash,
    short_iso,
    text,
)
from consentline.cli.checks import describe_decision
from consentline.domain.addresses import normalise_line_id
from consentline.domain.errors import CrossTenant, InvalidInput
from consentline.services.scope_questions import AskedQuestion
from consentline.services.views import decision_json, event_json

Channel = Annotated[str, typer.Option("--channel", help="sms, whatsapp or email.")]


def record(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The recipient: phone number or email.")],
    action: Annotated[str, typer.Argument(help="opt_in, opt_out, resume, lapse or pending.")],
    account: Annotated[
        str | None, typer.Option("--account", help="Scope: this account and its sub-accounts.")
    ] = None,
    line: Annotated[str | None, typer.Option("--line", help="Scope: this line only.")] = None,
    via: Annotated[
        str | None,
        typer.Option(
            "--via", help="The line a keyword arrived on; an opt-out follows the account's reach."
        ),
    ] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Purpose; default: all purposes.")
    ] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Campaign or list.")] = None,
    channel: Channel = "sms",
    source: Annotated[
        str, typer.Option("--source", help="How it was captured: keyword, web_form, import...")
    ] = "api",
    proof: Annotated[
        list[str] | None,
        typer.Option("--proof", help="Proof as key=value; repeat for more fields."),
    ] = None,
    proof_json: Annotated[
        str | None, typer.Option("--proof-json", help="Proof as a JSON object.")
    ] = None,
    occurred_at: Annotated[
        str | None,
        typer.Option("--occurred-at", help="When it happened (ISO-8601 with zone); default: now."),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option("--idempotency-key", help="Repeating a request with this key appends once."),
    ] = None,
    contact_ref: Annotated[
        list[str] | None,
        typer.Option("--contact-ref", help="A CRM record id for the number (system:ref). Repeat."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Append one consent event to the ledger, with its proof.

    Give the scope with exactly one of --account, --line or --via. Proof
    fields from --proof key=value override those of --proof-json.

    Example:

        consentline record +14155550101 opt_in --account acme \\
            --purpose marketing --source web_form \\
            --proof form_url=https://acme.example/join --proof ip=203.0.113.7
        consentline record +14155550101 opt_out --via +18005550100 --source keyword
    """
    with session(ctx, as_json) as client:
        if sum(value is not None for value in (account, line, via)) != 1:
            raise InvalidInput("give exactly one of --account, --line or --via as the scope")
        event = client.record(
            address,
            action,
            account=account,
            line=line,
            via=via,
            purpose=purpose,
            topic=topic,
            channel=channel,
            source=source,
            proof=parse_proof(proof, proof_json),
            occurred_at=parse_time(occurred_at, "--occurred-at"),
            idempotency_key=idempotency_key,
            contact_ref=contact_ref or None,
        )
        if as_json:
            emit(event_json(event, client))
            return
        scope = client.describe_scope(event.scope)
        console().print(
            f"Recorded {event.action} #{event.id} for {text(event.address)} ({event.channel})\n"
            f"  where  {text(scope)}, {text(_covers(event))}\n"
            f"  when   {short_iso(event.occurred_at)}\n"
            f"  how    {text(event.source)}"
            + (f"; {text(proof_text(dict(event.proof)))}" if event.proof else "")
            + f"\n  hash   {short_hash(event.hash)}"
        )


def _covers(event: Event) -> str:
    """What sends an event is about: its purpose (none = all) and topic."""
    covers = f"purpose {event.purpose}" if event.purpose else "all purposes"
    return f"{covers}, topic {event.topic}" if event.topic else covers


def _history_grid(events: list[Event], deciding: int | None, client: Consentline) -> Table:
    """Each event as a short card, oldest first; an arrow marks the one that decided the check.

    Cards rather than one wide table: proof values (URLs, consent texts, user
    agents) are long, and a card stays readable in an 80-column terminal.
    """
    several_channels = len({event.channel for event in events}) > 1
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)  # the arrow
    grid.add_column(no_wrap=True)  # "#id" or a label
    grid.add_column(overflow="fold")
    for number, event in enumerate(events):
        if number:
            grid.add_row("", "", "")
        decides = event.id == deciding
        head = [f"[bold]{event.action}[/bold]", short_iso(event.occurred_at)]
        if several_channels:
            head.append(event.channel)
        head.append(f"hash {short_hash(event.hash)}")
        if decides:
            head.append("[bold]← decides the check[/bold]")
        grid.add_row("→" if decides else "", f"#{event.id}", "  ".join(head))
        grid.add_row("", "scope", text(f"{client.describe_scope(event.scope)} · {_covers(event)}"))
        grid.add_row("", "how", text(event.source))
        for index, field in enumerate(proof_lines(dict(event.proof))):
            grid.add_row("", "" if index else "proof", text(field))
    return grid


def _questions_grid(questions: list[AskedQuestion]) -> Table:
    """Each scope question as a short card: what was asked, and how it was answered (C17)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for number, question in enumerate(questions):
        if number:
            grid.add_row("", "")
        head = f"[bold]{question.status}[/bold]  asked {short_iso(question.asked_at)}"
        grid.add_row(f"?{question.id}", f"{head} on {text(question.line)}")
        grid.add_row("asked", text(question.text))
        offered = ", ".join(f"{o.category.code} → {o.category.describe}" for o in question.offered)
        grid.add_row("offered", text(offered))
        grid.add_row(
            "follows",
            f"#{question.revocation_event} (hash {short_hash(question.revocation_hash)});"
            f" answers until {short_iso(question.expires_at)}",
        )
        if question.answer is not None:
            restored = ", ".join(f"#{i}" for i in question.answer["events"]) or "nothing"
            grid.add_row(
                "answer",
                text(f"{question.answer['text']!r} (message {question.answer['message_id']})")
                + f" → {restored}",
            )
    return grid


def _same_tenant(client: Consentline, account: str, line_id: str) -> None:
    """The check to explain must be about the tenant whose history is shown."""
    directory = client.directory()
    line = directory.find_line(line_id) or directory.find_line(normalise_line_id(line_id))
    if line is not None and line.tenant_id != directory.account(account).tenant_id:
        raise CrossTenant(
            f"line {line.number} is not in the tenant of account {account!r}",
            line=line.number,
            account=account,
        )


def history(
    ctx: typer.Context,
    address: Annotated[str, typer.Argument(help="The recipient: phone number or email.")],
    account: Annotated[
        str, typer.Option("--account", help="Any account of the tenant to look in.")
    ],
    channel: Annotated[
        str | None, typer.Option("--channel", help="Only this channel; default: all.")
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Also explain a check from this line.")
    ] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Purpose of the check to explain.")
    ] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Topic of that check.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Explain the check at this ISO-8601 time.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show every event of an address, with proof and chain hash, and why a check decides.

    With --from and --purpose the decision of that check is shown too, and the
    event that decided it is marked with an arrow.

    Example:

        consentline history +14155550101 --account acme
        consentline history +14155550101 --account acme \\
            --from +18005550100 --purpose marketing --json
    """
    with session(ctx, as_json) as client:
        if (from_ is None) != (purpose is None):
            raise InvalidInput("--from and --purpose go together: give both or neither")
        events = client.history(address, account=account, channel=channel)
        questions = client.scope_questions(address, account=account, channel=channel)
        decision = None
        if from_ is not None and purpose is not None:
            _same_tenant(client, account, from_)
            decision = client.check(
                address,
                from_=from_,
                purpose=purpose,
                topic=topic,
                channel=channel or "sms",
                at=parse_time(at, "--at"),
            )
        deciding = decision.event.id if decision and decision.event else None
        if as_json:
            result: dict[str, Any] = {
                "events": [{**event_json(e, client), "decides": e.id == deciding} for e in events],
                "decision": None if decision is None else decision_json(decision, client),
                "scope_questions": [q.as_dict() for q in questions],
            }
            emit(result)
            return
        out = console()
        if not events:
            out.print(f"No events for {text(address)} in the tenant of {text(account)}.")
        else:
            title = f"History of {text(events[0].address)}"
            if len({event.channel for event in events}) == 1:
                title += f" ({events[0].channel})"
            out.print(f"[bold]{title}[/bold]\n")
            out.print(_history_grid(events, deciding, client))
            out.print()
        if questions:
            out.print("[bold]Scope questions[/bold] (asked with opt-out confirmations, C17)\n")
            out.print(_questions_grid(questions))
            out.print()
        if decision is not None:
            out.print(describe_decision(decision, client, from_ or "", purpose or ""))
