"""Prometheus metrics of the service (``GET /metrics``): stable names, units in the names,
bounded labels.

Two kinds of figures:

- **what the store holds** (each dataset's latest verdict and headline metrics, windows closed,
  records in the open window, alert deliveries): read from the store at scrape time by
  :class:`~visiondrift.service._metrics_store.StoreCollector`, so every server process answers
  the same figures and they survive restarts;
- **what a process saw** (records, images and unusable files received, requests and their
  latency, queue depths, runs recorded): prometheus-client counters. With
  ``PROMETHEUS_MULTIPROC_DIR`` set (``visiondrift serve --workers N`` sets it), they are kept in
  that folder's files and every process renders the sum of all of them (prometheus-client's
  multi-process mode).

Labels come from closed or bounded sets: datasets (at most :data:`MAX_DATASETS` per process, the
rest counted under ``_other``), bad-file reasons (the decoder's reasons, else ``other``), route
templates (never the raw path), HTTP methods and statuses, headline metric names and families,
alert channels and statuses. Never a record id, an image, a path or metadata. See
``docs/metrics.md`` for every metric.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from visiondrift.service._metrics_store import MAX_DATASETS, StoreCollector

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from visiondrift.app import RunResult
    from visiondrift.settings import Settings
    from visiondrift.store import HistoryStore

__all__ = ["MULTIPROC_ENV", "OTHER", "ServiceMetrics", "prepare_multiprocess_dir"]

#: The variable that turns on prometheus-client's multi-process mode (a folder shared by the
#: server processes; empty it before they start).
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
#: The label value of datasets past :data:`MAX_DATASETS` and of reasons outside the closed set.
OTHER: Final = "_other"
#: Request latency buckets, seconds.
LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_QUEUES: Final = frozenset({"pool", "records"})


class _Bounded:
    """The first ``limit`` distinct values keep their name; later ones become ``_other``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(value)
            return value


def _reasons() -> frozenset[str]:
    from visiondrift.decode import BAD_FILE_REASONS

    return frozenset(BAD_FILE_REASONS)


