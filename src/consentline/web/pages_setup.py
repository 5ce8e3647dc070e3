"""The setup pages (``/ui/setup``): the account tree, lines, purposes and the tenant's
policy; the account settings, credentials, webhooks and API keys pages are in
:mod:`pages_settings` and :mod:`pages_access` (this router includes theirs).

Every operator sees the setup of their subtree; changes need the ``admin`` role, as
the API's admin routes do. What a change may touch follows the API's reach rule:
an account outside the operator's subtree is 404. Two more limits, because the
change reaches beyond the subtree: the tenant-wide purposes and policy are changed
only by an admin of the tenant's root account (as erasure is), and an account's
reach, isolation and region only from above it (an admin of a sub-account cannot
take it out of its parent's opt-outs), or on the root by its own admins.

None of these services records an actor; each change is logged with the operator's
name and what changed (never a number).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from consentline.domain.errors import Forbidden, InvalidInput
from consentline.domain.policy import MODELS
from consentline.domain.scopes import REACHES, Account
from consentline.web import pages_access, pages_settings
from consentline.web.common import Signed, page, render, signed_in, web_of
from consentline.web.setup_common import admin_form, audit

router = APIRouter(include_in_schema=False)
router.include_router(pages_settings.router)
router.include_router(pages_access.router)


def may_change(signed: Signed, account: Account) -> bool:
    """Whether the operator may change ``account``'s reach, isolation or region."""
    home = signed.reach.home
    if account.id == home.id:
        return home.is_root
    return signed.reach.reaches(account.id)


def _root_admin(signed: Signed) -> bool:
    return signed.is_admin and signed.reach.home.is_root


def _tree(signed: Signed) -> list[dict[str, Any]]:
    """The subtree in tree order (each account after its parent), with what it inherits."""
    directory = signed.reach.directory
    children: dict[int | None, list[Account]] = {}
    for account in sorted(signed.reach.accounts(), key=lambda a: a.slug):
        children.setdefault(account.parent_id, []).append(account)
    rows: list[dict[str, Any]] = []

    def walk(account: Account, depth: int) -> None:
        parent = directory.account_by_id(account.parent_id) if account.parent_id else None
        rows.append(
            {
                "account": account,
                "parent": parent.slug if parent else None,
                "depth": depth,
                "effective_reach": directory.effective_reach(account.id),
                "boundary": directory.boundary(account.id).slug,
                "lines": sorted(line.number for line in directory.lines_of(account.id)),
            }
        )
        for child in children.get(account.id, []):
            walk(child, depth + 1)

    walk(signed.reach.home, 0)
    return rows


@router.get("/ui/setup")
@page
def overview(request: Request) -> Response:
    signed = signed_in(request)
    client = web_of(request).client
    policy = client.policy(signed.reach.home.slug)
    return render(
        request,
        "setup.html",
        signed=signed,
        tree=_tree(signed),
        accounts=signed.reach.accounts(),
        policy=policy,
        purposes=sorted(policy.purposes.values(), key=lambda r: r.name),
        models=MODELS,
        reaches=REACHES,
        root_admin=_root_admin(signed),
        done=request.query_params.get("done"),
    )


@router.post("/ui/setup/accounts")
@page
def create_account(request: Request) -> Response:
    signed, form = admin_form(request)
    parent = signed.reach.account(form.get("parent", "")).slug
    slug = form.get("slug", "").strip()
    account = web_of(request).client.create_account(
        slug,
        parent=parent,
        reach=form.get("reach") or None,
        isolated=form.get("isolated") == "yes",
        default_region=form.get("region", "").strip().upper() or None,
    )
    audit(signed, f"created account {account.slug} under {parent}")
    return RedirectResponse("/ui/setup?done=account", status_code=303)


@router.get("/ui/setup/accounts/{slug}")
@page
def account_page(request: Request, slug: str) -> Response:
    signed = signed_in(request)
    account = signed.reach.account(slug)
    directory = signed.reach.directory
    return render(
        request,
        "setup_account.html",
        signed=signed,
        account=account,
        effective_reach=directory.effective_reach(account.id),
        boundary=directory.boundary(account.id).slug,
        lines=sorted(line.number for line in directory.lines_of(account.id)),
        reaches=REACHES,
        editable=signed.is_admin and may_change(signed, account),
        done=request.query_params.get("done"),
    )


@router.post("/ui/setup/accounts/{slug}")
@page
def update_account(request: Request, slug: str) -> Response:
    signed, form = admin_form(request)
    account = signed.reach.account(slug)
    if not may_change(signed, account):
        raise Forbidden(
            "an account's reach, isolation and region are changed from above it", role="admin"
        )
    reach = form.get("reach", "")
    if reach not in ("inherit", *REACHES):
        raise InvalidInput("choose the reach", field="reach")
    web_of(request).client.update_account(
        account.slug,
        reach=None if reach == "inherit" else reach,
        isolated=form.get("isolated") == "yes",
        default_region=form.get("region", "").strip().upper() or None,
    )
    audit(signed, f"changed reach, isolation or region of account {account.slug}")
    return RedirectResponse(f"/ui/setup/accounts/{account.slug}?done=saved", status_code=303)


@router.post("/ui/setup/lines")
@page
def add_line(request: Request) -> Response:
    signed, form = admin_form(request)
    account = signed.reach.account(form.get("account", "")).slug
    web_of(request).client.add_line(form.get("number", "").strip()[:64], account=account)
    audit(signed, f"added a line to account {account}")
    return RedirectResponse("/ui/setup?done=line", status_code=303)


def _root(signed: Signed) -> str:
    if not signed.reach.home.is_root:
        raise Forbidden("the tenant's purposes and policy are set by an admin of its root account")
    return signed.reach.home.slug


def _positive(form: dict[str, str], name: str, label: str) -> int | None:
    text = form.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) <= 36_500:
        raise InvalidInput(f"{label} is a whole number from 1 to 36500", field=name)
    return int(text)


@router.post("/ui/setup/purposes")
@page
def set_purpose(request: Request) -> Response:
    signed, form = admin_form(request)
    tenant = _root(signed)
    days = _positive(form, "ttl_days", "the consent lifetime in days")
    rule = web_of(request).client.set_purpose(
        tenant,
        form.get("name", "").strip(),
        form.get("model", ""),
        quiet_hours=form.get("quiet_hours", "").strip() or None,
        consent_ttl=None if days is None else timedelta(days=days),
    )
    audit(signed, f"set purpose {rule.name} of tenant {tenant} ({rule.model})")
    return RedirectResponse("/ui/setup?done=purpose", status_code=303)


@router.post("/ui/setup/policy")
@page
def set_policy(request: Request) -> Response:
    signed, form = admin_form(request)
    tenant = _root(signed)
    days = _positive(form, "consent_ttl_days", "the consent lifetime in days")
    hours = _positive(form, "pending_ttl_hours", "the double opt-in wait in hours")
    if hours is None:
        raise InvalidInput("give the double opt-in wait in hours", field="pending_ttl_hours")
    revoke_all: str | None = form.get("revoke_all_from", "").strip()
    if form.get("revoke_all_off") == "yes":
        revoke_all = None
    elif not revoke_all:
        raise InvalidInput(
            "give the revoke-all date, or turn the rule off", field="revoke_all_from"
        )
    web_of(request).client.set_policy(
        tenant,
        consent_ttl=None if days is None else timedelta(days=days),
        pending_ttl=timedelta(hours=hours),
        revoke_all_from=revoke_all,
    )
    audit(signed, f"set the policy of tenant {tenant}")
    return RedirectResponse("/ui/setup?done=policy", status_code=303)
