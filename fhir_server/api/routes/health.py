"""Liveness and readiness probes (outside the FHIR base)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from fhir_server.api.context import app_context
from fhir_server.errors import StorageUnavailable

router = APIRouter()


@router.get("/health")
@router.get("/health/live")
def live() -> Response:
    """The process is up."""
    return JSONResponse({"status": "ok"})


@router.get("/health/ready")
def ready(request: Request) -> Response:
    """The database answers."""
    store = app_context(request).service.store
    try:
        store.ping()
    except StorageUnavailable as exc:
        return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "database": store.backend})
