"""``GET /metrics``: the service's Prometheus metrics (an API key of scope read only when
``service.metrics_auth`` is on)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from visiondrift.service._auth import _bearer, require
from visiondrift.service._problems import PROBLEMS
from visiondrift.service._state import ServiceState, state
from visiondrift.store._keys import ApiKey

__all__ = ["router"]

router = APIRouter(tags=["metrics"])

_read = require("read")


async def _metrics_key(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    service: ServiceState = Depends(state),  # noqa: B008
) -> ApiKey | None:
    """No key needed, unless ``service.metrics_auth``: then one of scope read."""
    if not service.settings.service.metrics_auth:
        return None
    return await _read(request, credentials)


_EXAMPLE = (
    "# HELP visiondrift_window_severity The severity of the dataset's latest run ...\n"
    "# TYPE visiondrift_window_severity gauge\n"
    'visiondrift_window_severity{dataset="skin"} 3.0\n'
)
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The metrics, in Prometheus's text format (or OpenMetrics when the "
        "Accept header asks for application/openmetrics-text).",
        "content": {
            "text/plain": {"schema": {"type": "string"}, "example": _EXAMPLE},
            "application/openmetrics-text": {"schema": {"type": "string"}},
        },
    },
    401: PROBLEMS[401],
    403: PROBLEMS[403],
}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses=_RESPONSES,
)
async def metrics(
    request: Request,
    service: ServiceState = Depends(state),  # noqa: B008
    _key: ApiKey | None = Depends(_metrics_key),  # noqa: B008
) -> Response:
    """Every metric of the service: each dataset's latest verdict and headline metrics, windows,
    records, images and unusable files received, alert deliveries, request latency (see
    docs/metrics.md). The store's figures are read at most once every two seconds."""
    service.metrics.queue_depth("pool", service.pool.depth())
    body, content_type = await asyncio.to_thread(service.metrics.render, request.headers)
    return Response(content=body, media_type=content_type)
