"""``account``, ``line`` and ``purpose``: the structure consent is scoped to."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.tree import Tree

from consentline import Account, Consentline, PurposeRule
from consentline.cli._common import JsonFlag, console, emit, session, text
from consentline.domain.errors import InvalidInput
from consentline.domain.scopes import Directory

account_app = typer.Typer(
    no_args_is_help=True,
    help="""Create, change and list accounts (a root account is a tenant).

Example:

    consentline account create acme --region US
    consentline account create acme-eu --parent acme --isolated
    consentline account list
""",
)
line_app = typer.Typer(
    no_args_is_help=True,
    help="""Register sending lines (numbers, short codes, sender ids).

Example:

    consentline line add +18005550100 --account acme
""",
)
purpose_app = typer.Typer(
    no_args_is_help=True,
    help="""Define the purposes of a tenant and how each is enforced.

Example:

    consentline purpose set alerts --account acme --model non_restrictive
    consentline purpose list --account acme
""",
)

Parent = Annotated[str | None, typer.Option("--parent", help="Slug of the parent account.")]
Region = Annotated[
    str | None,
    typer.Option("--region", help="Default region for national numbers, e.g. US, FR."),
]


def account_json(directory: Directory, account: Account) -> dict[str, Any]:
    """An account with what it inherits: effective reach and compliance boundary."""
    parent = directory.account_by_id(account.parent_id) if account.parent_id else None
    return {
        "slug": account.slug,
        "parent": parent.slug if parent else None,
        "tenant": directory.account_by_id(account.tenant_id).slug,
        "reach": account.reach,
        "effective_reach": directory.effective_reach(account.id),
        "isolated": account.isolated,
        "boundary": directory.boundary(account.id).slug,
        "default_region": account.default_region,
        "lines": sorted(line.number for line in directory.lines_of(account.id)),
    }


def _label(info: dict[str, Any]) -> str:
    reach = info["effective_reach"]
    parts = [f"reach {reach}" + ("" if info["reach"] else " (inherited)")]
    if info["parent"] is None:
        parts.append("tenant, boundary")
    elif info["isolated"]:
        parts.append("isolated, boundary")
    else:
        parts.append(f"boundary {text(info['boundary'])}")
    if info["default_region"]:
        parts.append(f"region {text(info['default_region'])}")
    return f"[bold]{text(info['slug'])}[/bold]  " + " · ".join(parts)


def _print_account(client: Consentline, account: Account, verb: str) -> None:
    info = account_json(client.directory(), account)
    console().print(f"{verb} account {_label(info)}")


@account_app.command("create")
def create_account(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="Lower-case identifier, e.g. acme.")],
    parent: Parent = None,
    reach: Annotated[
        str | None,
        typer.Option(
            "--reach",
            help="Where a keyword opt-out on one of its lines applies: line, account or tree. "
            "Default: inherited (tree for a tenant).",
        ),
    ] = None,
    isolated: Annotated[
        bool, typer.Option("--isolated", help="A compliance boundary: opt-outs stay inside.")
    ] = False,
    region: Region = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an account; without --parent it is a new tenant.

    Example:

        consentline account create acme --region US
        consentline account create acme-eu --parent acme --isolated --json
    """
    with session(ctx, as_json) as client:
        account = client.create_account(
            slug, parent=parent, reach=reach, isolated=isolated, default_region=region
        )
        if as_json:
            emit(account_json(client.directory(), account))
        else:
            _print_account(client, account, "Created")


@account_app.command("update")
def update_account(
    ctx: typer.Context,
    slug: Annotated[str, typer.Argument(help="The account to change.")],
    parent: Parent = None,
    reach: Annotated[
        str | None,
        typer.Option("--reach", help="line, account, tree, or inherit (use the parent's)."),
    ] = None,
    isolated: Annotated[
        bool | None,
        typer.Option("--isolated/--not-isolated", help="Make it a compliance boundary or not."),
    ] = None,
    region: Region = None,
    as_json: JsonFlag = False,
) -> None:
    """Change an account's parent, reach, isolation or default region.

    Example:

        consentline account update acme-eu --reach account
        consentline account update acme-eu --not-isolated --json
    """
    changes: dict[str, Any] = {}
    if parent is not None:
        changes["parent"] = parent
    if reach is not None:
        changes["reach"] = None if reach == "inherit" else reach
    if isolated is not None:
        changes["isolated"] = isolated
    if region is not None:
        changes["default_region"] = region
    with session(ctx, as_json) as client:
        if not changes:
            raise InvalidInput(
                "nothing to change: give --parent, --reach, --isolated/--not-isolated or --region"
            )
        account = client.update_account(slug, **changes)
        if as_json:
            emit(account_json(client.directory(), account))
        else:
            _print_account(client, account, "Updated")


