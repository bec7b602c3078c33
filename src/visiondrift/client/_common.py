"""What the sync and async clients share: records, the pending buffer, retries and errors.

Nothing here does I/O: the clients send what :class:`Pending` hands them and ask
:func:`retry_delay` how long to wait before the next attempt.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import json
import math
import random
import re
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from visiondrift.errors import ConfigError, ServiceError

__all__ = [
    "MAX_BATCH_BYTES",
    "RETRY_STATUSES",
    "Attempts",
    "Options",
    "Pending",
    "Record",
    "batch_body",
    "check_dataset",
    "make_record",
    "response_error",
    "retry_delay",
    "retryable",
    "transport_error",
]

#: Statuses answered by a busy or restarting service: the request is sent again.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: The longest wait between two attempts (seconds), with or without ``Retry-After``.
MAX_WAIT = 60.0
#: A batch is cut before its body grows past this (records with images are large).
MAX_BATCH_BYTES = 4 * 1024 * 1024
#: The most records the service accepts in one request (``service.max_records``' default).
MAX_BATCH_RECORDS = 10_000

_DATASET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_FIXES = {
    401: "check the API key (create one with 'visiondrift keys create NAME --scope write')",
    403: "use a key with the scope this call needs (write to log and label, admin for baselines)",
    409: "upload a baseline for the dataset first (Client.upload_baseline or POST /v1/baselines)",
    413: "send smaller batches (batch_size) or smaller images",
}


@dataclass(frozen=True)
class Options:
    """A client's settings, checked once."""

    url: str
    api_key: str | None
    batch_size: int
    flush_interval: float | None
    retries: int
    backoff: float
    timeout: float
    max_pending: int

    @classmethod
    def checked(
        cls,
        url: str,
        api_key: str | None,
        *,
        batch_size: int,
        flush_interval: float | None,
        retries: int,
        backoff: float,
        timeout: float,
        max_pending: int,
    ) -> Options:
        """The options, or a :class:`ConfigError` naming the first bad one."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as err:
            raise ConfigError(f"Client(url={url!r}) is not a URL: {err}.") from err
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigError(
                f"Client(url={url!r}) must be the service's http:// or https:// address, such "
                "as 'http://127.0.0.1:8080'."
            )
        checks = [
            ("batch_size", batch_size, 1 <= batch_size <= MAX_BATCH_RECORDS, "1 to 10000"),
            (
                "flush_interval",
                flush_interval,
                flush_interval is None or flush_interval > 0,
                "seconds > 0, or None (no background flushing)",
            ),
            ("retries", retries, retries >= 0, "0 or more"),
            ("backoff", backoff, backoff >= 0, "seconds >= 0"),
            ("timeout", timeout, timeout > 0, "seconds > 0"),
            ("max_pending", max_pending, max_pending >= batch_size, "at least batch_size"),
        ]
        for name, value, ok, allowed in checks:
            if not ok:
                raise ConfigError(f"Client({name}={value!r}) is out of range: allowed {allowed}.")
        if api_key is not None and (not api_key or any(c.isspace() for c in api_key)):
            raise ConfigError(
                "Client(api_key=...) is empty or holds white space; pass the token that "
                "'visiondrift keys create' printed (vd_...), or None when the service has "
                "auth off."
            )
        return cls(
            url=str(parsed).rstrip("/"),
            api_key=api_key,
            batch_size=batch_size,
            flush_interval=flush_interval,
            retries=retries,
            backoff=backoff,
            timeout=timeout,
            max_pending=max_pending,
        )

    def headers(self) -> dict[str, str]:
        """The headers of every request."""
        headers = {"User-Agent": "visiondrift-client", "Accept": "application/json"}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


def check_dataset(dataset: str) -> str:
    """``dataset`` when it is a valid dataset name (it goes into the URL's path)."""
    if not isinstance(dataset, str) or not _DATASET.match(dataset):
        raise ConfigError(
            f"The dataset name {dataset!r} is not allowed: use 1 to 200 letters, digits, '.', "
            "'_' or '-', starting with a letter or digit."
        )
    return dataset


# ------------------------------------------------------------------------------ records


@dataclass
class Record:
    """One logged prediction: its id, its JSON fields and their encoding."""

    id: str
    fields: dict[str, Any]
    data: bytes

    @classmethod
    def of(cls, fields: dict[str, Any]) -> Record:
        data = json.dumps(fields, separators=(",", ":"), allow_nan=False).encode("utf-8")
        return cls(str(fields["id"]), fields, data)

    def labelled(self, label: str) -> Record:
        """The same record with ``label``."""
        return Record.of({**self.fields, "label": label})


def _probabilities(value: object) -> list[float]:
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # a numpy array (no numpy import here)
        value = tolist()
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigError(
            f"log(probabilities=...) must be a list of numbers (or a 1-D array); got "
            f"{type(value).__name__}."
        )
    out: list[float] = []
    for i, p in enumerate(value):
        if isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p):
            what = "a nested list (log one row at a time)" if isinstance(p, list) else repr(p)
            raise ConfigError(
                f"log(probabilities=...) holds {what} at position {i}; each must be a finite "
                "number."
            )
        out.append(float(p))
    if not out:
        raise ConfigError("log(probabilities=...) is empty; pass the model's class probabilities.")
    return out


