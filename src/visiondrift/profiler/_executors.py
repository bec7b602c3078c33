"""The executor seam of the profiler: what runs the chunks.

An executor is anything with ``submit(fn, *args)`` returning a future with ``result()`` and
``done()``: any ``concurrent.futures.Executor``, a Dask client, or the two built here (the
serial one, and the default pool of forked processes that leave Ctrl-C to the parent).

Imports: the standard library only.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.pool
import signal
from collections.abc import Callable
from typing import Any, Protocol

__all__ = [
    "ChunkExecutor",
    "ChunkFuture",
    "Done",
    "PoolExecutor",
    "SerialExecutor",
    "start_pool",
]


class ChunkFuture(Protocol):
    """What an executor's ``submit`` returns: ``concurrent.futures.Future``, a Dask future."""

    def result(self) -> Any: ...

    def done(self) -> bool: ...


class ChunkExecutor(Protocol):
    """Runs chunks: any ``concurrent.futures.Executor``, or a Dask ``Client`` (its ``submit``
    has the same shape). The profiler submits ``fn(items, config, model_ref)`` per chunk, with
    module-level functions and picklable arguments."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> ChunkFuture: ...


class Done:
    """A future that is already done (the serial executor's)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value

    def done(self) -> bool:
        return True


class SerialExecutor:
    """Runs each chunk at once in the calling process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Done:
        return Done(fn(*args))


class _PoolFuture:
    def __init__(self, result: mp.pool.AsyncResult[Any]) -> None:
        self._result = result

    def result(self) -> Any:
        return self._result.get()

    def done(self) -> bool:
        return self._result.ready()


class PoolExecutor:
    """The default executor: a pool of forked worker processes that leave Ctrl-C to the parent."""

    def __init__(self, pool: mp.pool.Pool) -> None:
        self.pool = pool

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> _PoolFuture:
        return _PoolFuture(self.pool.apply_async(fn, args))


def _ignore_interrupt() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (no traceback from each worker),
    and die on SIGTERM: a forked worker inherits the parent's handlers, and one that only
    notes the signal (``watch``'s clean stop) would outlive ``Pool.terminate``, whose join then
    waits for ever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        # Forked with SIGTERM blocked (see start_pool): one sent before now is delivered here,
        # to the default action, not to the parent's handler the worker was born with.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def start_pool(n_workers: int) -> mp.pool.Pool:
    # fork starts workers in milliseconds; elsewhere fall back to the platform default.
    methods = mp.get_all_start_methods()
    context = mp.get_context("fork" if "fork" in methods else None)
    if not hasattr(signal, "pthread_sigmask"):
        return context.Pool(processes=n_workers, initializer=_ignore_interrupt)
    # SIGTERM stays blocked while the workers are forked: a worker inherits the parent's
    # handler, and a SIGTERM arriving before its initializer ran would be "handled" by it and
    # leave the worker alive (Pool.terminate's join then waits for ever). The parent gets a
    # SIGTERM sent meanwhile once the pool exists.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        return context.Pool(processes=n_workers, initializer=_ignore_interrupt)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
