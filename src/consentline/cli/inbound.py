"""``inbound``: hand one message from a handset to the library, as a provider webhook would.

The message is classified, at most one consent change is recorded, and the reply
is queued (or a review item, when a person has to decide: C8). A repeat of a
provider's message id is handled once (C27).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from consentline import Consentline, InboundResult, Reply
from consentline.cli._common import (
    JsonFlag,
    console,
    emit,
    event_line,
    parse_time,
    session,
    short_iso,
    text,
)
from consentline.cli.classify import intent_label
from consentline.providers.hints import normalise_hint
from consentline.services.views import inbound_json

Channel = Annotated[str, typer.Option("--channel", help="sms, whatsapp or email.")]


def result_json(result: InboundResult, client: Consentline) -> dict[str, Any]:
    return inbound_json(result, client)


def _no_event(result: InboundResult, intent: str) -> str:
    if result.review_id is not None:
        return "none: held for review"
    if intent == "opt_in":
        return "none: no opt-out to restore and no double opt-in to confirm (C12)"
    return "none: no consent change"


def _no_reply(result: InboundResult, intent: str, provider_replied: bool) -> str:
    if result.review_id is not None:
        return "none: held for review"
    if provider_replied and intent in ("opt_out", "opt_in", "help"):
        return "none: the provider already answered this keyword"
    if intent == "opt_out":
        return "none: already opted out, no second confirmation (C27)"
    if intent == "opt_in" and result.events:
        return "none"
    return "none: nothing to answer"


def _reply_lines(reply: Reply) -> list[str]:
    style = "red" if reply.status == "dropped" else "green"
    state = f"[{style}]{reply.status}[/{style}]"
    if reply.status == "dropped":
        state += ": later than 5 minutes after receipt (C17)"
    elif reply.not_after is not None:
        state += f", send by {short_iso(reply.not_after)}"
    return [
        f"  reply     #{reply.id} {reply.kind} ({reply.language}), {state}",
        f"            {text(reply.body)}",
    ]


def describe_result(
    result: InboundResult, client: Consentline, message_id: str | None, hint: str | None
) -> str:
    """What happened to one inbound message, in words (Rich markup)."""
    cls = result.classification
    intent = "opt_out" if result.decided_by == "provider_hint" else cls.intent
    if result.duplicate:
        head = f"Duplicate of message #{result.id}"
        if message_id:
            head += f" (message id {text(message_id)})"
        lines = [f"[yellow]{head}[/yellow]: nothing written, nothing sent again (C27)"]
    else:
        lines = [f"Message #{result.id} handled"]
    found = [f"rule {text(cls.rule)}"]
    if cls.keyword:
        found.append(f"keyword {text(cls.keyword)}")
    if cls.language:
        found.append(f"language {text(cls.language)}")
    lines.append(f"  intent    {intent_label(cls.intent)}  {', '.join(found)}")
    if result.decided_by != "classifier":
        lines.append(f"  decided   by the {text(result.decided_by)}: [red]opt_out[/red]")
    if result.events:
        first, *more = result.events
        lines.append(f"  event     {event_line(first, client)}")
        lines += [f"            {event_line(event, client)}" for event in more]
    else:
        lines.append(f"  event     {_no_event(result, intent)}")
    if result.review_id is not None:
        lines.append(
            f"  review    #{result.review_id}: a person decides (C8) with"
            f" consentline review decide {result.review_id}"
        )
    if result.duplicate:
        first_reply = f" (the first reply was #{result.reply.id})" if result.reply else ""
        lines.append(f"  reply     none: a duplicate is never answered again{first_reply}")
    elif result.reply is not None:
        lines += _reply_lines(result.reply)
    else:
        lines.append(f"  reply     {_no_reply(result, intent, normalise_hint(hint) is not None)}")
    return "\n".join(lines)


def inbound(
    ctx: typer.Context,
    from_: Annotated[str, typer.Option("--from", help="The handset that sent the message.")],
    to: Annotated[str, typer.Option("--to", help="Our line that received it.")],
    message: Annotated[
        str, typer.Option("--text", help="The message body as received (may be empty).")
    ],
    provider: Annotated[
        str, typer.Option("--provider", help="Provider name; message ids are unique per provider.")
    ] = "api",
    message_id: Annotated[
        str | None,
        typer.Option("--message-id", help="The provider's id; a repeat is handled once (C27)."),
    ] = None,
    received_at: Annotated[
        str | None,
        typer.Option("--received-at", help="When it arrived (ISO-8601 with zone); default: now."),
    ] = None,
    channel: Channel = "sms",
    provider_hint: Annotated[
        str | None,
        typer.Option(
            "--provider-hint",
            help="The provider's own keyword verdict (STOP, START, HELP); STOP is honoured (C19).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Handle one inbound message as a provider webhook would.

    Classifies it, records at most one consent change, and queues the reply
    (or a review item when a person has to decide). The same --message-id
    from the same --provider is handled once: a repeat writes and sends
    nothing.

    Example:

        consentline inbound --from +14155550101 --to +18005550100 --text "Stop."
        consentline inbound --from +14155550101 --to +18005550100 --text START \\
            --provider twilio --message-id SM123 --json
    """
    with session(ctx, as_json) as client:
        result = client.handle_inbound(
            from_=from_,
            to=to,
            text=message,
            provider=provider,
            message_id=message_id,
            received_at=parse_time(received_at, "--received-at"),
            channel=channel,
            provider_hint=provider_hint,
        )
        if as_json:
            emit(result_json(result, client))
        else:
            console().print(describe_result(result, client, message_id, provider_hint))
