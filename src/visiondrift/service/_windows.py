"""The record writer and the window closer (filled in by the windows work; the interface)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.service._state import ServiceState

__all__ = ["WindowService"]


class WindowService:
    """Writes posted records to the store and closes windows."""

    def __init__(self) -> None:
        self._running = False

    def start(self, state: ServiceState) -> None:
        """Start the writer thread and the closer."""
        self._running = True

    def stop(self) -> None:
        """Write what was acknowledged, and stop."""
        self._running = False

    def alive(self) -> bool:
        """Whether the writer runs."""
        return self._running
