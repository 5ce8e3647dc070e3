"""``/v1/webhooks``: outbound webhook subscriptions (consent changes, signed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from consentline.domain.errors import UnknownAccount
from consentline.http import schemas
from consentline.http.auth import Caller, CallerDep, ServicesDep
from consentline.services.subscriptions import MAX_URL, Subscription, UnknownSubscription

router = APIRouter(prefix="/v1", tags=["webhooks"])

SubscriptionId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str = Field(max_length=63)
    url: str = Field(max_length=MAX_URL)
    events: list[Annotated[str, Field(max_length=16)]] = Field(
        default=["*"], min_length=1, max_length=8
    )


def _in_reach(who: Caller, subscription: Subscription) -> Subscription:
    try:
        who.account(subscription.account)
    except UnknownAccount:
        raise UnknownSubscription(
            f"no webhook subscription {subscription.id}", subscription=subscription.id
        ) from None
    return subscription


@router.post(
    "/webhooks",
    status_code=201,
    summary="Subscribe a URL to consent changes (the signing secret is shown this once)",
    response_model=schemas.NewSubscriptionOut,
)
def subscribe(body: NewSubscription, who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    """Events of ``account``'s subtree (and of its ancestors up to the compliance
    boundary) are POSTed to ``url``, one per request, signed: see the README,
    "Outbound webhooks". ``events`` is ``["*"]`` or actions such as ``opt_out``.
    ``url`` must reach a public host (422 ``blocked_destination`` for a loopback,
    private or link-local one, unless the installation allows it)."""
    who.require("admin")
    who.account(body.account)
    subscription, secret = svc.client.subscribe(
        body.account, body.url, body.events, allow=svc.settings.outbound_allow
    )
    return {**subscription.as_dict(), "secret": secret}


@router.get(
    "/webhooks",
    summary="The webhook subscriptions in the key's reach",
    response_model=schemas.SubscriptionList,
)
def list_subscriptions(who: CallerDep, svc: ServicesDep) -> dict[str, Any]:
    accounts = [a.slug for a in who.accounts()]
    found = svc.client.subscriptions(accounts=accounts)
    return {"webhooks": [s.as_dict() for s in found]}


@router.get(
    "/webhooks/{subscription_id}",
    summary="One subscription and its delivery state",
    response_model=schemas.SubscriptionOut,
)
def get_subscription(
    subscription_id: SubscriptionId, who: CallerDep, svc: ServicesDep
) -> dict[str, Any]:
    return _in_reach(who, svc.client.subscription(subscription_id)).as_dict()


@router.delete(
    "/webhooks/{subscription_id}",
    status_code=204,
    response_class=Response,
    summary="Stop deliveries to a subscription",
)
def unsubscribe(subscription_id: SubscriptionId, who: CallerDep, svc: ServicesDep) -> Response:
    who.require("admin")
    _in_reach(who, svc.client.subscription(subscription_id))
    svc.client.unsubscribe(subscription_id)
    return Response(status_code=204)
