"""What :class:`~visiondrift.client.Client` and :class:`~visiondrift.client.AsyncClient` share
beyond the records: their state, the rules for a batch that failed, and how errors surface."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from visiondrift.client._common import (
    Options,
    Pending,
    Record,
    check_dataset,
    make_record,
    profile_document,
    retryable,
    with_note,
)
from visiondrift.errors import ConfigError, ServiceError

__all__ = ["ClientBase", "Request", "logger"]

T = TypeVar("T")

logger = logging.getLogger("visiondrift.client")

#: A request as the clients send it: method, path, keyword arguments of httpx, what it is.
Request = tuple[str, str, dict[str, Any], str]


class ClientBase(Generic[T]):
    """The state of a client and everything it does without I/O (``T``: its httpx transport).

    The parameters are those of :class:`~visiondrift.client.Client`; a subclass opens its
    connections in :meth:`_open`.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        batch_size: int = 500,
        flush_interval: float | None = 1.0,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 10.0,
        max_pending: int = 50_000,
        on_error: Callable[[ServiceError], None] | None = None,
        transport: T | None = None,
    ) -> None:
        self.options = Options.checked(
            url,
            api_key,
            batch_size=batch_size,
            flush_interval=flush_interval,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            max_pending=max_pending,
        )
        self.on_error = on_error
        self._rng = random.Random()
        self._pending = Pending(max_pending)
        #: Records dropped so far (refused by the service, or beyond ``max_pending``).
        self.dropped = 0
        #: The last error of a batch (kept or dropped), or ``None``.
        self.last_error: ServiceError | None = None
        self._failure: ServiceError | None = None
        self._failure_lock = threading.Lock()
        self._closed = False
        self._transport = transport
        self._open()

    def _open(self) -> None:
        """Make the connections, locks and events (a subclass's)."""
        raise NotImplementedError

    @property
    def pending(self) -> int:
        """Records held, not yet acknowledged by the service."""
        return self._pending.count()

    # ------------------------------------------------------------------ records

    def _hold(
        self,
        dataset: str,
        probabilities: object,
        *,
        id: str | None,
        label: str | None,
        timestamp: dt.datetime | None,
        metadata: Mapping[str, Any] | None,
        image: bytes | None,
    ) -> tuple[str, bool]:
        """Check and hold a record: its id, and whether its dataset has a full batch."""
        self._check_open()
        check_dataset(dataset)
        record = make_record(
            probabilities, id=id, label=label, timestamp=timestamp, metadata=metadata, image=image
        )
        held = self._pending.add(dataset, record)
        if held is None:
            with self._failure_lock:
                self.dropped += 1
            self._fail(
                ServiceError(
                    f"The client holds {self._pending.limit} records not yet acknowledged "
                    f"(max_pending), so the record {record.id!r} of {dataset!r} was dropped "
                    f"({self.dropped} dropped so far): the service is unreachable or slower than "
                    f"the predictions. Last error: {self.last_error or 'none'}"
                ),
                now=True,
            )
            return record.id, False
        return record.id, held >= self.options.batch_size

    def _check_open(self) -> None:
        if self._closed:
            raise ServiceError(f"This visiondrift {type(self).__name__} is closed; make a new one.")

    @staticmethod
    def _check_label(dataset: str, label: str) -> None:
        check_dataset(dataset)
        if not isinstance(label, str) or not label:
            raise ConfigError(f"label(label={label!r}) must be a non-empty string.")

    # ------------------------------------------------------------------ requests

    def _batch_request(self, dataset: str, batch: list[Record]) -> Request:
        from visiondrift.client._common import batch_body

        return (
            "POST",
            f"/v1/datasets/{dataset}/records",
            {"content": batch_body(batch), "headers": {"Content-Type": "application/json"}},
            f"{len(batch)} record(s) of {dataset!r}",
        )

    @staticmethod
    def _label_request(dataset: str, id: str, label: str) -> Request:
        body = {"labels": [{"id": id, "label": label}]}
        return "POST", f"/v1/datasets/{dataset}/labels", {"json": body}, f"the label of {id!r}"

    @staticmethod
    def _label_counts(data: Any, *, buffered: int = 0) -> dict[str, int]:
        items = data.items() if isinstance(data, dict) else ()
        counts = {str(k): int(v) for k, v in items if isinstance(v, int)}
        return {"joined": 0, "late": 0, "unknown": 0, **counts, "buffered": buffered}

    @staticmethod
    def _runs_request(dataset: str, limit: int) -> Request:
        check_dataset(dataset)
        return "GET", f"/v1/datasets/{dataset}/runs", {"params": {"limit": limit}}, "the runs"

    @staticmethod
    def _baseline_request(dataset: str, profile: object, name: str | None) -> Request:
        check_dataset(dataset)
        body: dict[str, Any] = {"dataset": dataset, "profile": profile_document(profile)}
        if name is not None:
            body["name"] = name
        return "POST", "/v1/baselines", {"json": body}, f"the baseline of {dataset!r}"

    @staticmethod
    def _submit_request(dataset: str, source: str) -> Request:
        check_dataset(dataset)
        path = f"/v1/datasets/{dataset}/runs"
        return "POST", path, {"json": {"source": source}}, f"the run of {dataset!r}"

    # ------------------------------------------------------------------ failures

    def _batch_failed(
        self, dataset: str, batch: list[Record], err: ServiceError, *, background: bool
    ) -> ServiceError:
        """Keep or drop a batch that could not be sent; the error to raise."""
        if retryable(err):
            self._pending.put_back(dataset, batch)
            kept = with_note(err, f"The {len(batch)} record(s) are kept for the next flush.")
            self.last_error = kept
            if background:
                logger.warning("%s", kept)
            return kept
        with self._failure_lock:
            self.dropped += len(batch)
        dropped = with_note(
            err,
            f"The {len(batch)} record(s) of this batch were dropped (sending them again cannot "
            "succeed).",
        )
        self.last_error = dropped
        if background:
            self._fail(dropped, now=False)
        return dropped

    def _fail(self, err: ServiceError, *, now: bool) -> None:
        """Report ``err``: to ``on_error``, else raised now or by the next call."""
        if self.on_error is not None:
            self.on_error(err)
        elif now:
            raise err
        else:
            with self._failure_lock:
                if self._failure is None:
                    self._failure = err

    def _raise_failure(self) -> None:
        with self._failure_lock:
            err, self._failure = self._failure, None
        if err is not None:
            raise err
