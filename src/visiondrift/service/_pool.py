"""The bounded pool where the CPU-heavy work runs, off the event loop.

Decoding and measuring images, running a model, comparing, rendering a report: each is a job on
a fixed number of threads (numpy, Pillow and the model runtimes release the GIL for their heavy
parts). At most ``queue_size`` jobs wait; one more is refused with 429 and ``Retry-After``
instead of growing memory.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from visiondrift.service._problems import ServiceProblem, busy

__all__ = ["Pool"]

T = TypeVar("T")


class Pool:
    """A thread pool with a bounded queue.

    Parameters
    ----------
    workers
        Threads running jobs.
    queue_size
        Jobs that may wait for a thread; more are refused (:class:`ServiceProblem` 429).
    retry_after
        Seconds a refused client is told to wait.
    """

    def __init__(self, workers: int, queue_size: int, *, retry_after: int = 1) -> None:
        self.workers = workers
        self.queue_size = queue_size
        self.retry_after = retry_after
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="visiondrift-pool")
        self._lock = threading.Lock()
        self._in_flight = 0
        self._closed = False

    def depth(self) -> int:
        """Jobs running or waiting."""
        return self._in_flight

    def alive(self) -> bool:
        """Whether the pool takes jobs."""
        return not self._closed

    def _busy(self, what: str) -> ServiceProblem:
        return busy(
            f"The service is busy ({self._in_flight} jobs running or waiting for {self.workers} "
            f"workers) and cannot take {what} now",
            self.retry_after,
        )

    def submit(self, fn: Callable[..., T], *args: Any, what: str = "this job") -> Future[T]:
        """Start ``fn(*args)`` on the pool; raises 429 (:class:`ServiceProblem`) when full."""
        with self._lock:
            if self._closed:
                raise ServiceProblem(
                    503, "Service unavailable", "The service is stopping.", slug="stopping"
                )
            if self._in_flight >= self.workers + self.queue_size:
                raise self._busy(what)
            self._in_flight += 1
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _: object) -> None:
        with self._lock:
            self._in_flight -= 1

    async def run(self, fn: Callable[..., T], *args: Any, what: str = "this job") -> T:
        """Run ``fn(*args)`` on the pool and wait for it without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args, what=what))

    def close(self, *, wait: bool = True) -> None:
        """Refuse new jobs; with ``wait``, let the running ones finish."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=not wait)
