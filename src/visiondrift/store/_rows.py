"""Rows of the store: a report as rows to insert, stored rows as records, common filters."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from visiondrift.errors import ConfigError
from visiondrift.store._codec import content_hash
from visiondrift.store._records import AnyDataset, MetricRow, StoredRun

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import Select

    from visiondrift.drift import DriftReport

__all__ = [
    "bad_counts",
    "filtered",
    "listing",
    "metric_record",
    "metric_rows",
    "now_utc",
    "parse_time",
    "run_row",
    "runs_query",
    "severity_order",
    "stored_run",
    "utc",
]


_RUN_ID = re.compile(r"^[0-9a-f]{1,32}$")


def utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now_utc(now: datetime | None = None) -> datetime:
    """``now`` in UTC, or the clock's time (the claims' and the outbox's injectable clock)."""
    value = utc(now) if now is not None else datetime.now(UTC)
    assert value is not None
    return value


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return utc(datetime.fromisoformat(text))


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def run_row(
    report: DriftReport,
    run_id: str,
    dataset: str | None,
    window: tuple[datetime, datetime] | None,
    finished: datetime,
    started: datetime,
) -> dict[str, Any]:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise ConfigError(
            "A run id is 1 to 32 lower-case hexadecimal digits (what 'history show' and "
            f"HistoryStore.get look runs up by). Got {run_id!r} instead."
        )
    current = report.current
    model = current.model
    model_name = model_hash = None
    if model is not None:
        described = {k: v for k, v in model.description.items() if k != "path"}
        path = model.description.get("path")
        model_name = os.path.basename(str(path)) if path else "predictions file"
        model_hash = content_hash({"description": described, "classes": model.class_names})
    return {
        "run_id": run_id,
        "dataset": dataset,
        "ran_at": finished,
        "started_at": started,
        "window_start": None if window is None else utc(window[0]),
        "window_end": None if window is None else utc(window[1]),
        "mode": report.mode,
        "status": report.status,
        "drift": bool(report.overall_drift_detected),
        "severity": report.severity,
        "alpha": float(report.alpha),
        "correction": report.correction,
        "n_tests": int(report.n_tests),
        "n_drifted": int(report.n_drifted),
        "n_files": int(current.n_files),
        "n_images": int(current.n_images),
        "n_bad": int(current.n_bad),
        "baseline_name": str(report.baseline.location)[:500],
        "baseline_hash": baseline_identity(report),
        "model_name": None if model_name is None else model_name[:500],
        "model_hash": model_hash,
        "package_version": report.package_version[:40],
        "slow_drift": None if report.slow_drift is None else report.slow_drift.drift_detected,
    }


def metric_rows(
    report: DriftReport, run_id: str, dataset: str | None, finished: datetime
) -> list[dict[str, Any]]:
    rows = []
    seen: set[str] = set()
    for m in report.metrics:
        if m.name in seen:  # a report names each metric once; be safe for the primary key
            continue
        seen.add(m.name)
        rows.append(
            {
                "run_id": run_id,
                "ran_at": finished,
                "dataset": dataset,
                "name": m.name[:200],
                "label": m.label[:200],
                "family": m.family,
                "test": m.test,
                "status": m.status,
                "severity": m.severity,
                "statistic": _finite(m.statistic),
                "p_value": _finite(m.p_value),
                "p_adjusted": _finite(m.p_adjusted),
                "effect_size": _finite(m.effect_size),
                "effect_unit": m.effect_unit,
                "unit": m.unit,
                "baseline_value": _finite(m.baseline),
                "current_value": _finite(m.current),
                "band_low": float(m.bands[0]),
                "band_medium": float(m.bands[1]),
                "band_high": float(m.bands[2]),
                "n_baseline": int(m.n_baseline),
                "n_current": int(m.n_current),
            }
        )
    return rows


def runs_query() -> Select[Any]:
    from sqlalchemy import select

    from visiondrift.store._schema import DOCUMENTS, RUNS

    return select(
        RUNS,
        DOCUMENTS.c.report.is_not(None).label("has_report"),
        DOCUMENTS.c.profile.is_not(None).label("has_profile"),
    ).select_from(RUNS.outerjoin(DOCUMENTS, DOCUMENTS.c.run_id == RUNS.c.run_id))


