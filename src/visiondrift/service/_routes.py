"""The routers of the service, in the order the OpenAPI document lists them and requests are
matched against them: the records first (the route every model server calls, many times a
second; each route before it costs a pattern match per request)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["routers"]


def routers() -> list[APIRouter]:
    """Every router of the service (each ``_routes_*`` module exports one ``router``)."""
    from visiondrift.service import (
        _routes_baselines,
        _routes_health,
        _routes_history,
        _routes_metrics,
        _routes_records,
        _routes_runs,
    )

    return [
        _routes_records.router,
        _routes_health.router,
        _routes_baselines.router,
        _routes_runs.router,
        _routes_history.router,
        _routes_metrics.router,
    ]
