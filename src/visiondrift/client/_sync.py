"""The synchronous client: :class:`Client` (a background thread sends the batches)."""

from __future__ import annotations

import atexit
import datetime as dt
import os
import threading
import time
import weakref
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

__all__ = ["Client"]

_LIVE: weakref.WeakSet[Client] = weakref.WeakSet()


class _Interrupted(Exception):
    """A wait between attempts was cut short by ``close()``."""


class Client(ClientBase[httpx.BaseTransport]):
    """Logs predictions to a visiondrift service in batches, with retries.

    Parameters
    ----------
    url
        The service's address, such as ``http://127.0.0.1:8080``.
    api_key
        A token from ``visiondrift keys create NAME --scope write`` (``None``: the service has
        auth off).
    batch_size
        Records per request (per dataset): a full batch is sent at once.
    flush_interval
        Seconds between flushes of partial batches by a background thread; ``None``: no
        thread (``log`` sends a full batch itself and raises if it cannot; ``flush`` and
        ``close`` send the rest).
    retries
        Attempts after the first for a request answered 429, 502, 503 or 504, or not answered
        (connection refused or reset, timed out). Other errors are never retried.
    backoff
        The first wait between attempts (seconds), doubled each attempt, with jitter, at most
        60 s; a ``Retry-After`` header is honoured instead.
    timeout
        Seconds for each request (connect, read, write).
    max_pending
        The most records held unacknowledged; ``log`` refuses records beyond it.
    on_error
        Called with each :class:`~visiondrift.errors.ServiceError` of the background work (and
        of ``log`` refusing a record) instead of raising it on the next call.
    transport
        An httpx transport (a proxy, a custom TLS set-up, tests).

    Notes
    -----
    A record that cannot be sent is kept (busy or unreachable service) or dropped (any other
    refusal), and never silently: see :mod:`visiondrift.client` for the rules.
    """

    def _open(self) -> None:
        self._pid = os.getpid()
        self._reset()
        _LIVE.add(self)

    def _reset(self) -> None:
        """Fresh thread, locks and connections (at start, and in a forked child)."""
        self._http = httpx.Client(
            base_url=self.options.url,
            headers=self.options.headers(),
            timeout=self.options.timeout,
            transport=self._transport,
        )
        self._send_lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ logging

    def log(
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
        """Hold one prediction of ``dataset``; it is sent with the dataset's next batch.

        Parameters
        ----------
        dataset
            The dataset (it needs an active baseline on the service).
        probabilities
            The model's class probabilities: a list of numbers or a 1-D array (``None`` when
            only ``image`` is sent).
        id
            The record's id (to label it later); default: a random one.
        label
            The true class, when known now (:meth:`label` adds it later).
        timestamp
            When the prediction was made (timezone-aware); default: now.
        metadata
            Values such as the device or the site (strings, numbers, booleans).
        image
            The image file's bytes, measured by the service (no pixel is stored).

        Returns
        -------
        str
            The record's id.

        Raises
        ------
        ConfigError
            An argument is invalid (nothing is held).
        ServiceError
            The client holds ``max_pending`` records (this one is dropped), or an earlier
            batch was dropped (this one is held).
        """
        record_id, full = self._hold(
            dataset,
            probabilities,
            id=id,
            label=label,
            timestamp=timestamp,
            metadata=metadata,
            image=image,
        )
        if self.options.flush_interval is None:
            if full:
                self._send_all(partial=False, background=False)
        else:
            self._ensure_thread()
            if full:
                self._wake.set()
        self._raise_failure()
        return record_id

    def label(self, dataset: str, id: str, label: str) -> dict[str, int]:
        """Add the true class of the record ``id`` (logged before, now or long ago).

        A record the client still holds is labelled in place (counted as ``buffered``);
        otherwise the label is sent at once.

        Returns
        -------
        dict
            The service's counts: ``joined`` (to a record of the open window), ``late`` (of a
            closed window), ``unknown`` (no such record); and ``buffered``.
        """
        self._check_open()
        self._check_label(dataset, label)
        self._raise_failure()
        with self._send_lock:  # no batch in flight: the record is held, or acknowledged
            if self._pending.set_label(dataset, id, label):
                return self._label_counts(None, buffered=1)
            response = self._send(self._label_request(dataset, id, label))
        return self._label_counts(parse_json(response, "a label"))

    def flush(self) -> None:
        """Send every record held, in batches.

        Raises
        ------
        ServiceError
            A batch was refused or could not be sent (the message says whether its records are
            kept for the next flush or dropped), or an earlier background batch was dropped.
        """
        self._check_open()
        self._send_all(partial=True, background=False)
        self._raise_failure()

    def close(self) -> None:
        """Send every record held, stop the background thread and close the connections.

        Raises
        ------
        ServiceError
            Records could not be sent (they are lost; the message says how many), or an
            earlier background batch was dropped.
        """
        if self._closed:
            return
        if os.getpid() != self._pid:  # a forked child at exit: its parent sends what it held
            self._after_fork()
        self._closed = True
        _LIVE.discard(self)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self._send_all(partial=True, background=False)
        except ServiceError as err:
            lost = self._pending.clear()
            if lost:
                raise with_note(err, f"Closing: {lost} record(s) not sent are lost.") from err
            raise
        finally:
            self._http.close()
        self._raise_failure()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ reading

    def runs(self, dataset: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """The dataset's recorded runs (closed windows and batches), newest first."""
        self._check_open()
        return runs_of(parse_json(self._send(self._runs_request(dataset, limit)), "the runs"))

    def latest(self, dataset: str) -> dict[str, Any] | None:
        """The dataset's latest verdict: its newest run (``status``, ``drift``, ``severity``,
        ``window_start``, ``window_end``...), or ``None`` before its first window closes."""
        self._check_open()
        return latest_of(parse_json(self._send(self._runs_request(dataset, 1)), "the runs"))

    def run(self, run_id: str) -> dict[str, Any]:
        """A run: a batch job's status, or a recorded run's summary."""
        self._check_open()
        response = self._send(("GET", f"/v1/runs/{run_id}", {}, f"the run {run_id!r}"))
        return dict(parse_json(response, "a run") or {})

    def report(self, run_id: str) -> dict[str, Any]:
        """A recorded run's full JSON report."""
        self._check_open()
        response = self._send(("GET", f"/v1/runs/{run_id}/report", {}, "a report"))
        return dict(parse_json(response, "a report") or {})

    def upload_baseline(
        self, dataset: str, profile: object, *, name: str | None = None
    ) -> dict[str, Any]:
        """Make a saved profile the dataset's active baseline (needs an admin key).

        Parameters
        ----------
        dataset
            The dataset.
        profile
            A :class:`~visiondrift.profiles.Profile`, its ``to_dict()`` data, or the path of a
            profile file written by ``visiondrift baseline``.
        name
            The baseline's name (default: the service's).
        """
        self._check_open()
        response = self._send(self._baseline_request(dataset, profile, name))
        return dict(parse_json(response, "the baseline") or {})

    def submit_run(self, dataset: str, source: str) -> dict[str, Any]:
        """Start a batch run of ``source`` (a folder under one of the service's roots, or an
        allowed URL); the answer holds the ``run_id`` to poll with :meth:`run`."""
        self._check_open()
        response = self._send(self._submit_request(dataset, source))
        return dict(parse_json(response, "the run") or {})

    # ------------------------------------------------------------------ sending

    def _check_open(self) -> None:
        super()._check_open()
        if os.getpid() != self._pid:
            self._after_fork()

    def _after_fork(self) -> None:
        # A forked child (gunicorn, multiprocessing) shares its parent's sockets and copies
        # its buffer: it starts afresh, and the parent sends what it held.
        self._pid = os.getpid()
        self._pending.clear()
        self._reset()

    def _ensure_thread(self) -> None:
        with self._thread_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="visiondrift-client", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        interval = self.options.flush_interval
        assert interval is not None
        next_tick = time.monotonic() + interval
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_tick - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            tick = time.monotonic() >= next_tick
            if tick:
                next_tick = time.monotonic() + interval
            try:
                self._send_all(partial=tick, background=True)
            except (ServiceError, _Interrupted):
                # Kept or reported by _batch_failed. No new attempt before the next tick,
                # however many full batches wait: a busy service is not hammered.
                self._stop.wait(max(0.0, next_tick - time.monotonic()))
            except Exception:  # the thread must not die: the next tick tries again
                logger.exception("The visiondrift client's background flush failed")

    def _send_all(self, *, partial: bool, background: bool) -> None:
        size = self.options.batch_size
        with self._send_lock:
            for dataset in self._pending.datasets():
                while batch := self._pending.take(dataset, size, partial=partial):
                    try:
                        self._send(self._batch_request(dataset, batch), interruptible=background)
                    except _Interrupted:
                        self._pending.put_back(dataset, batch)
                        raise
                    except ServiceError as err:
                        raise self._batch_failed(
                            dataset, batch, err, background=background
                        ) from err

    def _send(self, request: Request, *, interruptible: bool = False) -> httpx.Response:
        """Send ``request``, again while it may succeed; the success, or a ServiceError."""
        method, path, kwargs, what = request
        attempts = Attempts(self.options, self._rng, what)
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as err:
                delay = attempts.after(err)
            else:
                if response.is_success:
                    return response
                delay = attempts.after(response)
            if not interruptible:
                time.sleep(delay)
            elif self._stop.wait(delay):
                raise _Interrupted


@atexit.register
def _close_all() -> None:
    """Send what live clients hold when the interpreter exits (their thread is a daemon)."""
    for client in list(_LIVE):
        try:
            client.close()
        except ServiceError as err:
            logger.warning("%s", err)
