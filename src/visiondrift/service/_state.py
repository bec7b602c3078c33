"""What every request of the service shares: settings, store, pool, windows, events, metrics."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from visiondrift.service._close_process import Closers
    from visiondrift.service._events import EventHub
    from visiondrift.service._metrics import ServiceMetrics
    from visiondrift.service._pool import Pool
    from visiondrift.service._windows import WindowService
    from visiondrift.settings import Settings
    from visiondrift.store import ApiKey, HistoryStore

__all__ = ["KeyCache", "ServiceState", "state"]


@dataclass
class KeyCache:
    """API keys checked against the store at most once every ``ttl`` seconds per token.

    A revoked key stops working within ``ttl`` seconds in every process; a valid one costs one
    store read per ``ttl`` instead of one per request.
    """

    store: HistoryStore
    ttl: float = 5.0
    #: Seconds between two records of a key's last use (``keys list`` shows it).
    touch_every: float = 60.0
    _seen: dict[str, tuple[float, ApiKey | None]] = field(default_factory=dict)
    _touched: dict[str, float] = field(default_factory=dict)

    async def verify(self, token: str) -> ApiKey | None:
        """The valid key ``token`` is, or ``None``."""
        now = time.monotonic()
        hit = self._seen.get(token)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        key = await asyncio.to_thread(self.store.keys.verify, token)
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[token] = (now, key)
        if key is not None and now - self._touched.get(key.key_id, -1e18) >= self.touch_every:
            self._touched[key.key_id] = now
            await asyncio.to_thread(self._touch, key.key_id)
        return key

    def _touch(self, key_id: str) -> None:
        from visiondrift.errors import StoreError

        try:
            self.store.keys.touch(key_id)
        except StoreError:  # a busy store: the last use is recorded next time
            self._touched.pop(key_id, None)


@dataclass
class ServiceState:
    """The service's parts, built by the app's lifespan (``app.state.vd``).

    Attributes
    ----------
    settings
        The settings tree.
    store
        The history store: the system of record every server process shares.
    pool
        The bounded pool for CPU-heavy work.
    windows
        The record writer and the window closer.
    closers
        Where windows are closed (processes of their own).
    events
        Wake-ups for the event streams.
    metrics
        The Prometheus metrics.
    keys
        The API keys, cached.
    owner
        This process, as recorded in the store (``host:pid:random``).
    data_dir
        Where rendered reports are kept.
    """

    settings: Settings
    store: HistoryStore
    pool: Pool
    windows: WindowService
    closers: Closers
    events: EventHub
    metrics: ServiceMetrics
    keys: KeyCache
    owner: str
    data_dir: Path


async def state(request: Request) -> ServiceState:
    """The service's state (a FastAPI dependency)."""
    found: ServiceState = request.app.state.vd
    return found
