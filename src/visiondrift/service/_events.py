"""Wake-ups for the event streams (filled in by the windows work; this is the interface)."""

from __future__ import annotations

import asyncio

__all__ = ["EventHub"]


class EventHub:
    """Wakes the event streams of this process when a window closes."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()

    def publish(self) -> None:
        """Something closed: wake every stream (call from the event loop's thread)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Wait for the next publish, at most ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return
