"""The record writer and the window closer of one server process.

**Writing.** A request's records are checked against the dataset's active baseline on the event
loop (images are decoded and measured in the pool first), then sent to the process's record
writer (:class:`~visiondrift.service._writer.RecordWriter`, a process of its own; at most
``service.record_queue`` requests wait for it, one more is refused with 429 and
``Retry-After``: memory never grows). The writer writes every request that has arrived in ONE
transaction (group commit: under load a commit carries many requests), and each request is
answered only after that commit. A service killed at any moment has every acknowledged record
in the store.

**Closing.** A closer thread, every half second (or at once when a write filled a window):
makes the windows past their deadline ``closing``, claims closing windows (its own, or those
whose closer's lease ran out: a killed process's) and closes each in the pool
(:func:`~visiondrift.service._closer.close_window`), renewing its claims while they run; then
it wakes the event streams and counts the run in the metrics. Once a minute it deletes the
records of windows closed more than ``service.keep_records`` seconds ago.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from visiondrift.service._problems import ServiceProblem, busy

if TYPE_CHECKING:
    from visiondrift.profiles import Profile
    from visiondrift.service._closer import Closed
    from visiondrift.service._records import ActiveBaseline, RecordIn
    from visiondrift.service._state import ServiceState
    from visiondrift.service._writer import RecordWriter
    from visiondrift.store._windows import AppendResult, NewRecord, Window

__all__ = ["AppendAck", "WindowService"]

logger = logging.getLogger("visiondrift.service")


@dataclass(frozen=True)
class AppendAck:
    """What a request's records became: written (``result``), and how many had an image."""

    result: AppendResult
    images: int
    bad_reasons: dict[str, int]


