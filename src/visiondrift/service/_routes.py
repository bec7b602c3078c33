"""The routers of the service, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["routers"]


def routers() -> list[APIRouter]:
    """Every router of the service (each ``_routes_*`` module exports one ``router``)."""
    from visiondrift.service import _routes_health, _routes_metrics

    return [_routes_health.router, _routes_metrics.router]
