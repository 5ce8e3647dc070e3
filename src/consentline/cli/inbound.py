"""``inbound``, ``review``, ``outbox`` and ``account configure``: replies from handsets.

``inbound`` hands one message to the library as a provider webhook would; the
review queue holds what the classifier would not decide alone (C8); the outbox
holds the replies waiting to be sent (C17, C24); ``account configure`` sets the
keywords and reply texts an account's inbound handling uses.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

import typer
from rich.table import Table

from consentline import Consentline, Event, InboundResult, Reply
from consentline.cli._common import (
    JsonFlag,
    console,
    emit,
    event_json,
    parse_time,
    session,
    short_iso,
    text,
)
from consentline.cli.classify import classification_json, intent_label
from consentline.domain.errors import InvalidInput
from consentline.domain.replies import CONFIRMATION_WINDOW
from consentline.domain.settings import AccountSettings
from consentline.providers.hints import normalise_hint

review_app = typer.Typer(
    no_args_is_help=True,
    help="""Ambiguous replies waiting for a person to decide (C8).

Example:

    consentline review list --account acme
    consentline review decide 3 --decision opt_out --reviewer alice
""",
)
outbox_app = typer.Typer(
    no_args_is_help=True,
    help="""Replies queued for sending: confirmations, help, double opt-in requests.

Example:

    consentline outbox list --status pending
