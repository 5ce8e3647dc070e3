"""``policy``: show a tenant's policy, and set its revoke-all date (C16)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from consentline import TenantPolicy
from consentline.cli._common import JsonFlag, console, emit, session
from consentline.domain.errors import InvalidInput


def policy_json(policy: TenantPolicy) -> dict[str, Any]:
    ttl = policy.consent_ttl
    start = policy.revoke_all_from
    return {
        "consent_ttl_seconds": None if ttl is None else int(ttl.total_seconds()),
        "pending_ttl_seconds": int(policy.pending_ttl.total_seconds()),
        "revoke_all_from": None if start is None else start.isoformat(),
        "purposes": {name: rule.model for name, rule in sorted(policy.purposes.items())},
    }


def policy(
    ctx: typer.Context,
    account: Annotated[str, typer.Option("--account", help="Any account of the tenant.")],
    revoke_all_from: Annotated[
        str | None,
        typer.Option(
            "--revoke-all-from",
            help="From this day (YYYY-MM-DD, 00:00 UTC) a scoped STOP revokes every purpose"
            " and topic at its scope.",
        ),
    ] = None,
    revoke_all_off: Annotated[
        bool, typer.Option("--revoke-all-off", help="Turn the revoke-all rule off.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show the tenant policy of --account's tenant; set its revoke-all date (C16).

    The revoke-all date defaults to 2027-01-31, the FCC's postponed date for the
    rule that a revocation covers every message (47 CFR 64.1200(a)(10)). Events
    before the date keep the scope they were recorded with.

    Example:

        consentline policy --account acme --revoke-all-from 2026-06-01
    """
    with session(ctx, as_json) as client:
        if revoke_all_from is not None and revoke_all_off:
            raise InvalidInput("give --revoke-all-from or --revoke-all-off, not both")
        if revoke_all_off:
            found = client.set_policy(account, revoke_all_from=None)
        elif revoke_all_from is not None:
            found = client.set_policy(account, revoke_all_from=revoke_all_from)
        else:
            found = client.policy(account)
        if as_json:
            emit(policy_json(found))
            return
        shown = policy_json(found)
        out = console()
        ttl = shown["consent_ttl_seconds"]
        out.print(f"consent lifetime: {'unlimited' if ttl is None else f'{ttl // 86400} days'}")
        out.print(f"pending double opt-in: {shown['pending_ttl_seconds'] // 3600} hours")
        start = shown["revoke_all_from"]
        out.print(
            "revoke-all: off (a scoped STOP keeps its scope)"
            if start is None
            else f"revoke-all: from {start} (a scoped STOP from then revokes everything)"
        )
        out.print("purposes: " + ", ".join(f"{n} ({m})" for n, m in shown["purposes"].items()))
