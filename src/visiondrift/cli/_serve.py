"""``visiondrift serve``: the monitoring service (FastAPI on uvicorn), from the settings tree.

The command reads its options and settings, opens and migrates the store once, creates the first
admin key when asked (``--init-key``), and hands over to :func:`visiondrift.service._server.
run_server`; the routes, the pool, the windows and the metrics are :mod:`visiondrift.service`'s.
"""

from __future__ import annotations

import click

from visiondrift.cli._settings import cli_settings, config_option, given_settings, setting_option
from visiondrift.cli._support import InputError, _fail
from visiondrift.errors import VisionDriftError

__all__ = ["serve"]


@click.command(name="serve")
@setting_option("--host", setting="service.host", metavar="ADDRESS")
@setting_option("--port", setting="service.port", type=click.IntRange(0, 65535))
@setting_option(
    "--workers", "server_workers", setting="service.workers", type=click.IntRange(1, 64)
)
@setting_option(
    "--pool-workers", setting="service.pool_workers", type=click.IntRange(1, 64), metavar="N"
)
@setting_option("--store", "store_url", setting="store.url", show_default=False, metavar="PATH|URL")
@setting_option(
    "--data-dir",
    "service_data_dir",
    setting="service.data_dir",
    show_default=False,
    type=click.Path(file_okay=False),
    metavar="DIR",
)
@click.option(
    "--root",
    "roots",
    multiple=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="A folder the service may read batch and baseline sources from (repeat; replaces "
    "service.roots).",
)
@click.option(
    "--init-key",
    is_flag=True,
    help="When no API key exists yet, create an admin key named 'admin' and print it (once).",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="uvicorn's log level (access lines at info).",
)
@config_option
def serve(
    host: str,
    port: int,
    server_workers: int,
    pool_workers: int,
    store_url: str | None,
    service_data_dir: str | None,
    roots: tuple[str, ...],
    init_key: bool,
    log_level: str,
) -> None:
    """Run the monitoring service: baselines, batch runs, records in windows, event streams,
    history and Prometheus metrics over HTTP (see docs/service.md; OpenAPI at /docs).

    \b
    Every /v1 route needs an API key: create one with
      visiondrift keys create NAME --scope read|write|admin
    (or start with --init-key the first time). The service listens on 127.0.0.1 unless --host
    says otherwise; put TLS in front of it (a reverse proxy) before exposing it.

    Runs until SIGTERM or SIGINT, then finishes what it acknowledged and exits 0.
    """
    from visiondrift.app import history_from_settings

    ctx = click.get_current_context()
    loaded = cli_settings(ctx)
    overrides = given_settings(ctx)
    if roots:
        overrides["service.roots"] = (list(roots), "--root")
        from visiondrift.settings import load_settings

        try:
            loaded = load_settings(loaded.file, cli=overrides)
        except VisionDriftError as err:
            _fail(err)
    settings = loaded.settings
    try:
        store = history_from_settings(settings.store)
        if store is None:
            raise InputError(
                "The service keeps its windows, records and keys in the history store, and "
                "store.enabled is false; enable it, or name a store with --store."
            )
        with store:
            store.migrate()
            if settings.service.auth and store.keys.count_active() == 0:
                if init_key:
                    key, token = store.keys.create("admin", ["admin"])
                    click.echo(
                        f"Created the API key 'admin' (id {key.key_id}, scope admin). It is "
                        "shown once; keep it:"
                    )
                    click.echo(f"  {token}")
                else:
                    click.echo(
                        "Warning: no API key exists, so every /v1 route answers 401. Create "
                        "one with 'visiondrift keys create NAME --scope admin' (or start with "
                        "--init-key).",
                        err=True,
                    )
    except VisionDriftError as err:
        _fail(err)
    from visiondrift.service._server import run_server

    click.echo(
        f"visiondrift serve: http://{settings.service.host}:{settings.service.port} "
        f"(store {store.url}, {settings.service.workers} worker(s)); API docs at /docs.",
        err=True,
    )
    try:
        run_server(settings, config_file=loaded.file, overrides=overrides, log_level=log_level)
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise InputError(
                f"The server did not start on {settings.service.host}:{settings.service.port} "
                "(see the log above: a port in use?); choose another --port."
            ) from None
    except VisionDriftError as err:
        _fail(err)
