"""A real visiondrift service for tests: uvicorn on 127.0.0.1 (a free port), in a thread.

``running_service(settings, store)`` yields a :class:`Served` with the base URL and an admin
token; requests go over real HTTP (httpx), as a model server's would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from visiondrift.settings import Settings
from visiondrift.store import HistoryStore


@dataclass
class Served:
    """A running service: where it listens, its store and a token per scope."""

    url: str
    store: HistoryStore
    settings: Settings
    tokens: dict[str, str]
    app: Any

    def client(self, scope: str | None = "admin", **kwargs: Any) -> httpx.Client:
        """An httpx client on the service, with the token of ``scope`` (``None``: no key)."""
        headers = {} if scope is None else {"Authorization": f"Bearer {self.tokens[scope]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kwargs)


def service_settings(tmp_path: Path, **service: Any) -> Settings:
    """Settings for a test service: its data folder in ``tmp_path``, and ``service`` values."""
    values: dict[str, Any] = {"data_dir": str(tmp_path / "service-data")}
    values.update(service)
    return Settings(service=values)


@contextmanager
def running_service(
    settings: Settings,
    store: HistoryStore,
    *,
    scopes: Sequence[str] = ("read", "write", "admin"),
    timeout: float = 30.0,
) -> Iterator[Served]:
    """Serve ``create_app(settings, store=store)`` with uvicorn on 127.0.0.1 for the block."""
    import uvicorn

    from visiondrift.service import create_app

    tokens = {scope: store.keys.create(f"test-{scope}", [scope])[1] for scope in scopes}
    app = create_app(settings, store=store)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="visiondrift-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test service did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Served(f"http://127.0.0.1:{port}", store, settings, tokens, app)
    finally:
        server.should_exit = True
        thread.join(timeout)
