"""Run the service with uvicorn: one process, or ``service.workers`` processes sharing the store.

One worker: the application is built in this process from the settings and served. Several:
uvicorn starts each worker from an import string, so each builds its application from the same
settings: the settings file (``VISIONDRIFT_CONFIG``) and the command line's values
(:data:`OVERRIDES_ENV`, JSON) are handed down in the environment, never the settings' resolved
secrets. ``PROMETHEUS_MULTIPROC_DIR`` is set to a fresh folder (unless set) so that the metrics
of every worker add up.

SIGTERM and SIGINT stop the server gracefully (requests in flight answered, event streams
closed after ``graceful`` seconds, the pool drained); :func:`run_server` then returns.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from fastapi import FastAPI

    from visiondrift.settings import Settings

__all__ = ["OVERRIDES_ENV", "app_from_environment", "run_server"]

#: The command line's settings (dotted key -> [value, option]) handed to worker processes.
OVERRIDES_ENV: Final = "VISIONDRIFT_SERVE_OVERRIDES"
#: Where ``app_from_environment`` reads the settings file handed to worker processes.
CONFIG_ENV: Final = "VISIONDRIFT_CONFIG"
#: Seconds an open connection (an event stream) may hold up a stop.
GRACEFUL: Final = 10


def app_from_environment() -> FastAPI:
    """The application of a worker process (uvicorn's factory): the settings from the file
    and the overrides the parent put in the environment."""
    from visiondrift.service._app import create_app
    from visiondrift.settings import load_settings

    raw = os.environ.get(OVERRIDES_ENV, "{}")
    overrides = {key: (value, option) for key, (value, option) in json.loads(raw).items()}
    settings = load_settings(os.environ.get(CONFIG_ENV), cli=overrides).settings
    return create_app(settings, own_process=True)


def _quiet_signals() -> None:
    """uvicorn raises the signal that stopped it again once it is done; with these handlers
    that ends nothing, and the command exits 0."""
    for kind in (signal.SIGTERM, signal.SIGINT):
        signal.signal(kind, lambda *_: None)


def run_server(
    settings: Settings,
    *,
    config_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, tuple[Any, str]] | None = None,
    log_level: str = "info",
) -> None:
    """Serve until SIGTERM or SIGINT.

    Parameters
    ----------
    settings
        The effective settings (``service.host``, ``service.port``, ``service.workers``...).
    config_file
        The settings file they were read from (for worker processes).
    overrides
        The command line's values, dotted key -> (value, option), for worker processes.
    log_level
        uvicorn's log level.
    """
    import uvicorn

    config = settings.service
    common: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "log_level": log_level,
        "server_header": False,
        "timeout_graceful_shutdown": GRACEFUL,
        "lifespan": "on",
    }
    if config.workers == 1:
        from visiondrift.service._app import create_app

        app = create_app(settings, own_process=True)
        _quiet_signals()
        uvicorn.run(app, **common)
        return
    made: str | None = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made = tempfile.mkdtemp(prefix="visiondrift-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    else:
        from visiondrift.service._metrics import prepare_multiprocess_dir

        # values an earlier run left there would be counted again
        prepare_multiprocess_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if config_file is not None:
        os.environ[CONFIG_ENV] = str(Path(config_file).resolve())
    os.environ[OVERRIDES_ENV] = json.dumps(
        {key: [_plain(value), option] for key, (value, option) in (overrides or {}).items()}
    )
    _quiet_signals()
    try:
        uvicorn.run(
            "visiondrift.service._server:app_from_environment",
            factory=True,
            workers=config.workers,
            **common,
        )
    finally:
        if made is not None:
            import shutil

            shutil.rmtree(made, ignore_errors=True)


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