def _metadata(value: Mapping[str, Any]) -> dict[str, str | int | float | bool]:
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"log(metadata=...) must be a mapping of names to values; got {type(value).__name__}."
        )
    out: dict[str, str | int | float | bool] = {}
    for key, item in value.items():
        finite = not isinstance(item, float) or math.isfinite(item)
        if not isinstance(key, str) or not isinstance(item, str | int | float | bool) or not finite:
            raise ConfigError(
                f"log(metadata=...) has {key!r}: {item!r}; keys must be strings and values "
                "strings, integers, finite floats or booleans."
            )
        out[key] = item
    return out


def make_record(
    probabilities: object,
    *,
    id: str | None,
    label: str | None,
    timestamp: dt.datetime | None,
    metadata: Mapping[str, Any] | None,
    image: bytes | bytearray | memoryview | None,
) -> Record:
    """A checked record: the arguments of ``log``, or a :class:`ConfigError` naming the bad one.

    The id is a random 32-hex-digit one when ``id`` is ``None``; the timestamp is now (UTC)
    when ``timestamp`` is ``None``, so a record keeps the time of the prediction however long
    it waits in the buffer.
    """
    if id is None:
        id = uuid.uuid4().hex
    elif not isinstance(id, str) or not 1 <= len(id) <= 200:
        raise ConfigError(f"log(id={id!r}) must be a string of 1 to 200 characters.")
    fields: dict[str, Any] = {"id": id}
    if probabilities is not None:
        fields["probabilities"] = _probabilities(probabilities)
    if image is not None:
        if not isinstance(image, bytes | bytearray | memoryview):
            raise ConfigError(
                f"log(image=...) must be the image file's bytes; got {type(image).__name__}."
            )
        fields["image"] = base64.b64encode(bytes(image)).decode("ascii")
    if probabilities is None and image is None:
        raise ConfigError("log() needs probabilities, an image, or both; got neither.")
    if label is not None:
        if not isinstance(label, str) or not label:
            raise ConfigError(f"log(label={label!r}) must be a non-empty string.")
        fields["label"] = label
    if timestamp is None:
        timestamp = dt.datetime.now(dt.UTC)
    elif not isinstance(timestamp, dt.datetime) or timestamp.utcoffset() is None:
        raise ConfigError(
            f"log(timestamp={timestamp!r}) must be a timezone-aware datetime, such as "
            "datetime.now(timezone.utc)."
        )
    fields["timestamp"] = timestamp.isoformat()
    if metadata:
        fields["metadata"] = _metadata(metadata)
    return Record.of(fields)


def batch_body(records: Iterable[Record]) -> bytes:
    """The body of ``POST /v1/datasets/{dataset}/records`` for ``records``."""
    return b'{"records":[' + b",".join(r.data for r in records) + b"]}"


