"""The monitoring service: ``visiondrift serve`` (FastAPI on uvicorn).

Transport around the application core: baselines, batch runs, records cut into windows, event
streams, history, health and Prometheus metrics, each window and batch compared and recorded by
:class:`~visiondrift.app.Monitor` with the same sinks as any run (history, alerts).

May import: the application core and everything below it, FastAPI, Starlette, uvicorn and
prometheus-client (the ``service`` extra). Must not import: the CLI, click, the demo.
"""

from __future__ import annotations

import typing

from visiondrift._lazy import lazy_attributes as _lazy_attributes

if typing.TYPE_CHECKING:
    from visiondrift.service._app import create_app
    from visiondrift.service._metrics import ServiceMetrics
    from visiondrift.service._server import run_server
    from visiondrift.service._state import ServiceState

_LAZY: dict[str, str] = {
    "ServiceMetrics": "visiondrift.service._metrics",
    "ServiceState": "visiondrift.service._state",
    "create_app": "visiondrift.service._app",
    "run_server": "visiondrift.service._server",
}

__all__ = ["ServiceMetrics", "ServiceState", "create_app", "run_server"]

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
