"""Who may talk to consentline, and whom it tells: provider credentials, outbound
webhook subscriptions, API keys (``/ui/setup/...``).

* Credentials (``admin``, as ``/v1/accounts/{slug}/providers/{name}``): write-only.
  The page names the fields that are set and whether they can verify a webhook
  (:func:`consentline.services.credentials.status`), never a value; the form's
  inputs are always empty, and saving replaces the whole set.
* Webhooks: every operator sees the subscriptions of their subtree with their
  delivery state; an ``admin`` subscribes (the signing secret is on the answer page
  only, once) and unsubscribes.
* API keys (``admin``): the keys of the subtree by prefix; a new key is shown on
  the answer page only, once (only its hash is stored).
"""

from __future__ import annotations

import contextlib
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from consentline.domain.errors import Conflict, InvalidInput, NotFound
from consentline.domain.ledger import ACTIONS
from consentline.services.alerts import ALERT_KINDS, FORMATS
from consentline.services.api_keys import ROLES, ApiKey, check_role
from consentline.services.credentials import ProviderCredentials, status
from consentline.services.subscriptions import ALL, UnknownSubscription
from consentline.web.common import Signed, page, render, signed_in, status_of, web_of
from consentline.web.setup_common import admin_form, audit

router = APIRouter(include_in_schema=False)
EVENTS: Final = (*ACTIONS, *ALERT_KINDS)


def _store(request: Request) -> ProviderCredentials:
    web = web_of(request)
    return web.client.provider_credentials(allow=web.settings.outbound_allow)


# -- provider credentials --------------------------------------------------------------
@router.get("/ui/setup/accounts/{slug}/providers")
@page
def providers(request: Request, slug: str) -> Response:
    signed = signed_in(request)
    signed.operator.require("admin")
    account = signed.reach.account(slug)
    store = _store(request)
    rows = [
        status(
            store,
            signed.reach.directory,
            account_id=account.id,
            provider=name,
            reaches=signed.reach.reaches,
        )
        for name in sorted(store.rules.providers)
    ]
    return render(
        request,
        "setup_providers.html",
        signed=signed,
        account=account,
        rows=rows,
        done=request.query_params.get("done"),
    )


def _provider_form(
    request: Request, signed: Signed, slug: str, name: str, *, error: str | None, code: int
) -> Response:
    account = signed.reach.account(slug)
    store = _store(request)
    rules = store.rules
    rules.provider(name)  # 404 for an unknown provider
    shown = status(
        store,
        signed.reach.directory,
        account_id=account.id,
        provider=name,
        reaches=signed.reach.reaches,
    )
    return render(
        request,
        "setup_provider.html",
        signed=signed,
        status=code,
        account=account,
        provider=name,
        names=rules.allowed_fields(name),
        flags=rules.flags.get(name, frozenset()),
        shown=shown,
        error=error,
    )


@router.get("/ui/setup/accounts/{slug}/providers/{name}")
@page
def provider_form(request: Request, slug: str, name: str) -> Response:
    signed = signed_in(request)
    signed.operator.require("admin")
    return _provider_form(request, signed, slug, name, error=None, code=200)


@router.post("/ui/setup/accounts/{slug}/providers/{name}")
@page
def save_provider(request: Request, slug: str, name: str) -> Response:
    signed, form = admin_form(request)
    account = signed.reach.account(slug)
    store = _store(request)
    rules = store.rules
    rules.provider(name)
    flags = rules.flags.get(name, frozenset())
    fields: dict[str, str | bool] = {}
    for field in rules.allowed_fields(name):
        if field in flags:
            fields[field] = form.get(field) == "yes"
        elif form.get(field, "").strip():
            fields[field] = form[field]
    try:
        store.put(account_id=account.id, provider=name, fields=fields)
    except (InvalidInput, Conflict) as error:  # the messages name fields, never values
        return _provider_form(request, signed, slug, name, error=str(error), code=status_of(error))
    audit(signed, f"set the {name} credentials of account {account.slug}")
    return RedirectResponse(
        f"/ui/setup/accounts/{account.slug}/providers?done={name}", status_code=303
    )


