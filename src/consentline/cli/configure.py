"""``account configure``: the keywords and reply texts an account's inbound handling uses.

The command belongs to the ``account`` group (:mod:`consentline.cli.accounts`
owns it); it lives here because it is about inbound settings, not the tree.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from consentline.cli._common import JsonFlag, console, emit, session, text
from consentline.domain.errors import InvalidInput
from consentline.domain.scope_question import ScopeQuestion
from consentline.domain.settings import AccountSettings


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


def _category(value: str) -> dict[str, str]:
    """``CODE=purpose:NAME:LABEL`` or ``CODE=topic:NAME:LABEL`` as a scope category."""
    code, sep, rest = value.partition("=")
    kind, _, rest = rest.partition(":")
    name, _, label = rest.partition(":")
    if not sep or kind.strip() not in ("purpose", "topic") or not name.strip():
        raise InvalidInput(
            f"--scope-category {value!r} is not of the form CODE=purpose:NAME:LABEL"
            " (or CODE=topic:NAME:LABEL)",
            field="scope-category",
        )
    return {"code": code.strip(), kind.strip(): name.strip(), "label": label.strip()}


def _scope_question(
    current: ScopeQuestion | None,
    enabled: bool | None,
    categories: list[str] | None,
    window: int | None,
    wording: list[str] | None,
) -> dict[str, Any] | None:
    """The account's own scope question with the options given applied (None: none given)."""
    if enabled is None and categories is None and window is None and wording is None:
        return None
    setting = current.to_json() if current is not None else {}
    if enabled is not None:
        setting["enabled"] = enabled
    if categories is not None:
        setting["categories"] = [_category(c) for c in categories]
    if window is not None:
        setting["window_hours"] = window
    if wording is not None:
        setting["wording"] = _pairs(wording, "--scope-wording", "LANG=TEXT")
    return setting


def _question_line(question: ScopeQuestion | None) -> str:
    if question is None:
        return "off (default)"
    offered = ", ".join(f"{c.code} → {c.describe} ({c.label})" for c in question.categories)
    state = "on" if question.enabled else "off"
    return f"{state}: {offered or 'no categories'}; answers count {question.window_hours} h"


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
        ("scope question", _question_line(settings.scope_question)),
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
    scope_question: Annotated[
        bool | None,
        typer.Option(
            "--scope-question/--no-scope-question",
            help="Should the opt-out confirmation ask which categories to keep (C17)?",
        ),
    ] = None,
    scope_category: Annotated[
        list[str] | None,
        typer.Option(
            "--scope-category",
            help="CODE=purpose:NAME:LABEL or CODE=topic:NAME:LABEL the question offers; repeat.",
        ),
    ] = None,
    scope_window: Annotated[
        int | None,
        typer.Option("--scope-window", help="Hours an answer counts (1 to 72, default 24)."),
    ] = None,
    scope_wording: Annotated[
        list[str] | None,
        typer.Option(
            "--scope-wording", help="LANG=TEXT with {choices} (and {program}); linted (C18)."
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
        consentline account configure acme --scope-question \\
            --scope-category "1=purpose:transactional:order updates"
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
        question = _scope_question(
            client.account_settings(slug, effective=False).scope_question,
            scope_question,
            scope_category,
            scope_window,
            scope_wording,
        )
        if question is not None:
            changes["scope_question"] = question
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
