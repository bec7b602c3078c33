"""What the store gives back: stored runs, metric rows, prune results (plain, frozen)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["ANY_DATASET", "AnyDataset", "MetricRow", "PruneResult", "StoredRun"]


class AnyDataset:
    """The type of :data:`ANY_DATASET`: runs of every dataset (``None`` means runs without one)."""

    _instance: AnyDataset | None = None

    def __new__(cls) -> AnyDataset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ANY_DATASET"


#: Select runs of every dataset (the default of the store's queries).
ANY_DATASET = AnyDataset()


@dataclass(frozen=True)
class StoredRun:
    """One recorded run, as ``history list`` and ``history show`` print it.

    Attributes
    ----------
    run_id
        The run's id (32 hex digits).
    dataset
        The dataset it belongs to (``None``: not named).
    ran_at, started_at
        When it finished and when it started (UTC).
    window
        The time its images cover, ``(start, end)`` in UTC, or ``None``.
    mode, status, drift, severity
        The report's verdict.
    alpha, correction
        The family-wise error rate and correction used.
    n_tests, n_drifted
        How many metrics were tested and how many drifted.
    n_files, n_images, n_bad
        Files seen, images measured, files unusable.
    bad_counts
        Unusable files by reason.
    baseline_name, baseline_hash
        The baseline: where it was made and the SHA-256 of its summary in the report.
    model_name, model_hash
        The model (file name) and the SHA-256 of its recorded description, or ``None``.
    package_version
        The visiondrift release that made the run.
    has_report, has_profile
        Whether the full report and the batch profile are still stored (``prune`` drops them).
    slow_drift
        Whether the run's slow-drift check over the dataset's recent runs raised an alarm
        (``None``: no check was made).
    """

    run_id: str
    dataset: str | None
    ran_at: datetime
    started_at: datetime
    window: tuple[datetime, datetime] | None
    mode: str
    status: str
    drift: bool
    severity: str
    alpha: float
    correction: str
    n_tests: int
    n_drifted: int
    n_files: int
    n_images: int
    n_bad: int
    bad_counts: Mapping[str, int]
    baseline_name: str
    baseline_hash: str
    model_name: str | None
    model_hash: str | None
    package_version: str
    has_report: bool
    has_profile: bool
    slow_drift: bool | None = None


@dataclass(frozen=True)
class MetricRow:
    """One metric of one run, as stored in ``vd_metrics`` (and its run's window start)."""

    run_id: str
    ran_at: datetime
    dataset: str | None
    name: str
    label: str
    family: str
    test: str
    status: str
    severity: str
    statistic: float | None
    p_value: float | None
    p_adjusted: float | None
    effect_size: float | None
    effect_unit: str
    unit: str
    baseline_value: float | None
    current_value: float | None
    bands: tuple[float, float, float]
    n_baseline: int
    n_current: int
    window_start: datetime | None = None


@dataclass(frozen=True)
class PruneResult:
    """What ``prune`` removed: whole runs, or only their report and profile documents."""

    runs_deleted: int
    documents_dropped: int
    cutoff: datetime
