"""``/healthz`` (the process answers) and ``/readyz`` (store reachable, pool and writer alive)."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from visiondrift.service._problems import PROBLEMS, ServiceProblem
from visiondrift.service._state import ServiceState, state

__all__ = ["router"]

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The process answers."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Every part the service needs works."""

    status: Literal["ready"] = "ready"
    checks: dict[str, bool] = Field(description="store, pool, writer: each true.")


@router.get("/healthz", response_model=Health, summary="The process answers")
async def healthz() -> Health:
    """Always 200 while the process serves requests (a liveness probe)."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Ready to take requests",
    responses={503: PROBLEMS[503]},
)
async def readyz(service: ServiceState = Depends(state)) -> Readiness:  # noqa: B008
    """200 when the store answers and the pool and the record writer run; else 503."""
    try:
        await asyncio.wait_for(asyncio.to_thread(service.store.revision), timeout=5.0)
        store_ok = True
    except Exception:  # any failure to reach the store is "not ready"
        store_ok = False
    checks = {
        "store": store_ok,
        "pool": service.pool.alive(),
        "writer": service.windows.alive(),
    }
    if not all(checks.values()):
        failed = ", ".join(name for name, ok in checks.items() if not ok)
        raise ServiceProblem(
            503, "Service unavailable", f"Not ready: {failed} not working.", slug="not-ready"
        )
    return Readiness(checks=checks)