def _choose_values(multiprocess: bool) -> None:
    """Keep this process's values where the mode says: in the multi-process folder, or in memory.

    prometheus-client chooses where values live when it is first imported; a process that
    imported it before the variable was set would keep its counters in memory, where the other
    processes cannot read them (and one that had it set, then unset, would fail). Choose again
    when the mode changed (metrics made from now on follow it).
    """
    from prometheus_client import values

    if bool(getattr(values.ValueClass, "_multiprocess", False)) != multiprocess:
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def prepare_multiprocess_dir(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` ready for the server processes' metrics: created, emptied of old values.

    Call it once before the processes start (``visiondrift serve --workers N`` does, then sets
    ``PROMETHEUS_MULTIPROC_DIR`` to it): values left by an earlier run would be counted again.

    Returns
    -------
    The folder.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    return folder


class ServiceMetrics:
    """The service's Prometheus metrics.

    Parameters
    ----------
    settings
        The settings tree.
    store
        The history store: per-dataset verdicts, windows and alerts are read from it at scrape
        time (cached for ``cache_seconds``).
    cache_seconds
        Seconds a reading of the store is reused by scrapes.
    """

    def __init__(
        self, settings: Settings, store: HistoryStore, *, cache_seconds: float = 2.0
    ) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.settings = settings
        self.store = store
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        if self.multiprocess_dir is not None and not os.path.isdir(self.multiprocess_dir):
            from visiondrift.errors import ConfigError

            raise ConfigError(
                f"{MULTIPROC_ENV} names {self.multiprocess_dir!r}, which is not a folder; "
                "the server processes keep their metrics there. Create it (empty) before they "
                "start, or unset the variable for a single process."
            )
        _choose_values(self.multiprocess_dir is not None)
        self.collector = StoreCollector(store, ttl=cache_seconds)
        self._datasets = _Bounded(MAX_DATASETS)
        self._reason_set = _reasons()
        # In multi-process mode the values live in the folder and render() reads them all;
        # else they live in this registry (one per service, so that several services in one
        # process do not collide).
        self.registry: CollectorRegistry | None = (
            None if self.multiprocess_dir is not None else CollectorRegistry()
        )
        registry = self.registry
        self._records = Counter(
            "visiondrift_records_received",
            "Records acknowledged (2xx) by POST /v1/datasets/{dataset}/records, unusable ones "
            "included.",
            ["dataset"],
            registry=registry,
        )
        self._images = Counter(
            "visiondrift_images_received",
            "Images received: records with an image, and the usable images of batch runs.",
            ["dataset"],
            registry=registry,
        )
        self._bad = Counter(
            "visiondrift_bad_files",
            "Unusable records received (an image that does not decode...), by reason (the "
            "decoder's closed set).",
            ["dataset", "reason"],
            registry=registry,
        )
        self._runs = Counter(
            "visiondrift_runs_recorded",
            "Runs compared and recorded by the service's processes: kind window (a closed "
            "window) or batch (a posted batch).",
            ["dataset", "kind"],
            registry=registry,
        )
        self._latency = Histogram(
            "visiondrift_http_request_duration_seconds",
            "Seconds from a request's arrival to its response's end, by method, route "
            "template and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._queue = Gauge(
            "visiondrift_queue_depth",
            "Jobs waiting: pool (CPU-heavy work) or records (requests waiting for the store "
            "writer); summed over the live processes.",
            ["queue"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        if registry is not None:
            registry.register(self.collector)

    # ------------------------------------------------------------ what a process saw
    def _dataset(self, dataset: str) -> str:
        return self._datasets(dataset)

    def records(self, dataset: str, n: int, *, images: int = 0) -> None:
        """Count ``n`` records received for ``dataset`` (``images`` of them with an image)."""
        name = self._dataset(dataset)
        if n > 0:
            self._records.labels(name).inc(n)
        if images > 0:
            self._images.labels(name).inc(images)

    def images(self, dataset: str, n: int) -> None:
        """Count ``n`` images received for ``dataset`` in an uploaded batch or baseline."""
        if n > 0:
            self._images.labels(self._dataset(dataset)).inc(n)

    def bad(self, dataset: str, reason: str, n: int = 1) -> None:
        """Count ``n`` unusable records or files of ``dataset``, by reason."""
        if n <= 0:
            return
        kept = reason if reason in self._reason_set else OTHER
        self._bad.labels(self._dataset(dataset), kept).inc(n)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Time one request (``route`` is the route's template, never the raw path)."""
        method = method.upper()
        self._latency.labels(
            method if method in _METHODS else OTHER, route, str(int(status))
        ).observe(max(0.0, seconds))

    def run_recorded(self, result: RunResult, *, kind: Literal["window", "batch"]) -> None:
        """A window or batch run was compared and recorded: count it, read the store anew.

        A batch's usable images are counted here (a window's were counted as its records
        arrived); its unusable files are not counted as received records (so that unusable over
        received stays a share of records): the store keeps them per run (``vd_bad_counts``,
        ``visiondrift_window_bad_files``).
        """
        dataset = self._dataset(result.dataset or OTHER)
        if kind == "batch":
            self.images(dataset, result.report.current.n_images)
        self._recorded(dataset, kind)

    def window_recorded(self, dataset: str) -> None:
        """A window of ``dataset`` was compared and recorded (by this process's closers)."""
        self._recorded(self._dataset(dataset), "window")

    def _recorded(self, dataset: str, kind: str) -> None:
        self._runs.labels(dataset, kind).inc()
        self.collector.invalidate()

    def queue_depth(self, queue: str, depth: int) -> None:
        """How many jobs wait in ``queue`` (``pool``, ``records``)."""
        self._queue.labels(queue if queue in _QUEUES else OTHER).set(max(0, depth))

    # ------------------------------------------------------------ exposition
    def render(self, request_headers: Mapping[str, str] | None = None) -> tuple[bytes, str]:
        """The metrics in the exposition format the request accepts (text or OpenMetrics).

        Parameters
        ----------
        request_headers
            The scrape's headers (``Accept`` chooses the format); ``None``: the text format.

        Returns
        -------
        The body and its content type.
        """
        from prometheus_client import CollectorRegistry
        from prometheus_client.exposition import choose_encoder

        accept = "" if request_headers is None else request_headers.get("accept", "")
        encoder, content_type = choose_encoder(accept)
        if self.registry is not None:
            return encoder(self.registry), content_type
        from prometheus_client.multiprocess import MultiProcessCollector

        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        registry.register(self.collector)
        return encoder(registry), content_type

    def close(self) -> None:
        """This process stops: its gauges leave the multi-process sums (counters stay)."""
        if self.multiprocess_dir is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call]
