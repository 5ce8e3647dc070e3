"""Provider credentials per account: ``admin`` keys, secrets never returned."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from consentline.domain.errors import InvalidInput
from consentline.http import schemas
from consentline.http.auth import CallerDep, Services, ServicesDep
from consentline.services.credentials import ProviderCredentials, status

router = APIRouter(prefix="/v1", tags=["admin"])

MAX_FIELDS = 16
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no key, or an unknown or revoked one"},
    403: {"description": "the key's role is not admin"},
    404: {"description": "unknown provider, or an account outside the key's subtree"},
    422: {
        "description": "unknown, missing or empty credential fields, or a value whose "
        "shape can never verify a webhook (the field is named, the value never echoed)"
    },
}


def store(svc: Services) -> ProviderCredentials:
    return svc.credentials


@router.put(
    "/accounts/{slug}/providers/{name}",
    summary="Set an account's credentials for an SMS provider",
    responses={**_ERRORS, 409: {"description": "the Twilio account_sid is on another account"}},
    response_model=schemas.CredentialsOut,
)
def put_credentials(
    slug: str,
    name: str,
    body: Annotated[dict[str, Any], Body(examples=[{"account_sid": "AC...", "auth_token": "..."}])],
    who: CallerDep,
    svc: ServicesDep,
) -> dict[str, Any]:
    """The body is the provider's credential fields (Twilio ``account_sid``,
    ``auth_token``, ``shared_key_secret``, ``upstream_base_url``; see docs/providers.md for
    the others); it replaces what was set. Sub-accounts without their own inherit
    these. The answer names the fields that are set, never their values."""
    who.require("admin")
    account = who.account(slug)
    rules = store(svc).rules
    rules.provider(name)
    if len(body) > MAX_FIELDS:
        raise InvalidInput(f"at most {MAX_FIELDS} fields", field="body")
    saved = store(svc).put(account_id=account.id, provider=name, fields=body)
    return {"account": account.slug, **rules.describe(saved)}


@router.get(
    "/accounts/{slug}/providers/{name}",
    summary="Which credential fields an account has for an SMS provider",
    responses=_ERRORS,
    response_model=schemas.CredentialsStatus,
    response_model_exclude_unset=True,
)
def get_credentials(slug: str, name: str, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """``configured`` is about the account itself; ``inherited_from`` names the
    ancestor whose credentials its lines use when it has none of its own.
    ``verifiable`` says whether the credentials its lines use can verify a webhook at
    all; ``problems`` says why not (field and problem, never a value), and names the
    fields of inherited credentials only when their account is within the key's reach."""
    who.require("admin")
    account = who.account(slug)
    return status(
        store(svc), who.directory, account_id=account.id, provider=name, reaches=who.reaches
    )
