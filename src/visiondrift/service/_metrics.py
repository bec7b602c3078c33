"""Prometheus metrics of the service (filled in by the metrics work; this is the interface)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from visiondrift.app import RunResult
    from visiondrift.settings import Settings
    from visiondrift.store import HistoryStore

__all__ = ["ServiceMetrics"]


class ServiceMetrics:
    """The service's metrics.

    Parameters
    ----------
    settings
        The settings tree.
    store
        The history store (per-dataset verdicts are read from it at scrape time).
    """

    def __init__(self, settings: Settings, store: HistoryStore) -> None:
        self.settings = settings
        self.store = store

    def records(self, dataset: str, n: int, *, images: int = 0) -> None:
        """Count ``n`` records received for ``dataset`` (``images`` of them with an image)."""

    def bad(self, dataset: str, reason: str, n: int = 1) -> None:
        """Count ``n`` unusable records or files of ``dataset``, by reason."""

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Time one request (``route`` is the route's template, never the raw path)."""

    def run_recorded(self, result: RunResult, *, kind: Literal["window", "batch"]) -> None:
        """A window or batch run was compared and recorded."""

    def queue_depth(self, queue: str, depth: int) -> None:
        """How many jobs wait in ``queue`` (``pool``, ``records``)."""
