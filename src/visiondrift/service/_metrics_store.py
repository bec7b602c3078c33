"""The metrics read from the store at scrape time: verdicts, windows and alerts.

The store is the system of record every server process shares, so what it holds is exported
from it, not from counters in one process: every process answers the same figures, and they
survive restarts. A scrape reads five small grouped queries, cached for ``ttl`` seconds, so a
Prometheus scraping every second (or several scraping every process) costs the store one read
per ``ttl``.

Labels come from bounded sets only: datasets (those with runs or windows in the store, at most
:data:`MAX_DATASETS`), the headline metrics (:data:`HEADLINE_METRICS`, with their family),
severities, window and alert statuses, the configured alert channels. Never a record, an image
or a path.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# The metrics whose p-value, effect size, severity and bands are exported per dataset: the
# headline metrics of the reports (brightness, sharpness, confidence, class mix, bad files).
from visiondrift.report._trends import HEADLINE_METRICS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from visiondrift.store import HistoryStore

__all__ = [
    "HEADLINE_METRICS",
    "MAX_DATASETS",
    "SEVERITY_NUMBERS",
    "StoreCollector",
    "StoreFigures",
]

logger = logging.getLogger("visiondrift.service")

#: A run's or a metric's severity as a number: the value of the severity gauges.
SEVERITY_NUMBERS: Final[dict[str, int]] = {"none": 0, "low": 1, "medium": 2, "high": 3}
#: At most this many datasets are exported (those with the most recent runs or windows).
MAX_DATASETS: Final = 500
#: The final statuses of an alert in the outbox (pending is exported as a gauge).
ALERT_FINAL: Final[tuple[str, ...]] = ("sent", "rejected", "expired", "suppressed")
_BANDS: Final[tuple[tuple[str, str], ...]] = (
    ("low", "band_low"),
    ("medium", "band_medium"),
    ("high", "band_high"),
)


@dataclass
class StoreFigures:
    """What one scrape read from the store."""

    #: dataset -> (severity, drift, ran_at, n_images, n_bad)
    verdicts: dict[str, tuple[str, bool, datetime, int, int]] = field(default_factory=dict)
    #: (dataset, family, metric) -> (p_adjusted, effect_size, severity, (low, medium, high))
    metrics: dict[tuple[str, str, str], tuple[float, float, str, tuple[float, float, float]]] = (
        field(default_factory=dict)
    )
    #: (dataset, status) -> windows closed or failed
    windows: dict[tuple[str, str], int] = field(default_factory=dict)
    #: dataset -> records in its open window(s)
    open_records: dict[str, int] = field(default_factory=dict)
    #: dataset -> (windows waiting for their verdict, the end of the oldest of them): every
    #: dataset with windows, (0, None) when none waits
    closing: dict[str, tuple[int, datetime | None]] = field(default_factory=dict)
    #: (channel, status) -> alerts
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    #: channel -> delivery attempts
    attempts: dict[str, int] = field(default_factory=dict)
    ok: bool = True
    seconds: float = 0.0


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    number = float(value)
    return number if math.isfinite(number) else math.nan


def read_figures(store: HistoryStore) -> StoreFigures:
    """Read what the collector exports, in one connection (raises the store's errors)."""
    started = time.perf_counter()
    figures = store._read("reading the service's metrics", _read_all)
    figures.seconds = time.perf_counter() - started
    return figures


def _read_all(conn: Connection) -> StoreFigures:
    from sqlalchemy import and_, func, select

    from visiondrift.store._rows import utc
    from visiondrift.store._schema import ALERTS, METRICS, RUNS, WINDOWS

    figures = StoreFigures()
    latest = (
        select(RUNS.c.dataset, func.max(RUNS.c.ran_at).label("ran_at"))
        .where(RUNS.c.dataset.is_not(None))
        .group_by(RUNS.c.dataset)
        .order_by(func.max(RUNS.c.ran_at).desc())
        .limit(MAX_DATASETS)
        .subquery()
    )
    runs = conn.execute(
        select(
            RUNS.c.run_id,
            RUNS.c.dataset,
            RUNS.c.ran_at,
            RUNS.c.severity,
            RUNS.c.drift,
            RUNS.c.n_images,
            RUNS.c.n_bad,
        )
        .join(latest, and_(RUNS.c.dataset == latest.c.dataset, RUNS.c.ran_at == latest.c.ran_at))
        .order_by(RUNS.c.dataset, RUNS.c.run_id)
    ).all()
    run_ids: list[str] = []
    for run_id, dataset, ran_at, severity, drift, n_images, n_bad in runs:
        if dataset in figures.verdicts:  # two runs at the same instant: the first id wins
            continue
        stamp = utc(ran_at)
        assert stamp is not None
        figures.verdicts[dataset] = (severity, bool(drift), stamp, int(n_images), int(n_bad))
        run_ids.append(run_id)
    for start in range(0, len(run_ids), 200):
        chunk = run_ids[start : start + 200]
        rows = conn.execute(
            select(
                METRICS.c.dataset,
                METRICS.c.family,
                METRICS.c.name,
                METRICS.c.p_adjusted,
                METRICS.c.effect_size,
                METRICS.c.severity,
                METRICS.c.band_low,
                METRICS.c.band_medium,
                METRICS.c.band_high,
            )
            .where(METRICS.c.run_id.in_(chunk))
            .where(METRICS.c.name.in_(HEADLINE_METRICS))
        ).all()
        for dataset, family, name, p, effect, severity, low, medium, high in rows:
            figures.metrics[(dataset, family, name)] = (
                _number(p),
                _number(effect),
                severity,
                (float(low), float(medium), float(high)),
            )
    c = WINDOWS.c
    windows = conn.execute(
        # A closing window's deadline is its end (when its count or its time was reached).
        select(c.dataset, c.status, func.count(), func.sum(c.n_records), func.min(c.deadline))
        .group_by(c.dataset, c.status)
        .order_by(c.dataset)
    ).all()
    datasets: set[str] = set(figures.verdicts)
    for dataset, status, count, n_records, first_end in windows:
        if dataset not in datasets:
            if len(datasets) >= MAX_DATASETS:
                continue
            datasets.add(dataset)
        figures.closing.setdefault(dataset, (0, None))
        if status in ("closed", "failed"):
            figures.windows[(dataset, status)] = int(count)
        elif status == "open":
            figures.open_records[dataset] = int(n_records or 0)
        elif status == "closing":
            figures.closing[dataset] = (int(count), utc(first_end))
    alerts = conn.execute(
        select(ALERTS.c.channel, ALERTS.c.status, func.count(), func.sum(ALERTS.c.attempts))
        .group_by(ALERTS.c.channel, ALERTS.c.status)
        .order_by(ALERTS.c.channel)
    ).all()
    for channel, status, count, attempts in alerts:
        figures.alerts[(channel, status)] = int(count)
        figures.attempts[channel] = figures.attempts.get(channel, 0) + int(attempts or 0)
    return figures


class StoreCollector(Collector):
    """A Prometheus collector of the figures the store holds, read at most once per ``ttl``.

    Parameters
    ----------
    store
        The history store the service writes.
    ttl
        Seconds a reading is reused.
    """

    def __init__(self, store: HistoryStore, *, ttl: float = 2.0) -> None:
        self.store = store
        self.ttl = ttl
        self._lock = threading.Lock()
        self._figures: StoreFigures | None = None
        self._read_at = -math.inf

    def invalidate(self) -> None:
        """Read the store again at the next scrape (a run was just recorded)."""
        with self._lock:
            self._read_at = -math.inf

    def figures(self) -> StoreFigures:
        """The store's figures, read again when the last reading is older than ``ttl``."""
        with self._lock:
            now = time.monotonic()
            if self._figures is None or now - self._read_at >= self.ttl:
                try:
                    self._figures = read_figures(self.store)
                except Exception as err:  # an unreachable store must not fail the scrape
                    logger.warning("The metrics could not read the store: %s", err)
                    self._figures = StoreFigures(ok=False)
                self._read_at = now
            return self._figures

    def describe(self) -> Iterable[Metric]:
        """Nothing: the families are only known at scrape time."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The families read from the store."""
        yield from families(self.figures())


def families(figures: StoreFigures) -> Iterator[Metric]:
    """The Prometheus metric families of ``figures``."""
    up = GaugeMetricFamily(
        "visiondrift_store_up",
        "1 when the last scrape read the store, 0 when it could not reach it.",
        value=1.0 if figures.ok else 0.0,
    )
    yield up
    yield GaugeMetricFamily(
        "visiondrift_store_read_seconds",
        "Seconds the last reading of the store's figures took (they are cached for a second "
        "or two).",
        value=figures.seconds,
    )
    severity = GaugeMetricFamily(
        "visiondrift_window_severity",
        "The severity of the dataset's latest run (a closed window or a batch): 0 none, "
        "1 low, 2 medium, 3 high.",
        labels=["dataset"],
    )
    drift = GaugeMetricFamily(
        "visiondrift_window_drift",
        "1 when the dataset's latest run found drift, else 0.",
        labels=["dataset"],
    )
    when = GaugeMetricFamily(
        "visiondrift_window_last_run_timestamp_seconds",
        "When the dataset's latest run finished (Unix time, seconds).",
        labels=["dataset"],
    )
    images = GaugeMetricFamily(
        "visiondrift_window_images",
        "Images (or prediction records) the dataset's latest run compared.",
        labels=["dataset"],
    )
    bad = GaugeMetricFamily(
        "visiondrift_window_bad_files",
        "Unusable files or records in the dataset's latest run.",
        labels=["dataset"],
    )
    for dataset, (sev, drifted, ran_at, n_images, n_bad) in sorted(figures.verdicts.items()):
        severity.add_metric([dataset], SEVERITY_NUMBERS.get(sev, 0))
        drift.add_metric([dataset], 1.0 if drifted else 0.0)
        when.add_metric([dataset], ran_at.timestamp())
        images.add_metric([dataset], n_images)
        bad.add_metric([dataset], n_bad)
    yield from (severity, drift, when, images, bad)
    yield from _metric_families(figures)
    closed = CounterMetricFamily(
        "visiondrift_windows_closed",
        "Windows of records closed (status closed: compared and recorded; failed: the "
        "comparison failed), as the store counts them.",
        labels=["dataset", "status"],
    )
    for (dataset, status), count in sorted(figures.windows.items()):
        closed.add_metric([dataset, status], count)
    yield closed
    open_records = GaugeMetricFamily(
        "visiondrift_window_open_records",
        "Records in the dataset's open window (not yet compared).",
        labels=["dataset"],
    )
    for dataset, count in sorted(figures.open_records.items()):
        open_records.add_metric([dataset], count)
    yield open_records
    closing = GaugeMetricFamily(
        "visiondrift_windows_closing",
        "Windows of records waiting for their verdict (count or time reached, not yet "
        "compared and recorded); 0 when none waits.",
        labels=["dataset"],
    )
    oldest = GaugeMetricFamily(
        "visiondrift_windows_closing_oldest_end_timestamp_seconds",
        "When the oldest window still waiting for its verdict ended: time() minus it is how "
        "far the verdicts are behind.",
        labels=["dataset"],
    )
    for dataset, (count, first_end) in sorted(figures.closing.items()):
        closing.add_metric([dataset], count)
        if first_end is not None:
            oldest.add_metric([dataset], first_end.timestamp())
    yield from (closing, oldest)
    yield from _alert_families(figures)


def _metric_families(figures: StoreFigures) -> Iterator[Metric]:
    labels = ["dataset", "family", "metric"]
    p_value = GaugeMetricFamily(
        "visiondrift_metric_p_value",
        "The adjusted p-value (family-wise correction) of a headline metric in the dataset's "
        "latest run.",
        labels=labels,
    )
    effect = GaugeMetricFamily(
        "visiondrift_metric_effect_size",
        "The effect size of a headline metric in the dataset's latest run, in its family's "
        "unit (the severity bands apply to its absolute value).",
        labels=labels,
    )
    severity = GaugeMetricFamily(
        "visiondrift_metric_severity",
        "The severity of a headline metric in the dataset's latest run: 0 none, 1 low, "
        "2 medium, 3 high.",
        labels=labels,
    )
    band = GaugeMetricFamily(
        "visiondrift_metric_band",
        "The severity bands of a headline metric (the absolute effect size at which it is "
        "low, medium, high), as the latest run applied them.",
        labels=[*labels, "severity"],
    )
    for (dataset, family, name), (p, size, sev, bands) in sorted(figures.metrics.items()):
        key = [dataset, family, name]
        if not math.isnan(p):
            p_value.add_metric(key, p)
        if not math.isnan(size):
            effect.add_metric(key, size)
        severity.add_metric(key, SEVERITY_NUMBERS.get(sev, 0))
        for (level, _), value in zip(_BANDS, bands, strict=True):
            band.add_metric([*key, level], value)
    yield from (p_value, effect, severity, band)


def _alert_families(figures: StoreFigures) -> Iterator[Metric]:
    final = CounterMetricFamily(
        "visiondrift_alerts",
        "Alerts that reached a final status in the outbox, by channel: sent (delivered), "
        "rejected (the receiver refused it), expired (gave up after its retries), suppressed "
        "(cooldown or de-duplication).",
        labels=["channel", "status"],
    )
    pending = GaugeMetricFamily(
        "visiondrift_alerts_pending",
        "Alerts waiting in the outbox for their (next) delivery attempt, by channel.",
        labels=["channel"],
    )
    attempts = CounterMetricFamily(
        "visiondrift_alert_attempts",
        "Delivery attempts of alerts, by channel (failed ones included: attempts minus sent "
        "is the failures).",
        labels=["channel"],
    )
    channels = sorted({channel for channel, _ in figures.alerts})
    for channel in channels:
        for status in ALERT_FINAL:
            final.add_metric([channel, status], figures.alerts.get((channel, status), 0))
        pending.add_metric([channel], figures.alerts.get((channel, "pending"), 0))
        attempts.add_metric([channel], figures.attempts.get(channel, 0))
    yield from (final, pending, attempts)