def filtered(
    query: Select[Any],
    table: Any,
    dataset: str | AnyDataset | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[Any]:
    if dataset is None:
        query = query.where(table.c.dataset.is_(None))
    elif not isinstance(dataset, AnyDataset):
        query = query.where(table.c.dataset == dataset)
    if since is not None:
        query = query.where(table.c.ran_at >= utc(since))
    if until is not None:
        query = query.where(table.c.ran_at < utc(until))
    return query


def listing(
    table: Any, order: Sequence[Any], limit: int | None = None, **equal: object
) -> Select[Any]:
    """The rows of ``table`` whose columns equal the given values (``None``: any), in
    ``order``, at most ``limit``: the query behind ``alerts list`` and the claims' list."""
    from sqlalchemy import select

    query = select(table)
    for column, value in equal.items():
        if value is not None:
            query = query.where(table.c[column] == value)
    query = query.order_by(*order)
    return query if limit is None else query.limit(limit)


def bad_counts(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    from sqlalchemy import select

    from visiondrift.store._schema import BAD_COUNTS

    out: dict[str, dict[str, int]] = {}
    for start in range(0, len(run_ids), 500):
        ids = list(run_ids[start : start + 500])
        for run_id, reason, count in conn.execute(
            select(BAD_COUNTS.c.run_id, BAD_COUNTS.c.reason, BAD_COUNTS.c.count).where(
                BAD_COUNTS.c.run_id.in_(ids)
            )
        ):
            out.setdefault(run_id, {})[reason] = int(count)
    return out


def stored_run(row: Mapping[Any, Any], bad: Mapping[str, int]) -> StoredRun:
    start, end = utc(row["window_start"]), utc(row["window_end"])
    ran_at = utc(row["ran_at"])
    started_at = utc(row["started_at"])
    assert ran_at is not None
    assert started_at is not None
    return StoredRun(
        run_id=row["run_id"],
        dataset=row["dataset"],
        ran_at=ran_at,
        started_at=started_at,
        window=None if start is None or end is None else (start, end),
        mode=row["mode"],
        status=row["status"],
        drift=bool(row["drift"]),
        severity=row["severity"],
        alpha=float(row["alpha"]),
        correction=row["correction"],
        n_tests=int(row["n_tests"]),
        n_drifted=int(row["n_drifted"]),
        n_files=int(row["n_files"]),
        n_images=int(row["n_images"]),
        n_bad=int(row["n_bad"]),
        bad_counts=dict(sorted(bad.items())),
        baseline_name=row["baseline_name"],
        baseline_hash=row["baseline_hash"],
        model_name=row["model_name"],
        model_hash=row["model_hash"],
        package_version=row["package_version"],
        slow_drift=None if row["slow_drift"] is None else bool(row["slow_drift"]),
        has_report=bool(row["has_report"]),
        has_profile=bool(row["has_profile"]),
    )


def metric_record(row: Mapping[Any, Any]) -> MetricRow:
    ran_at = utc(row["ran_at"])
    assert ran_at is not None
    return MetricRow(
        run_id=row["run_id"],
        ran_at=ran_at,
        dataset=row["dataset"],
        name=row["name"],
        label=row["label"],
        family=row["family"],
        test=row["test"],
        status=row["status"],
        severity=row["severity"],
        statistic=row["statistic"],
        p_value=row["p_value"],
        p_adjusted=row["p_adjusted"],
        effect_size=row["effect_size"],
        effect_unit=row["effect_unit"],
        unit=row["unit"],
        baseline_value=row["baseline_value"],
        current_value=row["current_value"],
        bands=(float(row["band_low"]), float(row["band_medium"]), float(row["band_high"])),
        n_baseline=int(row["n_baseline"]),
        n_current=int(row["n_current"]),
        window_start=utc(row.get("window_start")),
    )


def severity_order(row: MetricRow) -> tuple[int, float, str]:
    """Sort key of a run's metric rows: most severe first, then largest effect for its bands."""
    from visiondrift.drift import SEVERITIES

    low = row.bands[1] or 1.0
    return (-SEVERITIES.index(row.severity), -abs(row.effect_size or 0.0) / low, row.name)


def baseline_identity(report: DriftReport) -> str:
    """The SHA-256 the store records for a report's baseline (its summary in the report)."""
    return content_hash(report.baseline.model_dump(mode="json"))
