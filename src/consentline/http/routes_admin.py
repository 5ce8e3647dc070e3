"""Accounts, lines and keys: the ``admin`` role's routes.

Numbers and account slugs are unique in the installation, so a taken one must be
refused; it is refused alike whoever holds it (the caller's own tenant, a parent
out of reach, another tenant): ``409 line_exists`` / ``409 account_exists`` with
the same message, carrying only what the caller sent. The answer says "taken",
never by whom. An account or key out of reach is a 404 exactly like a missing one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from consentline.domain.errors import Conflict, Forbidden, NotFound
from consentline.http import schemas
from consentline.http.auth import CallerDep, ServicesDep
from consentline.services.api_keys import check_role
from consentline.services.views import account_json, key_json, line_json

router = APIRouter(prefix="/v1", tags=["admin"])


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(max_length=63)
    parent: str | None = Field(default=None, max_length=63)
    reach: str | None = Field(default=None, max_length=16)
    isolated: bool = False
    default_region: str | None = Field(default=None, max_length=2)


class NewLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(max_length=64)
    account: str = Field(max_length=63)


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str | None = Field(default=None, max_length=63)
    role: str = Field(max_length=8)


@router.post(
    "/accounts",
    status_code=201,
    summary="Create an account",
    response_model=schemas.AccountOut,
)
def create_account(body: NewAccount, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """A root account (a tenant) needs the installation-admin key; a sub-account
    needs an ``admin`` key whose subtree holds ``parent``."""
    who.require("admin")
    if body.parent is None:
        if not who.key.installation:
            raise Forbidden("only the installation admin key can create root accounts")
    else:
        who.account(body.parent)
    account = svc.client.create_account(
        body.slug,
        parent=body.parent,
        reach=body.reach,
        isolated=body.isolated,
        default_region=body.default_region,
    )
    return account_json(account, svc.client.directory())


@router.post(
    "/lines", status_code=201, summary="Register a sending line", response_model=schemas.LineOut
)
def add_line(body: NewLine, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    who.require("admin")
    who.account(body.account)
    line = svc.client.add_line(body.number, account=body.account)
    return line_json(line, svc.client.directory())


@router.post(
    "/keys",
    status_code=201,
    summary="Create an API key (shown this once)",
    response_model=schemas.NewKeyOut,
)
def create_key(body: NewKey, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """The key in the answer is never shown again: only its hash is stored."""
    who.require("admin")
    role = check_role(body.role)
    if body.account is None:
        if not who.key.installation:
            raise Forbidden("only the installation admin key can create installation keys")
        account_id = None
    else:
        account_id = who.account(body.account).id
    raw, key = svc.keys.create(account_id=account_id, role=role)
    return {"key": raw, **key_json(key, who.directory)}


@router.delete("/keys/{key_id}", summary="Revoke an API key", response_model=schemas.KeyOut)
def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=2**63 - 1)], who: CallerDep, svc: ServicesDep
) -> dict[str, Any]:
    who.require("admin")
    key = svc.keys.get(key_id)
    in_reach = key.account_id is None and who.key.installation
    if key.account_id is not None:
        in_reach = who.reaches(key.account_id)
    if not in_reach:
        raise NotFound(f"no API key #{key_id}", key=key_id)
    if key.id == who.key.id:  # revoking the key in use would lock its holder out
        raise Conflict("a key cannot revoke itself; use another admin key", key=key_id)
    return key_json(svc.keys.revoke(key_id), who.directory)