class WindowService:
    """Writes posted records to the store (group commit) and closes windows.

    Attributes
    ----------
    lease
        Seconds a closer holds a window it closes (renewed while it works); a window whose
        closer died is closed again by another process (or after a restart) once it runs out.
    tick
        Seconds between two rounds of the closer.
    prune_every
        Seconds between two deletions of old records.
    baseline_ttl
        Seconds a dataset's active baseline is cached by this process (a new baseline reaches
        the windows within this time).
    max_group
        The most requests the writer writes in one transaction.
    """

    lease: float = 60.0
    tick: float = 0.5
    prune_every: float = 60.0
    baseline_ttl: float = 2.0
    max_group: int = 512

    def __init__(self) -> None:
        self._state: ServiceState | None = None
        self._writer: RecordWriter | None = None
        self._closer: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._active: dict[str, tuple[float, ActiveBaseline | None]] = {}
        self._profiles: dict[str, Profile] = {}
        self._lock = threading.Lock()
        self._closing: dict[str, Future[Closed]] = {}
        self._last_prune = 0.0
        self._last_renew = 0.0

    # ------------------------------------------------------------ life
    async def start(self, state: ServiceState) -> None:
        """Start the record writer and the closer (on the event loop)."""
        from visiondrift.service._writer import RecordWriter

        self._state = state
        state.events.bind(asyncio.get_running_loop())
        self._stopping.clear()
        self._writer = RecordWriter(
            state.store, limit=state.settings.service.record_queue, max_group=self.max_group
        )
        await self._writer.start()
        self._closer = threading.Thread(
            target=self._close_loop, name="visiondrift-closer", daemon=True
        )
        self._closer.start()

    async def aclose(self, timeout: float = 30.0) -> None:
        """Let the writer write every request sent to it, stop it and the closer (closes
        running in the pool finish with the pool)."""
        if self._writer is not None:
            await self._writer.stop(timeout)
        self._stopping.set()
        self._wake.set()
        if self._closer is not None:
            await asyncio.to_thread(self._closer.join, timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """:meth:`aclose` from another thread than the event loop's (on the loop's own thread,
        or when the loop is gone, only the closer is told to stop)."""
        loop = None if self._writer is None else self._writer.loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or loop.is_closed() or here is loop or self._stopping.is_set():
            self._stopping.set()
            self._wake.set()
            return
        asyncio.run_coroutine_threadsafe(self.aclose(timeout), loop).result(timeout + 10)

    def alive(self) -> bool:
        """Whether the writer (and the closer) run."""
        return (
            self._writer is not None
            and self._writer.alive()
            and self._closer is not None
            and self._closer.is_alive()
        )

    def wake(self) -> None:
        """Run the closer's next round now."""
        self._wake.set()

    # ------------------------------------------------------------ baselines
    def _service(self) -> ServiceState:
        if self._state is None:
            raise ServiceProblem(503, "Service unavailable", "The service is starting.")
        return self._state

    async def baseline(self, dataset: str) -> ActiveBaseline | None:
        """``dataset``'s active baseline (cached for :attr:`baseline_ttl` seconds)."""
        now = time.monotonic()
        hit = self._active.get(dataset)
        if hit is not None and now - hit[0] < self.baseline_ttl:
            return hit[1]
        found = await asyncio.to_thread(self._read_active, dataset)
        if len(self._active) > 10_000:
            self._active.clear()
        self._active[dataset] = (now, found)
        return found

    def _read_active(self, dataset: str) -> ActiveBaseline | None:
        from visiondrift.service._records import active_baseline

        store = self._service().store
        stored = store.baselines.active(dataset)
        if stored is None:
            return None
        return active_baseline(stored, self.profile(stored.baseline_id))

    def profile(self, baseline_id: str) -> Profile:
        """The profile of a stored baseline (read once per process)."""
        with self._lock:
            found = self._profiles.get(baseline_id)
        if found is None:
            found = self._service().store.baselines.profile(baseline_id)
            with self._lock:
                if len(self._profiles) > 64:
                    self._profiles.clear()
                self._profiles[baseline_id] = found
        return found

    # ------------------------------------------------------------ writing
    async def append(self, dataset: str, records: list[RecordIn], loc: str) -> AppendAck:
        """Check ``records`` against ``dataset``'s baseline, write them, and return once they
        are committed.

        Raises :class:`ServiceProblem`: 409 without an active baseline, 413 with more than
        ``service.max_records`` records, 422 when a record does not fit the baseline (every
        one listed, nothing written), 429 when the writer's queue is full.
        """
        from visiondrift.service._records import (
            block_of_records,
            check_probabilities,
            check_records,
            encode_records,
            measure_records,
            probability_matrix,
        )
        from visiondrift.store._windows import AppendRequest, RecordBlock

        state = self._service()
        config = state.settings.service
        if len(records) > config.max_records:
            raise ServiceProblem(
                413,
                "Request too large",
                f"The request holds {len(records)} records; the service takes at most "
                f"{config.max_records} per request (service.max_records). Send smaller batches.",
                slug="too-many-records",
            )
        # Values first: whether probabilities are a distribution does not depend on a baseline.
        matrix = probability_matrix(records)
        problems = check_probabilities(records, loc, matrix)
        if problems:
            raise _refused(problems, loc, "are not probability distributions")
        base = await self.baseline(dataset)
        if base is None:
            raise ServiceProblem(
                409,
                "No active baseline",
                f"The dataset '{dataset}' has no active baseline, so its records cannot be "
                "compared with anything. Upload one first: POST /v1/baselines with "
                f'{{"dataset": "{dataset}", "profile": ...}} (a saved profile), or POST '
                "/v1/baselines/images.",
                slug="no-baseline",
            )
        errors = check_records(records, base, loc, matrix)
        if errors:
            raise _refused(errors, loc, "do not fit the dataset's baseline")
        # A baseline of predictions took no image (check_records): no need to count them.
        images = sum(r.image is not None for r in records) if base.images else 0
        rows: list[NewRecord] | RecordBlock
        if images:
            from visiondrift.decode import DecodeLimits

            cfg = base.profile.config
            guard = state.settings.profile.decode
            limits = DecodeLimits(
                max_pixels=min(guard.max_pixels, cfg.limits.max_pixels),
                min_side=max(guard.min_side, cfg.limits.min_side),
            )
            rows = await state.pool.run(
                measure_records, records, cfg, limits, what="measuring the posted images"
            )
        elif matrix is not None:
            rows = block_of_records(records, matrix)
        else:
            rows = encode_records(records, matrix)
        window = config.window_for(dataset)
        request = AppendRequest(
            dataset, base.stored.baseline_id, rows, window.count, window.seconds
        )
        from visiondrift.service._writer import WriterStopped

        writer = self._writer
        if writer is None:
            raise _stopped()
        try:
            result = await writer.append(request)
        except WriterStopped:
            raise _stopped() from None
        except queue.Full:
            state.metrics.queue_depth("records", writer.depth())
            raise busy(
                f"The service is writing {writer.depth()} requests of records already "
                "(service.record_queue)",
                config.retry_after,
            ) from None
        state.metrics.queue_depth("records", writer.depth())
        bad: dict[str, int] = {}
        if result.bad and not isinstance(rows, RecordBlock):  # (only images can be unusable)
            for row in rows:
                if row.bad_reason is not None:
                    bad[row.bad_reason] = bad.get(row.bad_reason, 0) + 1
        state.metrics.records(dataset, result.accepted, images=images)
        for reason, n in bad.items():
            state.metrics.bad(dataset, reason, n)
        if result.closing:
            self._wake.set()
        return AppendAck(result, images, bad)

    # ------------------------------------------------------------ closing
    def close_now(self, dataset: str) -> Window | None:
        """Make ``dataset``'s open window ``closing`` now (its verdict follows in the pool)."""
        found = self._service().store.windows.close_now(dataset)
        if found is not None:
            self._wake.set()
        return found

    def _close_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.tick)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self._round()
            except Exception as err:  # the store is down...: the next round tries again
                logger.warning("The window closer's round failed: %s", err)

    def _round(self) -> None:
        state = self._service()
        windows = state.store.windows
        now = datetime.now(UTC)
        windows.due(now)
        mono = time.monotonic()
        with self._lock:
            running = list(self._closing)
        if running and mono - self._last_renew > self.lease / 3:
            windows.renew(running, state.owner, lease=self.lease)
            self._last_renew = mono
        # One pool thread stays free for images and batch runs (with more than one).
        while len(running) < max(1, state.pool.workers - 1):
            window = windows.claim_closing(state.owner, lease=self.lease)
            if window is None:
                break
            try:
                future = state.pool.submit(self._close, window, what="closing a window")
            except ServiceProblem:  # the pool is busy: the window waits for the next round
                windows.release(window.window_id, state.owner)
                break
            with self._lock:
                self._closing[window.window_id] = future
            running.append(window.window_id)
            future.add_done_callback(self._done)
        if mono - self._last_prune > self.prune_every:
            self._last_prune = mono
            cutoff = now - timedelta(seconds=state.settings.service.keep_records)
            pruned = windows.prune(cutoff)
            if pruned:
                logger.info("Deleted %d records of windows closed before %s.", pruned, cutoff)

    def _done(self, future: Future[Closed]) -> None:
        with self._lock:
            for window_id, running in list(self._closing.items()):
                if running is future:
                    del self._closing[window_id]
        self._wake.set()

    def _close(self, window: Window) -> Closed:
        state = self._service()
        closed = state.closers.close(window, state.owner, self.profile)
        if closed.ran:
            state.metrics.window_recorded(window.dataset)
        if closed.outcome != "retry":
            state.events.notify()
        return closed


def _stopped() -> ServiceProblem:
    return ServiceProblem(
        503,
        "Service unavailable",
        "The service's record writer is not running (the service is stopping, or it failed: "
        "see its log); nothing of this request was written. Retry on another instance.",
        slug="writer-stopped",
        headers={"Retry-After": "5"},
    )


def _refused(errors: list[Any], loc: str, why: str) -> ServiceProblem:
    """The 422 of a request whose records ``errors`` lists (nothing of it written)."""
    shown = "; ".join(_where(e) + ": " + e.msg for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return ServiceProblem(
        422,
        "Request did not validate",
        f"{len({e.loc[2] if loc else 0 for e in errors})} record(s) {why}; nothing was written: "
        f"{shown}{more}.",
        slug="invalid-request",
        errors=errors,
    )


def _where(item: Any) -> str:
    return ".".join(str(p) for p in item.loc[1:])