""",
)

Channel = Annotated[str, typer.Option("--channel", help="sms, whatsapp or email.")]
Limit = Annotated[int, typer.Option("--limit", help="Show at most this many.")]

REVIEW_STATUSES: Final = {"open": "open", "decided": "decided", "all": None}
OUTBOX_STATUSES: Final = ("pending", "sent", "dropped", "failed")
STATUS_STYLE: Final = {"pending": "yellow", "sent": "green", "dropped": "dim", "failed": "red"}


def _limit(limit: int) -> int:
    if limit < 1:
        raise InvalidInput(f"--limit must be at least 1, not {limit}", field="limit")
    return limit


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def _clip(value: str, width: int) -> str:
    """One line of at most ``width`` characters (message bodies can be long)."""
    flat = " ".join(value.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _covers(event: Event) -> str:
    covers = f"purpose {event.purpose}" if event.purpose else "all purposes"
    return f"{covers}, topic {event.topic}" if event.topic else covers


def _event_line(event: Event, client: Consentline) -> str:
    where = client.describe_scope(event.scope)
    return f"#{event.id} {event.action} · {text(where)} · {text(_covers(event))}"


# -- inbound ----------------------------------------------------------------------------
def result_json(result: InboundResult, client: Consentline) -> dict[str, Any]:
    return {
        "id": result.id,
        "duplicate": result.duplicate,
        "decided_by": result.decided_by,
        "classification": classification_json(result.classification),
        "events": [event_json(event, client) for event in result.events],
        "reply": None if result.reply is None else result.reply.as_dict(),
        "review_id": result.review_id,
    }


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
        lines.append(f"  event     {_event_line(first, client)}")
        lines += [f"            {_event_line(event, client)}" for event in more]
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


# -- review -----------------------------------------------------------------------------
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
            account=account, status=REVIEW_STATUSES[status], limit=_limit(limit)
        )
        if as_json:
            emit([item.as_dict() for item in items])
            return
        if not items:
            what = "review items" if status == "all" else f"{status} review items"
            console().print(f"No {what}.")
            return
        title = f"{_count(len(items), 'review item')} ({status})"
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
                text(_clip(item.text, 40)),
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
                f"  event     {_event_line(event, client)}",
                f"  for       {text(event.address)}, effective {short_iso(event.occurred_at)}",
                "  reply     "
                + (
                    "none: more than 5 minutes after receipt (C17)"
                    if late
                    else "opt_out_confirmation queued (within 5 minutes of receipt, C17)"
                ),
            ]
        console().print("\n".join(lines))


# -- outbox -----------------------------------------------------------------------------
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
        messages = client.outbox(status=status, limit=_limit(limit))
        if as_json:
            emit([message.as_dict() for message in messages])
            return
        if not messages:
            console().print(f"No {status + ' ' if status else ''}replies in the outbox.")
            return
        table = Table(title=_count(len(messages), "reply", "replies"), title_justify="left")
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
                text(_clip(message.body, 60)),
            )
        console().print(table)


# -- account configure ------------------------------------------------------------------
def _pairs(values: list[str], option: str, form: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key.strip() or not item.strip():
            raise InvalidInput(f"{option} {value!r} is not of the form {form}", field=option)
        found[key.strip()] = item.strip()
    return found


def _templates(values: list[str]) -> dict[str, dict[str, str]]:
    templates: dict[str, dict[str, str]] = {}
    for key, body in _pairs(values, "--template", "LANG:KIND=TEXT").items():
        language, sep, kind = key.partition(":")
        if not sep or not language.strip() or not kind.strip():
            raise InvalidInput(
                f"--template {key!r} does not start with LANG:KIND, e.g. en:help", field="template"
            )
        templates.setdefault(language.strip(), {})[kind.strip()] = body
    return templates


def _words(values: list[str] | None) -> str:
    return ", ".join(values) if values else "-"


def _mapping(values: dict[str, Any]) -> str:
    return ", ".join(f"{key} → {value}" for key, value in values.items()) or "-"


def _flag(value: bool | None, default: bool) -> str:
    if value is None:
        return f"{'yes' if default else 'no'} (default)"
    return "yes" if value else "no"


def _default(value: str | None, default: str) -> str:
    return value if value is not None else f"{default} (default)"


def settings_lines(settings: AccountSettings) -> list[str]:
    """Effective inbound settings, one per line; unset values show their default."""
    program = settings.program
    rows = [
        ("opt-out keywords", _words(list(settings.opt_out_keywords)) + " (and the built-in ones)"),
        ("opt-in keywords", _words(list(settings.opt_in_keywords))),
        ("help keywords", _words(list(settings.help_keywords))),
        ("confirm keywords", _words(list(settings.confirm_keywords))),
        ("topic keywords", _mapping(dict(settings.topic_keywords))),
        ("keyword reach", _mapping(dict(settings.keyword_reach))),
        ("start creates opt-in", _flag(settings.start_creates_opt_in, False)),
        ("typo tolerance", _flag(settings.typo_tolerance, True)),
        ("program name", _default(settings.program_name, program.name)),
        ("support contact", _default(settings.support_contact, program.support)),
        ("frequency", _default(settings.frequency, program.frequency)),
        ("reply language", _default(settings.language, "en")),
    ]
    templates = [
        f"{language}:{kind}  {body}"
        for language, kinds in settings.templates.items()
        for kind, body in kinds.items()
    ]
    rows += [("templates" if not i else "", t) for i, t in enumerate(templates or ["built-in"])]
    return [f"  {label:<21} {text(value)}" for label, value in rows]


def configure_account(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The account to configure.")],
    opt_out_keyword: Annotated[
        list[str] | None,
        typer.Option("--opt-out-keyword", help="Extra opt-out keyword; repeat for more."),
    ] = None,
    opt_in_keyword: Annotated[
        list[str] | None,
        typer.Option("--opt-in-keyword", help="Extra opt-in keyword; repeat for more."),
    ] = None,
    help_keyword: Annotated[
        list[str] | None,
        typer.Option("--help-keyword", help="Extra help keyword; repeat for more."),
    ] = None,
    topic_keyword: Annotated[
        list[str] | None,
        typer.Option(
            "--topic-keyword", help="WORD=topic: replying WORD opts in to the topic (C12)."
        ),
    ] = None,
    keyword_reach: Annotated[
        list[str] | None,
        typer.Option(
            "--keyword-reach", help="WORD=line|account|tree: where WORD's opt-out applies."
        ),
    ] = None,
    start_creates_opt_in: Annotated[
        bool | None,
        typer.Option(
            "--start-creates-opt-in/--no-start-creates-opt-in",
            help="May START subscribe a number that never consented (C12)?",
        ),
    ] = None,
    typo_tolerance: Annotated[
        bool | None,
        typer.Option(
            "--typo-tolerance/--no-typo-tolerance",
            help="Treat one-slip typos of opt-out keywords as opt-outs (C7)?",
        ),
    ] = None,
    program_name: Annotated[
        str | None, typer.Option("--program-name", help="Program named in replies.")
    ] = None,
    support_contact: Annotated[
        str | None, typer.Option("--support-contact", help="Help contact given in replies.")
    ] = None,
    frequency: Annotated[
        str | None, typer.Option("--frequency", help='Message frequency, e.g. "4 msgs/month".')
    ] = None,
    language: Annotated[
        str | None,
        typer.Option("--language", help="Default reply language: en, fr, es or pt."),
    ] = None,
    template: Annotated[
        list[str] | None,
        typer.Option(
            "--template",
            help="LANG:KIND=TEXT with {program}, {support}, {frequency}; linted (C18).",
        ),
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="Print the effective settings (alone: change nothing).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Set an account's inbound keywords, program details and reply texts.

    Only the options given change; each replaces that whole setting of the
    account (repeat an option for several values). Sub-accounts inherit what
    they do not set. Keywords and templates are linted: a breach is an error,
    the rest are warnings. Prints the warnings and the effective settings.

    Example:

        consentline account configure acme --program-name "Acme Alerts" \\
            --support-contact help@acme.example --frequency "4 msgs/month"
        consentline account configure acme --topic-keyword VOLUNTEER=volunteer \\
            --keyword-reach STOPALL=tree --opt-out-keyword STOPALL
        consentline account configure acme --show --json
    """
    with session(ctx, as_json) as client:
        changes: dict[str, Any] = {}
        for name, words in (
            ("opt_out_keywords", opt_out_keyword),
            ("opt_in_keywords", opt_in_keyword),
            ("help_keywords", help_keyword),
        ):
            if words is not None:
                changes[name] = words
        if topic_keyword is not None:
            changes["topic_keywords"] = _pairs(topic_keyword, "--topic-keyword", "WORD=topic")
        if keyword_reach is not None:
            changes["keyword_reach"] = _pairs(keyword_reach, "--keyword-reach", "WORD=reach")
        if template is not None:
            changes["templates"] = _templates(template)
        for name, value in (
            ("start_creates_opt_in", start_creates_opt_in),
            ("typo_tolerance", typo_tolerance),
            ("program_name", program_name),
            ("support_contact", support_contact),
            ("frequency", frequency),
            ("language", language),
        ):
            if value is not None:
                changes[name] = value
        if not changes and not show:
            raise InvalidInput("nothing to configure: give a setting, or --show to see them")
        warnings = client.configure_account(slug, **changes) if changes else []
        settings = client.account_settings(slug)
        if as_json:
            emit(
                settings.to_json()
                if not changes
                else {"account": slug, "warnings": warnings, "settings": settings.to_json()}
            )
            return
        out = console()
        if changes:
            out.print(f"Configured account {text(slug)}")
        for warning in warnings:
            out.print(f"[yellow]warning: {text(warning)}[/yellow]")
        out.print(f"Effective inbound settings of {text(slug)}:")
        out.print("\n".join(settings_lines(settings)))
