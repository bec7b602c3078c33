"""Wake-ups for the event streams, and the events themselves, read from the store.

The store is the source of every event: a stream asks it for the dataset's windows whose
verdict was recorded after the last one it sent, so a window closed by another server process
reaches every stream. The :class:`EventHub` only wakes this process's streams at once when this
process closed a window (the others notice on their next poll, within a second).
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from visiondrift.store import HistoryStore
    from visiondrift.store._windows import Window

__all__ = ["EventHub", "event_id", "parse_event_id", "window_event"]


class EventHub:
    """Wakes the event streams of this process when a window closes."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the streams run on (so that other threads can :meth:`notify`)."""
        self._loop = loop

    def publish(self) -> None:
        """Something closed: wake every stream (call from the event loop's thread)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def notify(self) -> None:
        """:meth:`publish`, from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.publish)
            except RuntimeError:  # the loop closed in between: nobody listens any more
                return

    async def wait(self, timeout: float) -> None:
        """Wait for the next publish, at most ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return


def event_id(window: Window) -> str:
    """A window's event id: when its verdict was recorded (µs since the epoch) and its id."""
    assert window.closed_at is not None
    micros = int(window.closed_at.timestamp() * 1_000_000)
    return f"{micros}-{window.window_id}"


def parse_event_id(text: str | None) -> tuple[datetime, str] | None:
    """The position an event id stands for (``None``: not an id of this stream)."""
    if not text:
        return None
    micros, _, window_id = text.strip().partition("-")
    if not micros.isdigit() or len(window_id) != 32:
        return None
    try:
        at = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return at, window_id


def window_event(store: HistoryStore, window: Window) -> dict[str, Any]:
    """The payload of a closed (or failed) window's event: its verdict and headline metrics."""
    from visiondrift.errors import RunNotFoundError
    from visiondrift.report._trends import HEADLINE_METRICS

    end = window.end
    payload: dict[str, Any] = {
        "dataset": window.dataset,
        "window_id": window.window_id,
        "run_id": window.run_id,
        "window": {
            "start": window.opened_at.isoformat(),
            "end": None if end is None else end.isoformat(),
        },
        "records": window.n_records,
        "bad": window.n_bad,
        "status": window.status,
        "drift": None,
        "severity": None,
        "headline": [],
    }
    if window.status == "failed":
        payload["reason"] = window.reason
    if window.run_id is None:
        return payload
    try:
        run = store.get(window.run_id)
        metrics = store.metrics(window.run_id)
    except RunNotFoundError:  # pruned since
        return payload
    payload["drift"] = run.drift
    payload["severity"] = run.severity
    payload["verdict"] = run.status
    rank = {name: i for i, name in enumerate(HEADLINE_METRICS)}
    chosen = sorted((m for m in metrics if m.name in rank), key=lambda m: rank[m.name])
    payload["headline"] = [
        {
            "name": m.name,
            "label": m.label,
            "family": m.family,
            "status": m.status,
            "p_adjusted": m.p_adjusted,
            "effect_size": m.effect_size,
            "severity": m.severity,
        }
        for m in chosen
    ]
    return payload
