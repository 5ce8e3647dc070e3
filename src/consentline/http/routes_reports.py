"""Reports and list hygiene over HTTP (C23, C24, C26): counts, never a number.

``GET /v1/reports/{kind}`` and ``GET /v1/hygiene`` need a ``read`` key and cover
the key's subtree exactly: an account or line outside it is 404, as if absent. A
bad kind, grouping key, bucket, time zone or window is a 4xx JSON answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from consentline.domain.errors import InvalidInput
from consentline.http import schemas
from consentline.http.auth import CallerDep, ServicesDep

router = APIRouter(prefix="/v1", tags=["reports"])


class ReportOut(schemas.Answer):
    kind: str
    rows: list[dict[str, Any]] = Field(
        description="grouping keys and integer measures; a measure summed over rows = the total"
    )
    summary: dict[str, Any] | None = Field(
        default=None, description="figures that are not rows (inbound: the review queue)"
    )


class HygieneItemOut(schemas.Answer):
    kind: str = Field(description="no_proof, no_timestamp, reconfirm or pending_expired")
    number: str = Field(description="masked, never whole (C23)")
    line: str
    source: str
    since: str


class HygieneOut(schemas.Answer):
    account: str
    cutoff: str | None
    no_proof: dict[str, int] = Field(description="standing opt-ins with no proof, by source")
    no_timestamp: dict[str, int] = Field(description="opt-ins with no consent time, by source")
    reconfirm: int = Field(description="reconfirmation candidates (C26)")
    pending_expired: int = Field(description="double opt-ins pending past their TTL (C24)")
    items: list[HygieneItemOut]


def _owner(who: Any, account: str | None) -> str:
    if account is not None:
        return str(who.account(account).slug)
    home = who.home
    if home is None:
        raise InvalidInput("give the account to report on", field="account")
    return str(home.slug)


@router.get(
    "/reports/{kind}",
    summary="A report: rows of grouping keys and counts (C23)",
    response_model=ReportOut,
)
def report(
    kind: str,
    who: CallerDep,
    svc: ServicesDep,
    account: Annotated[str | None, Query(max_length=63)] = None,
    line: Annotated[list[str] | None, Query()] = None,
    by: Annotated[str | None, Query(max_length=200)] = None,
    bucket: Annotated[str | None, Query(max_length=16)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    at: datetime | None = None,
    tz: Annotated[str, Query(max_length=64)] = "UTC",
) -> dict[str, Any]:
    """``{"kind": ..., "rows": [{keys..., measures...}]}``: summing a measure over
    the rows gives the window's total (docs/reports.md)."""
    who.require("read")
    owner = _owner(who, account)
    lines = None if line is None else [who.line(n).number for n in line]
    home = who.home
    result = svc.client.report(
        kind,
        account=owner,
        lines=lines,
        since=since,
        until=until,
        bucket=bucket,
        by=by,
        timezone=tz,
        at=at,
        within=None if home is None else home.slug,
    )
    return result.as_dict()


@router.get(
    "/hygiene",
    summary="List hygiene: proof-less, old and expired consent (C24, C26)",
    response_model=HygieneOut,
)
def hygiene(
    who: CallerDep,
    svc: ServicesDep,
    account: Annotated[str | None, Query(max_length=63)] = None,
    older_than_days: Annotated[int | None, Query(ge=1, le=36500)] = None,
) -> dict[str, Any]:
    """Counts by source and kind, and masked numbers (never whole ones)."""
    who.require("read")
    owner = _owner(who, account)
    older = None if older_than_days is None else timedelta(days=older_than_days)
    home = who.home
    found = svc.client.hygiene(
        account=owner, older_than=older, within=None if home is None else home.slug
    )
    return found.as_dict()
