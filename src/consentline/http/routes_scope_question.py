"""An account's scope question (C17, FCC 47 CFR 64.1200(a)(12)): ``admin`` keys.

``PUT`` replaces the account's own setting (sub-accounts without one inherit it) after
the same checks as the library and the CLI: a shape the API cannot take is
``422 invalid_input``; a setting that breaks a rule (a purpose the tenant lacks or
never checks, a code that reads as a keyword, promotional wording or a link: C18)
is ``422 invalid_config``, and nothing is saved. The answer carries the lint's
warnings (a confirmation over one segment, a topic no keyword names).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from consentline.domain.scope_question import MAX_CATEGORIES, MAX_LABEL, MAX_WORDING
from consentline.domain.scopes import Account
from consentline.http import schemas
from consentline.http.auth import CallerDep, Services, ServicesDep

router = APIRouter(prefix="/v1", tags=["admin"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no key, or an unknown or revoked one"},
    403: {"description": "the key's role is not admin"},
    404: {"description": "an account outside the key's subtree"},
    422: {"description": "a malformed setting, or one that breaks a rule (nothing is saved)"},
}


class ScopeCategory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=8, examples=["1"])
    label: str = Field(max_length=2 * MAX_LABEL, examples=["order updates"])
    purpose: str | None = Field(default=None, max_length=63, examples=["transactional"])
    topic: str | None = Field(default=None, max_length=63)


class ScopeQuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    categories: list[ScopeCategory] = Field(default_factory=list, max_length=2 * MAX_CATEGORIES)
    window_hours: int = Field(default=24, ge=0, le=10_000)
    wording: dict[str, Annotated[str, Field(max_length=2 * MAX_WORDING)]] = Field(
        default_factory=dict, max_length=8
    )


def _answer(svc: Services, account: Account, warnings: list[str]) -> dict[str, Any]:
    own = svc.client.account_settings(account.slug, effective=False).scope_question
    effective = svc.client.account_settings(account.slug).scope_question
    return {
        "account": account.slug,
        "scope_question": None if effective is None else effective.to_json(),
        "inherited": own is None and effective is not None,
        "warnings": warnings,
    }


@router.put(
    "/accounts/{slug}/scope-question",
    summary="Set whether an account's opt-out confirmation asks which categories to keep",
    responses=_ERRORS,
    response_model=schemas.ScopeQuestionSettingOut,
)
def put_scope_question(
    slug: str, body: ScopeQuestionIn, who: CallerDep, svc: ServicesDep
) -> dict[str, Any]:
    """The account's categories (each a purpose or a topic with a reply code and a
    label), the question's wording per language (with ``{choices}``) and how long an
    answer counts (``window_hours``, 1 to 72, default 24). ``enabled: false`` turns
    it off, also for sub-accounts that would inherit it."""
    who.require("admin")
    account = who.account(slug)
    setting = body.model_dump(exclude_none=True)
    warnings = svc.client.configure_account(account.slug, scope_question=setting)
    return _answer(svc, account, warnings)


@router.get(
    "/accounts/{slug}/scope-question",
    summary="An account's scope question setting (its own, or inherited)",
    responses=_ERRORS,
    response_model=schemas.ScopeQuestionSettingOut,
)
def get_scope_question(slug: str, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    who.require("admin")
    return _answer(svc, who.account(slug), [])
