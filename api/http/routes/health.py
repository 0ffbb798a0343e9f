"""Liveness, readiness and metrics; no authentication."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.http import metrics
from ledger.application.service import Ledger
from ledger.persistence.readiness import check_store

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The store is reachable (and durable, on PostgreSQL)",
    responses={503: {"description": "Not ready"}},
)
def readyz(request: Request) -> JSONResponse:
    ledger: Ledger = request.app.state.ledger
    checks: dict[str, Any] = check_store(ledger)
    ok = all(v is True for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks},
        status_code=200 if ok else 503,
        headers=None if ok else {"Retry-After": "1"},
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def prometheus(request: Request) -> Response:
    hook = getattr(request.app.state, "before_metrics", None)
    if hook is not None:
        hook()
    return Response(metrics.render(), media_type="text/plain; version=0.0.4")