class Pending:
    """Records logged and not yet acknowledged, per dataset in order (thread-safe).

    At most ``limit`` records are held: :meth:`add` refuses more. Records taken for a request
    that failed in a way worth retrying are put back in front (:meth:`put_back`), even past the
    limit, so that nothing already accepted is dropped to make room.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Record]] = {}
        self._total = 0

    def add(self, dataset: str, record: Record) -> int | None:
        """Hold ``record``; the dataset's count afterwards, or ``None`` when full."""
        with self._lock:
            if self._total >= self.limit:
                return None
            queue = self._queues.setdefault(dataset, deque())
            queue.append(record)
            self._total += 1
            return len(queue)

    def take(self, dataset: str, size: int, *, partial: bool) -> list[Record]:
        """Up to ``size`` records of ``dataset`` (at most :data:`MAX_BATCH_BYTES` of them, but
        at least one); none when fewer than ``size`` wait and ``partial`` is false."""
        with self._lock:
            queue = self._queues.get(dataset)
            if not queue or (len(queue) < size and not partial):
                return []
            batch: list[Record] = []
            nbytes = 0
            while queue and len(batch) < size:
                nbytes += len(queue[0].data) + 1
                if batch and nbytes > MAX_BATCH_BYTES:
                    break
                batch.append(queue.popleft())
            self._total -= len(batch)
            return batch

    def put_back(self, dataset: str, records: list[Record]) -> None:
        """Return ``records`` (taken and not acknowledged) to the front, in order."""
        with self._lock:
            self._queues.setdefault(dataset, deque()).extendleft(reversed(records))
            self._total += len(records)

    def set_label(self, dataset: str, record_id: str, label: str) -> bool:
        """Label the held record ``record_id``; whether it was held."""
        with self._lock:
            queue = self._queues.get(dataset, deque())
            for i, record in enumerate(queue):
                if record.id == record_id:
                    queue[i] = record.labelled(label)
                    return True
            return False

    def datasets(self) -> list[str]:
        """The datasets with records held."""
        with self._lock:
            return [name for name, queue in self._queues.items() if queue]

    def count(self, dataset: str | None = None) -> int:
        """Records held (of ``dataset``, or in all)."""
        with self._lock:
            if dataset is None:
                return self._total
            return len(self._queues.get(dataset, ()))

    def clear(self) -> int:
        """Forget every record held; how many there were."""
        with self._lock:
            total, self._total = self._total, 0
            self._queues.clear()
            return total


# ------------------------------------------------------------------------ retries and errors


def retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delay-seconds or an HTTP date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def retry_delay(
    attempt: int, backoff: float, response: httpx.Response | None, rng: random.Random
) -> float:
    """How long to wait before attempt ``attempt + 1`` (``attempt`` counts from 0).

    The ``Retry-After`` of the answer when it has one (a 429 or 503 from the service), else
    exponential backoff with jitter: ``backoff * 2**attempt`` times a random factor in [0.5,
    1); both capped at :data:`MAX_WAIT`.
    """
    if response is not None:
        after = retry_after(response.headers.get("Retry-After"))
        if after is not None:
            return min(MAX_WAIT, after)
    return min(MAX_WAIT, backoff * 2.0**attempt) * (0.5 + rng.random() / 2)


class Attempts:
    """The retry rule of one request: after each failure, the wait before the next attempt, or
    the :class:`ServiceError` to raise when there is none."""

    def __init__(self, options: Options, rng: random.Random, what: str) -> None:
        self.options = options
        self.rng = rng
        self.what = what
        self.attempt = 0

    def after(self, outcome: httpx.Response | httpx.TransportError) -> float:
        """Seconds to wait after ``outcome`` (an answer that is not a success, or no answer)."""
        last = self.attempt >= self.options.retries
        response: httpx.Response | None = None
        if isinstance(outcome, httpx.TransportError):
            if last:
                raise transport_error(
                    outcome, self.options.url, self.what, self.attempt + 1
                ) from outcome
        elif outcome.status_code not in RETRY_STATUSES or last:
            raise response_error(outcome, self.what, self.attempt + 1)
        else:
            response = outcome
        delay = retry_delay(self.attempt, self.options.backoff, response, self.rng)
        self.attempt += 1
        return delay


