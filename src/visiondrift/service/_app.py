"""The FastAPI application: ``create_app(settings)`` builds it, ``visiondrift serve`` runs it.

The application adds transport to the core: its routes build the inputs of
:class:`~visiondrift.app.Monitor` runs and read the history store; they never compare or record
by themselves. The lifespan opens the store (migrating it), starts the pool, the record writer
and the window closer, and stops them in the reverse order, writing every acknowledged record.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from visiondrift._version import __version__
from visiondrift.service._problems import TYPE_BASE, install_handlers, problem_response

if TYPE_CHECKING:
    from visiondrift.service._state import ServiceState
    from visiondrift.settings import Settings
    from visiondrift.store import HistoryStore

__all__ = ["create_app", "owner_name"]

logger = logging.getLogger("visiondrift.service")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_DESCRIPTION = """\
Drift monitoring for image classifiers, as a service: upload a baseline, post the model's
predictions (and images) as they happen, and read each window's verdict, its report, the history
and the metrics. Every route under `/v1` needs an API key (`Authorization: Bearer vd_...`) with
the scope it names; every error is RFC 9457 problem details (`application/problem+json`).
"""


def owner_name() -> str:
    """This process, as the store records it: ``host:pid:random``."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"


def _data_dir(settings: Settings) -> Path:
    if settings.service.data_dir is not None:
        return Path(settings.service.data_dir)
    import platformdirs

    return platformdirs.user_data_path("visiondrift", appauthor=False) / "service"


class _Limits:
    """Refuses bodies larger than ``max_bytes`` (413) and times each request for the metrics.

    A plain ASGI middleware: a declared ``Content-Length`` over the limit is refused before the
    body is read; a streamed body is counted as it arrives and cut off at the limit.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, state: Callable[[], Any]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._too_large(scope, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, limited, sending)
        except _TooLarge:
            await self._too_large(scope, send)
            status = 413
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            service = self.state()
            if service is not None:
                service.metrics.observe_request(
                    scope["method"], template, status, time.perf_counter() - started
                )

    async def _too_large(self, scope: Scope, send: Send) -> None:
        from starlette.requests import Request

        response = problem_response(
            Request(scope),
            413,
            "Request too large",
            f"The body is larger than the service accepts ({self.max_bytes} bytes, "
            "service.max_request_bytes); send fewer records or images per request.",
            type=TYPE_BASE + "too-large",
        )

        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)


class _TooLarge(Exception):
    pass


def create_app(
    settings: Settings | None = None,
    *,
    store: HistoryStore | None = None,
    own_process: bool = False,
) -> FastAPI:
    """The service as an ASGI application.

    Parameters
    ----------
    settings
        The settings tree (``[service]``, ``[store]``, ``[alerts]``...); default: the defaults.
    store
        The history store; default: the one ``[store]`` names (it must be enabled).
    own_process
        The process is the service's own (``visiondrift serve``): once started, the garbage
        collector is set for a server (:func:`visiondrift.service._gc.settle`). Off when the
        application is mounted in another program's process.

    Returns
    -------
    FastAPI
        The application; its lifespan starts and stops the service's parts.
    """
    from visiondrift.settings import Settings

    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from visiondrift.service._gc import settle as settle_collector

        service = _start(settings, store)
        try:
            await service.windows.start(service)
        except BaseException:
            _stop(service, own_store=store is None)
            raise
        app.state.vd = service
        if own_process:
            settle_collector()
        try:
            yield
        finally:
            await service.windows.aclose()
            _stop(service, own_store=store is None)
            app.state.vd = None

    app = FastAPI(
        title="visiondrift",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        redirect_slashes=False,  # one URL per resource; no redirect to follow blindly
    )
    app.state.vd = None
    install_handlers(app)
    from visiondrift.service import _routes

    for router in _routes.routers():
        app.include_router(router)
    _finish_document(app, open_metrics=not settings.service.metrics_auth)
    if settings.service.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.service.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    app.add_middleware(
        _Limits,
        max_bytes=settings.service.max_request_bytes,
        state=lambda: app.state.vd,
    )
    return app


def _finish_document(app: FastAPI, *, open_metrics: bool) -> None:
    """What the OpenAPI document says beyond the routes' own declarations: every operation
    that takes a body may answer 400 (a body that cannot be parsed: not JSON, a broken
    multipart); ``/metrics`` needs no key unless ``service.metrics_auth`` is on."""
    from fastapi.openapi.utils import get_openapi

    from visiondrift.service._problems import PROBLEM_TYPE, PROBLEMS
    from visiondrift.service._records import records_body_schema

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            # Schemas of bodies the routes read themselves (documented with openapi_extra).
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in records_body_schema()[1].items():
                schemas.setdefault(name, schema)
            for item in document.get("paths", {}).values():
                for operation in item.values():
                    if isinstance(operation, dict) and "requestBody" in operation:
                        operation["responses"].setdefault(
                            "400",
                            {
                                "description": PROBLEMS[400]["description"],
                                "content": {
                                    PROBLEM_TYPE: {
                                        "schema": {"$ref": "#/components/schemas/Problem"}
                                    }
                                },
                            },
                        )
            metrics = document.get("paths", {}).get("/metrics", {}).get("get")
            if open_metrics and isinstance(metrics, dict):
                metrics.pop("security", None)
                for status in ("401", "403"):
                    metrics.get("responses", {}).pop(status, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _start(settings: Settings, store: HistoryStore | None) -> ServiceState:
    from visiondrift.errors import ConfigError
    from visiondrift.service._close_process import Closers
    from visiondrift.service._events import EventHub
    from visiondrift.service._metrics import ServiceMetrics
    from visiondrift.service._pool import Pool
    from visiondrift.service._state import KeyCache, ServiceState
    from visiondrift.service._windows import WindowService

    if store is None:
        from visiondrift.app import history_from_settings

        store = history_from_settings(settings.store)
        if store is None:
            raise ConfigError(
                "The service keeps its windows, records and keys in the history store, and "
                "store.enabled is false; enable it (or name one with --store)."
            )
    store.migrate()
    config = settings.service
    data_dir = _data_dir(settings)
    data_dir.mkdir(parents=True, exist_ok=True)
    service = ServiceState(
        settings=settings,
        store=store,
        pool=Pool(config.pool_workers, config.queue_size, retry_after=config.retry_after),
        windows=WindowService(),
        closers=Closers(settings, store),
        events=EventHub(),
        metrics=ServiceMetrics(settings, store),
        keys=KeyCache(store),
        owner=owner_name(),
        data_dir=data_dir,
    )
    _abandon_interrupted_jobs(service)
    if config.auth and service.store.keys.count_active() == 0:
        logger.warning(
            "No API key exists: every /v1 route will answer 401. Create one with "
            "'visiondrift keys create NAME --scope admin'."
        )
    return service


def _abandon_interrupted_jobs(service: ServiceState) -> None:
    """Fail the jobs a stopped process of this host left queued or running."""
    from visiondrift.service._work import owner_dead

    stale = service.store.jobs.abandon_stale(lambda owner: owner_dead(owner, service.owner))
    if stale:
        logger.warning(
            "%d job(s) of a stopped service process marked failed (interrupted): %s",
            len(stale),
            ", ".join(stale[:10]),
        )


def _stop(service: ServiceState, *, own_store: bool) -> None:
    service.windows.stop()  # stopped already, unless starting it failed
    service.pool.close(wait=True)
    service.closers.stop()
    service.metrics.close()
    if own_store:
        service.store.close()
