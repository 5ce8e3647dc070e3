"""What every command shares: the database option, the error edge and output helpers.

Library errors are turned into CLI errors in ONE place (:func:`session`): a
``ConsentlineError`` prints ``Error: <message>`` on stderr (or, with ``--json``,
``{"error": {...}}`` on stdout) and exits with status 2, the status Click uses
for bad usage. Nothing here logs; phone numbers appear only in the output the
operator asked for. An error about a value the operator typed shows it in full
(:meth:`~consentline.ConsentlineError.for_author`): the masking of C23 is for logs
and HTTP answers, not for the person correcting their own input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.markup import escape

from consentline import Consentline, ConsentlineError, Event, connect
from consentline.domain.errors import InvalidInput, InvalidProof, InvalidTime
from consentline.settings import DEFAULT_DATABASE_URL

DEFAULT_URL: Final = DEFAULT_DATABASE_URL
ENV_URL: Final = "CONSENTLINE_DATABASE_URL"
ENV_ERASURE_KEY: Final = "CONSENTLINE_ERASURE_KEY"
ERROR_EXIT: Final = 2

JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON to stdout instead of text.")
]
Limit = Annotated[int, typer.Option("--limit", help="Show at most this many.")]


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    """Options of the top-level ``consentline`` command, shared with sub-commands."""

    url: str = DEFAULT_URL


def global_options(ctx: typer.Context) -> GlobalOptions:
    found = ctx.find_object(GlobalOptions)
    return found if found is not None else GlobalOptions()


@contextmanager
def errors_to_exit(as_json: bool) -> Iterator[None]:
    """Turn a library error into a clean message and exit status 2 (no traceback)."""
    try:
        yield
    except ConsentlineError as error:
        shown = error.for_author()
        if as_json:
            typer.echo(dump({"error": shown}))
        else:
            detail = shown.get("detail")
            typer.echo(f"Error: {shown['message']}" + (f" ({detail})" if detail else ""), err=True)
        raise typer.Exit(ERROR_EXIT) from None


def _open(url: str) -> Consentline:
    # C22: the installation's erasure key, from the environment only (never the database).
    return connect(url, erasure_key=os.environ.get(ENV_ERASURE_KEY, "").strip() or None)


@contextmanager
def session(ctx: typer.Context, as_json: bool) -> Iterator[Consentline]:
    """Open the database of ``--db`` for one command, inside the error edge."""
    with errors_to_exit(as_json), _open(global_options(ctx).url) as client:
        yield client


# -- parsing -----------------------------------------------------------------------------
def parse_time(text: str | None, option: str) -> datetime | None:
    """An ISO-8601 time with a zone (``2025-01-31T12:00:00Z``); naive times are refused."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidTime(
            f"{option} {text!r} is not an ISO-8601 time such as 2025-01-31T12:00:00Z",
            field=option,
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTime(
            f"{option} {text!r} has no time zone; add 'Z' or an offset such as '+00:00'",
            field=option,
        )
    return moment


def parse_proof(pairs: list[str] | None, proof_json: str | None) -> dict[str, Any] | None:
    """``--proof-json '{...}'`` merged with ``--proof key=value`` pairs (the pairs win)."""
    proof: dict[str, Any] = {}
    if proof_json is not None:
        try:
            loaded = json.loads(proof_json)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"--proof-json is not valid JSON: {exc.msg}", field="proof"
            ) from None
        except RecursionError:  # nested far past what the ledger accepts (MAX_PROOF_DEPTH)
            raise InvalidProof("--proof-json is nested too deep", field="proof") from None
        if not isinstance(loaded, dict):
            raise InvalidInput("--proof-json must be a JSON object", field="proof")
        proof.update(loaded)
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--proof {pair!r} is not of the form key=value", field="proof")
        proof[key.strip()] = value
    return proof or None


def check_limit(limit: int) -> int:
    if limit < 1:
        raise InvalidInput(f"--limit must be at least 1, not {limit}", field="limit")
    return limit


# -- output ------------------------------------------------------------------------------
def console() -> Console:
    """A Console on the current stdout (created per command, so test runners capture it)."""
    return Console(highlight=False, soft_wrap=False)


def dump(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, default=str)


def emit(value: Any) -> None:
    typer.echo(dump(value))


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC, as every command prints times."""
    return moment.astimezone(UTC).isoformat()


def short_iso(moment: datetime) -> str:
    """ISO-8601 UTC to the second, for tables: ``2025-01-31T12:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_hash(value: str) -> str:
    return value[:12]


def text(value: object) -> str:
    """User data made safe for Rich markup (a proof value may contain ``[...]``)."""
    return escape("" if value is None else str(value))


def proof_lines(proof: dict[str, Any]) -> list[str]:
    """Proof fields as ``key=value`` (non-string values as JSON)."""
    return [
        f"{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in proof.items()
    ]


def proof_text(proof: dict[str, Any]) -> str:
    return ", ".join(proof_lines(proof))


def count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def clip(value: str, width: int) -> str:
    """One line of at most ``width`` characters (message bodies can be long)."""
    flat = " ".join(value.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _covers(event: Event) -> str:
    covers = f"purpose {event.purpose}" if event.purpose else "all purposes"
    return f"{covers}, topic {event.topic}" if event.topic else covers


def event_line(event: Event, client: Consentline) -> str:
    where = client.describe_scope(event.scope)
    return f"#{event.id} {event.action} · {text(where)} · {text(_covers(event))}"