def retryable(err: ServiceError) -> bool:
    """Whether sending again may succeed: the service was not reached, or was busy."""
    return err.status is None or err.status in RETRY_STATUSES


def response_error(response: httpx.Response, what: str, attempts: int) -> ServiceError:
    """The :class:`ServiceError` of an answer that is not a success."""
    problem: dict[str, object] = {}
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        problem = data
    status = response.status_code
    title = problem.get("title") or response.reason_phrase or "Error"
    detail = problem.get("detail")
    if detail is None and not problem:
        detail = response.text.strip()[:300] or None
    request = response.request
    message = (
        f"The visiondrift service answered {status} {title} to {what} "
        f"({request.method} {request.url.path})"
    )
    if detail:
        message += f": {str(detail).rstrip('.')}"
    if attempts > 1:
        message += f" (after {attempts} attempts)"
    fix = _FIXES.get(status)
    message += f"; {fix}." if fix else "."
    return ServiceError(message, status=status, problem=problem)


def transport_error(err: httpx.TransportError, url: str, what: str, attempts: int) -> ServiceError:
    """The :class:`ServiceError` of a request that got no answer."""
    kind = "timed out" if isinstance(err, httpx.TimeoutException) else "failed"
    return ServiceError(
        f"Cannot reach the visiondrift service at {url}: {what} {kind} "
        f"({type(err).__name__}: {err or 'no detail'}) after {attempts} attempt"
        f"{'s' if attempts != 1 else ''}; check that 'visiondrift serve' runs there and that "
        "the URL is right."
    )


def with_note(err: ServiceError, note: str) -> ServiceError:
    """``err`` with ``note`` appended to its message (same status and problem)."""
    return ServiceError(f"{err} {note}", status=err.status, problem=err.problem)


def parse_json(response: httpx.Response, what: str) -> Any:
    """The JSON body of a success, or a :class:`ServiceError` when it is not JSON."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError as err:
        raise ServiceError(
            f"The visiondrift service answered {what} with a body that is not JSON "
            f"({response.headers.get('content-type', 'no content type')}); is {response.url} a "
            "visiondrift service?",
            status=response.status_code,
        ) from err


def latest_of(data: Any) -> dict[str, Any] | None:
    """The newest run of a ``GET /v1/datasets/{dataset}/runs`` answer (a list, newest first, or
    an object holding one under ``runs`` or ``items``)."""
    runs = runs_of(data)
    return runs[0] if runs else None


def runs_of(data: Any) -> list[dict[str, Any]]:
    """The runs of a ``GET /v1/datasets/{dataset}/runs`` answer."""
    if isinstance(data, dict):
        data = data.get("runs", data.get("items", []))
    if not isinstance(data, list):
        return []
    return [r for r in data if isinstance(r, dict)]


def profile_document(profile: object) -> dict[str, Any]:
    """A saved profile as JSON data: a mapping, an object with ``to_dict()`` (a
    :class:`~visiondrift.profiles.Profile`), or the path of a file ``Profile.save`` wrote."""
    to_dict = getattr(profile, "to_dict", None)
    if callable(to_dict):
        profile = to_dict()
    if isinstance(profile, Mapping):
        return dict(profile)
    if isinstance(profile, str) or hasattr(profile, "__fspath__"):
        import os

        path = os.fspath(profile)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as err:
            raise ConfigError(
                f"upload_baseline(profile={path!r}): cannot read the saved profile ({err}); "
                "pass a file written by 'visiondrift baseline' or Profile.save."
            ) from err
        if isinstance(data, dict):
            return data
    raise ConfigError(
        f"upload_baseline(profile=...) must be a Profile, its to_dict() data or a saved "
        f"profile's path; got {type(profile).__name__}."
    )
