"""Liveness and readiness probes (no key needed, nothing private in the answer)."""

from __future__ import annotations

from fastapi import APIRouter

from consentline.http import schemas
from consentline.http.auth import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up", response_model=schemas.HealthStatus)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers", response_model=schemas.ReadyStatus)
def readyz(svc: ServicesDep) -> dict[str, str]:
    """``503`` when the database cannot be reached."""
    svc.client.ping()
    return {"status": "ready"}
