"""Liveness and readiness probes (no key needed, nothing private in the answer)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from consentline.http import schemas
from consentline.http.auth import ServicesDep
from consentline.storage.engine import storage_errors

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up", response_model=schemas.HealthStatus)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers", response_model=schemas.ReadyStatus)
def readyz(svc: ServicesDep) -> dict[str, str]:
    """``503 storage_error`` when the database cannot be reached."""
    with storage_errors(), svc.client.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ready"}
