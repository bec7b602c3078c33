"""The asynchronous client: :class:`AsyncClient` (a background task sends the batches)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from visiondrift.client._base import ClientBase, Request, logger
from visiondrift.client._common import (
    Attempts,
    latest_of,
    parse_json,
    runs_of,
    with_note,
)
from visiondrift.errors import ServiceError

__all__ = ["AsyncClient"]


class _Interrupted(Exception):
    """A wait between attempts was cut short by ``close()``."""


class AsyncClient(ClientBase[httpx.AsyncBaseTransport]):
    """:class:`~visiondrift.client.Client` for asyncio: the same parameters and methods, to
    ``await``; a background task of the running event loop sends the batches.

    Use one ``AsyncClient`` in one event loop (``async with AsyncClient(...) as client``, or
    made in the application's start-up and closed in its shut-down).

    Parameters
    ----------
    url, api_key, batch_size, flush_interval, retries, backoff, timeout, max_pending, on_error
        As for :class:`~visiondrift.client.Client`.
    transport
        An httpx async transport (a proxy, a custom TLS set-up, tests).

    Notes
    -----
    A record that cannot be sent is kept (busy or unreachable service) or dropped (any other
    refusal), and never silently: see :mod:`visiondrift.client` for the rules.
    """

    def _open(self) -> None:
        self._http = httpx.AsyncClient(
            base_url=self.options.url,
            headers=self.options.headers(),
            timeout=self.options.timeout,
            transport=self._transport,
        )
        self._send_lock: asyncio.Lock | None = None
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def _events(self) -> tuple[asyncio.Lock, asyncio.Event, asyncio.Event]:
        # Made in the running loop, at first use.
        if self._send_lock is None or self._wake is None or self._stop is None:
            self._send_lock, self._wake, self._stop = (
                asyncio.Lock(),
                asyncio.Event(),
                asyncio.Event(),
            )
        return self._send_lock, self._wake, self._stop

    # ------------------------------------------------------------------ logging

    async def log(
        self,
        dataset: str,
        probabilities: object,
        *,
        id: str | None = None,
        label: str | None = None,
        timestamp: dt.datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        image: bytes | None = None,
    ) -> str:
        """Hold one prediction of ``dataset``; see :meth:`visiondrift.client.Client.log`."""
        record_id, full = self._hold(
            dataset,
            probabilities,
            id=id,
            label=label,
            timestamp=timestamp,
            metadata=metadata,
            image=image,
        )
        _, wake, _ = self._events()
        if self.options.flush_interval is None:
            if full:
                await self._send_all(partial=False, background=False)
        else:
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(
                    self._loop(), name="visiondrift-client"
                )
            if full:
                wake.set()
        self._raise_failure()
        return record_id

    async def label(self, dataset: str, id: str, label: str) -> dict[str, int]:
        """Add the true class of the record ``id``; see
        :meth:`visiondrift.client.Client.label`."""
        self._check_open()
        self._check_label(dataset, label)
        self._raise_failure()
        lock, _, _ = self._events()
        async with lock:
            if self._pending.set_label(dataset, id, label):
                return self._label_counts(None, buffered=1)
            response = await self._send(self._label_request(dataset, id, label))
        return self._label_counts(parse_json(response, "a label"))

    async def flush(self) -> None:
        """Send every record held, in batches; see :meth:`visiondrift.client.Client.flush`."""
        self._check_open()
        await self._send_all(partial=True, background=False)
        self._raise_failure()

    async def close(self) -> None:
        """Send every record held, stop the background task and close the connections; see
        :meth:`visiondrift.client.Client.close`."""
        if self._closed:
            return
        self._closed = True
        _, wake, stop = self._events()
        stop.set()
        wake.set()
        if self._task is not None:
            await self._task
        try:
            await self._send_all(partial=True, background=False)
        except ServiceError as err:
            lost = self._pending.clear()
            if lost:
                raise with_note(err, f"Closing: {lost} record(s) not sent are lost.") from err
            raise
        finally:
            await self._http.aclose()
        self._raise_failure()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ reading

    async def runs(self, dataset: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The dataset's recorded runs, newest first."""
        self._check_open()
        response = await self._send(self._runs_request(dataset, limit))
        return runs_of(parse_json(response, "the runs"))

    async def latest(self, dataset: str) -> dict[str, Any] | None:
        """The dataset's latest verdict (its newest run), or ``None``."""
        self._check_open()
        response = await self._send(self._runs_request(dataset, 1))
        return latest_of(parse_json(response, "the runs"))

    async def run(self, run_id: str) -> dict[str, Any]:
        """A run: a batch job's status, or a recorded run's summary."""
        self._check_open()
        response = await self._send(("GET", f"/v1/runs/{run_id}", {}, f"the run {run_id!r}"))
        return dict(parse_json(response, "a run") or {})

    async def report(self, run_id: str) -> dict[str, Any]:
        """A recorded run's full JSON report."""
        self._check_open()
        response = await self._send(("GET", f"/v1/runs/{run_id}/report", {}, "a report"))
        return dict(parse_json(response, "a report") or {})

    async def upload_baseline(
        self, dataset: str, profile: object, *, name: str | None = None
    ) -> dict[str, Any]:
        """Make a saved profile the dataset's active baseline (needs an admin key)."""
        self._check_open()
        response = await self._send(self._baseline_request(dataset, profile, name))
        return dict(parse_json(response, "the baseline") or {})

    async def submit_run(self, dataset: str, source: str) -> dict[str, Any]:
        """Start a batch run of ``source``; the answer holds the ``run_id``."""
        self._check_open()
        response = await self._send(self._submit_request(dataset, source))
        return dict(parse_json(response, "the run") or {})

    # ------------------------------------------------------------------ sending

    async def _loop(self) -> None:
        interval = self.options.flush_interval
        assert interval is not None
        _, wake, stop = self._events()
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + interval
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(0.0, next_tick - loop.time()))
            wake.clear()
            if stop.is_set():
                return
            tick = loop.time() >= next_tick
            if tick:
                next_tick = loop.time() + interval
            try:
                await self._send_all(partial=tick, background=True)
            except (ServiceError, _Interrupted):
                # Kept or reported by _batch_failed. No new attempt before the next tick,
                # however many full batches wait: a busy service is not hammered.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(0.0, next_tick - loop.time()))
            except Exception:  # the task must not die: the next tick tries again
                logger.exception("The visiondrift client's background flush failed")

    async def _send_all(self, *, partial: bool, background: bool) -> None:
        size = self.options.batch_size
        lock, _, _ = self._events()
        async with lock:
            for dataset in self._pending.datasets():
                while batch := self._pending.take(dataset, size, partial=partial):
                    try:
                        await self._send(
                            self._batch_request(dataset, batch), interruptible=background
                        )
                    except _Interrupted:
                        self._pending.put_back(dataset, batch)
                        raise
                    except ServiceError as err:
                        raise self._batch_failed(
                            dataset, batch, err, background=background
                        ) from err

    async def _send(self, request: Request, *, interruptible: bool = False) -> httpx.Response:
        """Send ``request``, again while it may succeed; the success, or a ServiceError."""
        method, path, kwargs, what = request
        _, _, stop = self._events()
        attempts = Attempts(self.options, self._rng, what)
        while True:
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as err:
                delay = attempts.after(err)
            else:
                if response.is_success:
                    return response
                delay = attempts.after(response)
            if not interruptible:
                await asyncio.sleep(delay)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
                raise _Interrupted
