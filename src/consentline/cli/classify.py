"""``classify``: what the keyword classifier makes of a reply, with no database (C1-C13).

One message prints its classification for people (or JSON); ``--jsonl`` streams
JSON lines through the classifier, one output line per input line, for
measuring a provider's or a corpus's keywords in bulk.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from typing import IO, Annotated, Any, Final

import typer

from consentline.cli._common import ERROR_EXIT, JsonFlag, console, emit, errors_to_exit, text
from consentline.domain import classifier as keywords
from consentline.domain.errors import InvalidInput
from consentline.services.inbound import MAX_BODY

# A language tag such as fr, fr-CA or pt_BR (BCP 47 shaped; only the language is used).
_LOCALE: Final = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")

INTENT_STYLE: Final = {
    "opt_out": "bold red",
    "opt_in": "bold green",
    "help": "bold cyan",
    "ambiguous": "bold yellow",
    "none": "dim",
}
INTENT_MEANING: Final = {
    "opt_out": "revokes consent",
    "opt_in": "restores or confirms consent (C12)",
    "help": "asks for help (C11)",
    "ambiguous": "a person reviews it (C8)",
    "none": "no consent change",
}


def check_locale(locale: object, field: str = "--locale") -> str | None:
    """A language tag (``fr-CA``) or None; anything else is refused."""
    if locale is None:
        return None
    if not isinstance(locale, str) or _LOCALE.fullmatch(locale) is None:
        raise InvalidInput(
            f"{field} {locale!r} is not a language tag such as fr-CA", field=field.lstrip("-")
        )
    return locale


def classification_json(cls: keywords.Classification) -> dict[str, Any]:
    """Every field of a classification, scope as ``{"kind": ..., "name": ...}`` (C13)."""
    return cls.as_dict()


def intent_label(intent: str) -> str:
    """The intent in its colour (Rich markup)."""
    style = INTENT_STYLE.get(intent, "bold")
    return f"[{style}]{intent}[/{style}]"


def describe_scope(scope: keywords.KeywordScope) -> str:
    """What a keyword reply covers, in words (C5, C16)."""
    if scope.kind == "default":
        return "default (the account's keyword reach)"
    if scope.kind == "all":
        return "all (everything the sender sends)"
    return f"{scope.kind} {scope.name}"


def describe_provider(cls: keywords.Classification) -> str:
    """What a Twilio-style exact matcher does, and whether it differs (C13; Rich markup)."""
    if cls.provider_exact == cls.intent:
        return f"{cls.provider_exact} (the same)"
    if cls.intent == "opt_out":
        return f"[yellow]{cls.provider_exact}: an exact matcher misses this opt-out[/yellow]"
    return f"{cls.provider_exact} (differs)"


def _config(locale: str | None) -> keywords.ClassifierConfig:
    if locale is None:
        return keywords.DEFAULT_CONFIG
    return keywords.ClassifierConfig(locale=locale)


def _check_text(message: object, field: str) -> str:
    if not isinstance(message, str):
        raise InvalidInput(f"{field} must be a string (may be empty)", field=field)
    if len(message) > MAX_BODY:
        raise InvalidInput(f"{field} is longer than {MAX_BODY} characters", field=field)
    return message


@lru_cache(maxsize=16_384)
def _classified_line(message: str, locale: str | None) -> str:
    """One output line; replies repeat a lot (STOP, Yes), so lines are memoised."""
    cls = keywords.classify(message, _config(locale))
    return json.dumps(classification_json(cls))


def _parse(raw: bytes, default_locale: str | None) -> tuple[str, str | None]:
    """The text and locale of one input line; ValueError or InvalidInput when malformed."""
    if not raw.strip():
        raise InvalidInput('empty line: expected a JSON object such as {"text": "STOP"}')
    try:
        row = json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidInput("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise InvalidInput("not valid JSON: nested too deeply") from None
    if not isinstance(row, dict):
        raise InvalidInput('expected a JSON object such as {"text": "STOP"}')
    if "text" not in row:
        raise InvalidInput('missing "text"')
    message = _check_text(row["text"], "text")
    locale = check_locale(row.get("locale"), "locale")
    return message, default_locale if locale is None else locale


def classify_lines(source: Iterable[bytes], out: IO[str], locale: str | None) -> tuple[int, int]:
    """Classify JSON lines from ``source`` to ``out`` as they come; (fine, malformed).

    One output line per input line, in order, flushed at once (so a program can
    write a line and read its answer). A malformed line gets an error line.
    """
    fine = malformed = 0
    for number, raw in enumerate(source, 1):
        try:
            line = _classified_line(*_parse(raw, locale))
            fine += 1
        except InvalidInput as error:
            line = json.dumps(
                {"error": {"code": error.code, "message": error.message, "line": number}}
            )
            malformed += 1
        out.write(line + "\n")
        out.flush()
    return fine, malformed


def _stream(source: Iterable[bytes], locale: str | None, as_json: bool) -> None:
    fine, malformed = classify_lines(source, sys.stdout, locale)
    if not as_json:
        typer.echo(f"{fine + malformed} lines: {fine} classified, {malformed} malformed", err=True)
    if malformed:
        raise typer.Exit(ERROR_EXIT)


def classify(
    message: Annotated[
        str | None,
        typer.Argument(metavar="TEXT", help="The message body, as a handset sent it."),
    ] = None,
    jsonl: Annotated[
        typer.FileBinaryRead | None,
        typer.Option(
            "--jsonl",
            metavar="FILE",
            help='Classify JSON lines {"text": ..., "locale": ...} from FILE; - reads stdin.',
        ),
    ] = None,
    locale: Annotated[
        str | None,
        typer.Option(
            "--locale",
            help="Language tag, e.g. fr-CA: picks the language of words several packs share.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Classify a reply as an account with default settings would (no database needed).

    Prints the intent, the rule that decided it, the keyword, language and
    scope, what a Twilio-style exact matcher would have done, the classifier
    version and the normalised text (C13).

    With --jsonl each input line is a JSON object {"text": ..., "locale": ...}
    (locale optional, default --locale) and each output line is the
    classification as JSON, in input order. A malformed line gets
    {"error": {"code": "invalid_input", "message": ..., "line": N}} and the
    run goes on; the exit status is then 2. Without --json a summary is also
    written to stderr.

    Example:

        consentline classify "Stop please"
        consentline classify ARRET --locale fr-CA --json
        printf '{"text":"STOP"}\\n{"text":"CANCELAR","locale":"pt-BR"}\\n' \\
            | consentline classify --jsonl -
    """
    with errors_to_exit(as_json):
        if message is not None and jsonl is not None:
            raise InvalidInput("give either TEXT or --jsonl FILE, not both")
        locale = check_locale(locale)
        if message is None:
            if jsonl is None:
                raise InvalidInput("give TEXT to classify, or --jsonl FILE")
            _stream(jsonl, locale, as_json)
            return
        cls = keywords.classify(_check_text(message, "TEXT"), _config(locale))
    if as_json:
        emit(classification_json(cls))
        return
    lines = [
        f"{intent_label(cls.intent)}  {INTENT_MEANING[cls.intent]}",
        f"  rule        {text(cls.rule)}",
        f"  keyword     {text(cls.keyword or '-')}",
        f"  language    {text(cls.language or '-')}",
        f"  scope       {text(describe_scope(cls.scope))}",
    ]
    if cls.topic:
        lines.append(f"  topic       {text(cls.topic)}")
    lines += [
        f"  provider    {describe_provider(cls)}",
        f"  normalised  {text(json.dumps(cls.normalised, ensure_ascii=False))}",
        f"  version     {text(cls.version)}",
    ]
    console().print("\n".join(lines))
