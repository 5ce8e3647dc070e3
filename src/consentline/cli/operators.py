"""``consentline operator``: the people who sign in to the web UI."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from consentline.cli._common import JsonFlag, console, emit, iso, session, text
from consentline.domain.scopes import Directory
from consentline.services.operators import Operator

operator_app = typer.Typer(
    no_args_is_help=True,
    help="""Operators of the web UI: people who sign in at /ui/login (docs/web-ui.md).

Example:

    consentline operator create maria --account acme --role write
    consentline operator list
""",
)


def _json(operator: Operator, directory: Directory) -> dict[str, object]:
    return {
        "id": operator.id,
        "name": operator.name,
        "account": directory.account_by_id(operator.account_id).slug,
        "role": operator.role,
        "created_at": iso(operator.created_at),
        "disabled_at": None if operator.disabled_at is None else iso(operator.disabled_at),
    }


@operator_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The sign-in username, e.g. maria.")],
    account: Annotated[
        str, typer.Option("--account", help="The account whose subtree the operator reaches.")
    ],
    role: Annotated[str, typer.Option("--role", help="read, write or admin.")] = "read",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create an operator who signs in at /ui/login (the password is asked for,
    twice, unless --password-stdin; at least 10 characters; stored as an argon2id hash).

    Example:

        consentline operator create maria --account acme --role write
        printf '%s\\n' "$PASSWORD" | consentline operator create ops --account acme \\
            --role admin --password-stdin --json
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with session(ctx, as_json) as client:
        directory = client.directory()
        created = client.operators().create(
            name, directory=directory, account=account, role=role, password=password
        )
        if as_json:
            emit(_json(created, directory))
        else:
            console().print(
                f"Created operator [bold]{text(created.name)}[/bold] of account "
                f"{text(account)} ({created.role}); sign in at /ui/login"
            )


@operator_app.command("list")
def list_operators(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List the operators.

    Example:

        consentline operator list --json
    """
    with session(ctx, as_json) as client:
        directory = client.directory()
        found = [_json(o, directory) for o in client.operators().list()]
        if as_json:
            emit(found)
            return
        for o in found:
            state = "disabled" if o["disabled_at"] else "active"
            console().print(f"{text(str(o['name']))}  {o['account']}  {o['role']}  {state}")


@operator_app.command("disable")
def disable(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The operator's username.")],
    as_json: JsonFlag = False,
) -> None:
    """Disable an operator: their sessions end at their next request.

    Example:

        consentline operator disable maria
    """
    with session(ctx, as_json) as client:
        done = client.operators().disable(name)
        if as_json:
            emit(_json(done, client.directory()))
        else:
            console().print(f"Disabled operator {text(done.name)}")