# -- outbound webhooks -------------------------------------------------------------------
@router.get("/ui/setup/webhooks")
@page
def webhooks(request: Request) -> Response:
    signed = signed_in(request)
    accounts = [a.slug for a in signed.reach.accounts()]
    found = web_of(request).client.subscriptions(accounts=accounts)
    return render(
        request,
        "setup_webhooks.html",
        signed=signed,
        subscriptions=found,
        accounts=accounts,
        events=EVENTS,
        formats=FORMATS,
        done=request.query_params.get("done"),
    )


@router.post("/ui/setup/webhooks")
@page
def subscribe(request: Request) -> Response:
    signed, form = admin_form(request)
    account = signed.reach.account(form.get("account", "")).slug
    chosen = [e for e in EVENTS if form.get(f"event.{e}") == "yes"]
    web = web_of(request)
    subscription, secret = web.client.subscribe(
        account,
        form.get("url", "").strip()[:2048],
        chosen or [ALL],
        allow=web.settings.outbound_allow,
        format=form.get("format", "json"),
    )
    audit(signed, f"subscribed webhook #{subscription.id} for account {account}")
    return render(
        request,
        "setup_secret.html",
        signed=signed,
        status=201,
        title="Webhook subscribed",
        what=f"Subscription #{subscription.id} to {subscription.url}",
        label="Signing secret",
        secret=secret,
        back="/ui/setup/webhooks",
    )


@router.post("/ui/setup/webhooks/{subscription_id}/delete")
@page
def unsubscribe(request: Request, subscription_id: int) -> Response:
    signed, _form = admin_form(request)
    client = web_of(request).client
    subscription = client.subscription(subscription_id)
    try:
        signed.reach.account(subscription.account)
    except NotFound:
        raise UnknownSubscription(
            f"no webhook subscription {subscription_id}", subscription=subscription_id
        ) from None
    client.unsubscribe(subscription_id)
    audit(signed, f"unsubscribed webhook #{subscription_id}")
    return RedirectResponse("/ui/setup/webhooks?done=deleted", status_code=303)


# -- API keys ----------------------------------------------------------------------------
def _in_reach(signed: Signed, key: ApiKey) -> ApiKey:
    if key.account_id is None or not signed.reach.reaches(key.account_id):
        raise NotFound(f"no API key #{key.id}", key=key.id)
    return key


@router.get("/ui/setup/keys")
@page
def keys(request: Request) -> Response:
    signed = signed_in(request)
    signed.operator.require("admin")
    accounts = signed.reach.accounts()
    with contextlib.closing(web_of(request).client.api_keys()) as store:
        listed = store.listed([a.id for a in accounts])
    return render(
        request,
        "setup_keys.html",
        signed=signed,
        keys=listed,
        accounts=accounts,
        slug_of={a.id: a.slug for a in accounts},
        roles=ROLES,
        done=request.query_params.get("done"),
    )


@router.post("/ui/setup/keys")
@page
def create_key(request: Request) -> Response:
    signed, form = admin_form(request)
    account = signed.reach.account(form.get("account", ""))
    role = check_role(form.get("role", ""))
    with contextlib.closing(web_of(request).client.api_keys()) as store:
        raw, key = store.create(account_id=account.id, role=role)
    audit(signed, f"created API key #{key.id} ({role}) for account {account.slug}")
    return render(
        request,
        "setup_secret.html",
        signed=signed,
        status=201,
        title="API key created",
        what=f"Key #{key.id} ({key.prefix}…), role {role}, account {account.slug}",
        label="API key",
        secret=raw,
        back="/ui/setup/keys",
    )


@router.post("/ui/setup/keys/{key_id}/revoke")
@page
def revoke_key(request: Request, key_id: int) -> Response:
    signed, _form = admin_form(request)
    with contextlib.closing(web_of(request).client.api_keys()) as store:
        _in_reach(signed, store.get(key_id))
        store.revoke(key_id)
    audit(signed, f"revoked API key #{key_id}")
    return RedirectResponse("/ui/setup/keys?done=revoked", status_code=303)