@account_app.command("list")
def list_accounts(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the account tree with each account's reach, boundary and lines.

    Example:

        consentline account list
        consentline account list --json
    """
    with session(ctx, as_json) as client:
        directory = client.directory()
        accounts = sorted(directory.accounts(), key=lambda a: a.slug)
        if as_json:
            emit([account_json(directory, a) for a in accounts])
            return
        if not accounts:
            console().print("No accounts yet. Create one with: consentline account create SLUG")
            return
        children: dict[int | None, list[Account]] = {}
        for account in accounts:
            children.setdefault(account.parent_id, []).append(account)
        tree = Tree("accounts", guide_style="dim")

        def grow(branch: Tree, account: Account) -> None:
            node = branch.add(_label(account_json(directory, account)))
            for line in sorted(directory.lines_of(account.id), key=lambda x: x.number):
                node.add(f"line {text(line.number)}")
            for child in children.get(account.id, []):
                grow(node, child)

        for root in children.get(None, []):
            grow(tree, root)
        console().print(tree)


@line_app.command("add")
def add_line(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="E.164 number, short code or sender id.")],
    account: Annotated[str, typer.Option("--account", help="The account that owns the line.")],
    as_json: JsonFlag = False,
) -> None:
    """Register a sending line for an account.

    Example:

        consentline line add +18005550100 --account acme
        consentline line add 40404 --account acme --json
    """
    with session(ctx, as_json) as client:
        line = client.add_line(number, account=account)
        owner = client.directory().account_by_id(line.account_id)
        if as_json:
            emit({"id": line.id, "number": line.number, "account": owner.slug})
        else:
            console().print(f"Added line {text(line.number)} to account {text(owner.slug)}")


def rule_json(rule: PurposeRule) -> dict[str, Any]:
    ttl = rule.consent_ttl
    return {
        "name": rule.name,
        "model": rule.model,
        "quiet_hours": None if rule.quiet_hours is None else str(rule.quiet_hours),
        "consent_ttl_seconds": None if ttl is None else int(ttl.total_seconds()),
    }


def _rule_line(rule: PurposeRule) -> str:
    extras = []
    if rule.quiet_hours is not None:
        extras.append(f"quiet hours {rule.quiet_hours}")
    if rule.consent_ttl is not None:
        extras.append(f"consent expires after {rule.consent_ttl.days} days")
    suffix = f" ({', '.join(extras)})" if extras else ""
    return f"[bold]{text(rule.name)}[/bold]: {rule.model}{suffix}"


@purpose_app.command("set")
def set_purpose(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Purpose name, e.g. marketing.")],
    account: Annotated[str, typer.Option("--account", help="Any account of the tenant.")],
    model: Annotated[
        str, typer.Option("--model", help="restrictive, non_restrictive or disabled.")
    ],
    quiet_hours: Annotated[
        str | None,
        typer.Option("--quiet-hours", help="Refuse sends in this local-time window: 21:00-08:00."),
    ] = None,
    ttl_days: Annotated[
        int | None, typer.Option("--ttl-days", help="Opt-ins expire after this many days.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Define or replace a purpose of the tenant that --account belongs to.

    Example:

        consentline purpose set marketing --account acme --model restrictive \\
            --quiet-hours 21:00-08:00 --ttl-days 540
    """
    ttl = None if ttl_days is None else timedelta(days=ttl_days)
    with session(ctx, as_json) as client:
        rule = client.set_purpose(account, name, model, quiet_hours=quiet_hours, consent_ttl=ttl)
        if as_json:
            emit(rule_json(rule))
        else:
            console().print(f"Set purpose {_rule_line(rule)}")


@purpose_app.command("list")
def list_purposes(
    ctx: typer.Context,
    account: Annotated[str, typer.Option("--account", help="Any account of the tenant.")],
    as_json: JsonFlag = False,
) -> None:
    """List the purposes of the tenant that --account belongs to.

    Example:

        consentline purpose list --account acme --json
    """
    with session(ctx, as_json) as client:
        rules = sorted(client.policy(account).purposes.values(), key=lambda r: r.name)
        if as_json:
            emit([rule_json(rule) for rule in rules])
            return
        out = console()
        for rule in rules:
            out.print(_rule_line(rule))
