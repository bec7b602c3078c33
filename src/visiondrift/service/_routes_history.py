"""History and trends as JSON, read from the store: what ``visiondrift history list / show /
trend`` print, for dashboards and scripts. Scope ``read``.

``GET /v1/datasets`` (every dataset with a baseline or a run), ``GET /v1/datasets/{dataset}/runs``
(its runs, newest first), ``GET /v1/datasets/{dataset}/trends`` (metrics over its latest runs),
``GET /v1/runs/{run_id}/metrics`` (one run's metric rows, most severe first).
"""

from __future__ import annotations

import math
from asyncio import to_thread
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from visiondrift.service._auth import require
from visiondrift.service._params import DatasetName, Id32
from visiondrift.service._problems import PROBLEMS, ServiceProblem
from visiondrift.service._state import ServiceState, state

if TYPE_CHECKING:
    from visiondrift.drift.trends import TrendSeries
    from visiondrift.store import HistoryStore, MetricRow, StoredRun

__all__ = ["MetricOut", "RunRecord", "TrendOut", "metric_out", "router", "run_record"]

router = APIRouter(prefix="/v1", tags=["history"])

_READ = Depends(require("read"))
_STATE = Depends(state)
_PROBLEMS: dict[int | str, dict[str, Any]] = {c: PROBLEMS[c] for c in (401, 403, 422, 500, 503)}


def _num(value: float | None) -> float | None:
    """JSON has no NaN or infinity: those are ``null``."""
    return None if value is None or not math.isfinite(value) else float(value)


class RunRecord(BaseModel):
    """A stored run, as ``visiondrift history list --json`` prints it."""

    run_id: str
    dataset: str | None
    ran_at: datetime
    started_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    mode: str
    status: str
    drift: bool
    severity: str = Field(description="none, low, medium or high.")
    alpha: float
    correction: str
    n_tests: int
    n_drifted: int
    n_files: int
    n_images: int
    n_bad: int
    bad_counts: dict[str, int]
    baseline_name: str
    baseline_hash: str
    model_name: str | None
    model_hash: str | None
    package_version: str
    has_report: bool
    has_profile: bool
    slow_drift: bool | None


def run_record(run: StoredRun) -> RunRecord:
    """A stored run as the API shows it."""
    return RunRecord(
        run_id=run.run_id,
        dataset=run.dataset,
        ran_at=run.ran_at,
        started_at=run.started_at,
        window_start=None if run.window is None else run.window[0],
        window_end=None if run.window is None else run.window[1],
        mode=run.mode,
        status=run.status,
        drift=run.drift,
        severity=run.severity,
        alpha=run.alpha,
        correction=run.correction,
        n_tests=run.n_tests,
        n_drifted=run.n_drifted,
        n_files=run.n_files,
        n_images=run.n_images,
        n_bad=run.n_bad,
        bad_counts=dict(run.bad_counts),
        baseline_name=run.baseline_name,
        baseline_hash=run.baseline_hash,
        model_name=run.model_name,
        model_hash=run.model_hash,
        package_version=run.package_version,
        has_report=run.has_report,
        has_profile=run.has_profile,
        slow_drift=run.slow_drift,
    )


class MetricOut(BaseModel):
    """One metric of one run (``vd_metrics``)."""

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
    bands: dict[str, float] = Field(description="The effect sizes of low, medium and high.")
    n_baseline: int
    n_current: int


def metric_out(row: MetricRow) -> MetricOut:
    """A stored metric row as the API shows it."""
    return MetricOut(
        name=row.name,
        label=row.label,
        family=row.family,
        test=row.test,
        status=row.status,
        severity=row.severity,
        statistic=_num(row.statistic),
        p_value=_num(row.p_value),
        p_adjusted=_num(row.p_adjusted),
        effect_size=_num(row.effect_size),
        effect_unit=row.effect_unit,
        unit=row.unit,
        baseline_value=_num(row.baseline_value),
        current_value=_num(row.current_value),
        bands=dict(zip(("low", "medium", "high"), row.bands, strict=True)),
        n_baseline=row.n_baseline,
        n_current=row.n_current,
    )


class TrendPoint(BaseModel):
    """A metric in one run."""

    run_id: str
    ran_at: datetime
    value: float | None
    baseline: float | None
    effect_size: float | None
    p_adjusted: float | None
    severity: str
    status: str


class TrendOut(BaseModel):
    """A metric over a dataset's latest runs, oldest first (``history trend --json``)."""

    metric: str
    label: str
    family: str
    unit: str
    effect_unit: str
    dataset: str | None
    bands: dict[str, float]
    points: list[TrendPoint]


def _trend(series: TrendSeries) -> TrendOut:
    return TrendOut(
        metric=series.name,
        label=series.label,
        family=series.family,
        unit=series.unit,
        effect_unit=series.effect_unit,
        dataset=series.dataset,
        bands=dict(zip(("low", "medium", "high"), series.bands, strict=True)),
        points=[
            TrendPoint(
                run_id=p.run_id,
                ran_at=p.ran_at,
                value=_num(p.value),
                baseline=_num(p.baseline),
                effect_size=_num(p.effect_size),
                p_adjusted=_num(p.p_adjusted),
                severity=p.severity,
                status=p.status,
            )
            for p in series.points
        ],
    )


class LastRun(BaseModel):
    """A dataset's latest run, in short."""

    run_id: str
    ran_at: datetime
    drift: bool
    severity: str


class DatasetOut(BaseModel):
    """A dataset the service knows: it has a baseline or a recorded run."""

    dataset: str
    active_baseline: str | None = Field(description="The id of its active baseline.")
    baselines: int
    runs: int
    last_run: LastRun | None
    links: dict[str, str]


def _datasets(store: HistoryStore) -> list[DatasetOut]:
    from sqlalchemy import func, select

    from visiondrift.store._schema import RUNS

    # Counts per dataset in one grouped query (the store's own reader, one transaction).
    counts = store._read(
        "listing the datasets",
        lambda conn: {
            str(d): (int(n), last)
            for d, n, last in conn.execute(
                select(RUNS.c.dataset, func.count(), func.max(RUNS.c.ran_at))
                .where(RUNS.c.dataset.is_not(None))
                .group_by(RUNS.c.dataset)
            ).all()
        },
    )
    baselines = store.baselines.list()
    names = sorted({*counts, *(b.dataset for b in baselines)})
    out: list[DatasetOut] = []
    for name in names:
        mine = [b for b in baselines if b.dataset == name]
        last = store.runs(dataset=name, limit=1) if name in counts else []
        out.append(
            DatasetOut(
                dataset=name,
                active_baseline=next((b.baseline_id for b in mine if b.active), None),
                baselines=len(mine),
                runs=counts.get(name, (0, None))[0],
                last_run=(
                    LastRun(
                        run_id=last[0].run_id,
                        ran_at=last[0].ran_at,
                        drift=last[0].drift,
                        severity=last[0].severity,
                    )
                    if last
                    else None
                ),
                links={
                    "runs": f"/v1/datasets/{name}/runs",
                    "trends": f"/v1/datasets/{name}/trends",
                },
            )
        )
    return out


@router.get(
    "/datasets",
    response_model=list[DatasetOut],
    summary="The datasets: baselines, runs, the latest verdict",
    responses=_PROBLEMS,
    dependencies=[_READ],
)
async def list_datasets(service: ServiceState = _STATE) -> list[DatasetOut]:
    """Every dataset with a baseline or a recorded run, in name order."""
    return await to_thread(_datasets, service.store)


@router.get(
    "/datasets/{dataset}/runs",
    response_model=list[RunRecord],
    summary="A dataset's runs, newest first (history list)",
    responses=_PROBLEMS,
    dependencies=[_READ],
)
async def list_runs(
    dataset: DatasetName,
    since: Annotated[datetime | None, Query(description="Runs that finished since then.")] = None,
    until: Annotated[datetime | None, Query(description="Runs that finished before.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    service: ServiceState = _STATE,
) -> list[RunRecord]:
    """Batch runs and closed windows alike (a window's run has its window)."""
    runs = await to_thread(
        service.store.runs,
        dataset=dataset,
        since=_aware(since),
        until=_aware(until),
        limit=limit,
    )
    return [run_record(r) for r in runs]


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@router.get(
    "/datasets/{dataset}/trends",
    response_model=list[TrendOut],
    summary="Metrics over a dataset's latest runs (history trend)",
    responses=_PROBLEMS | {404: PROBLEMS[404]},
    dependencies=[_READ],
)
async def trends(
    dataset: DatasetName,
    metric: Annotated[
        list[str] | None,
        Query(max_length=50, description="Metric names (repeat); default: every stored one."),
    ] = None,
    last: Annotated[int, Query(ge=1, le=1000, description="The latest this many runs.")] = 30,
    service: ServiceState = _STATE,
) -> list[TrendOut]:
    """One series per metric, oldest run first, with its severity bands."""

    def read() -> list[TrendOut]:
        store = service.store
        names = store.metric_names(dataset=dataset)
        wanted = list(metric) if metric else names
        unknown = [m for m in wanted if m not in names]
        if unknown:
            raise ServiceProblem(
                404,
                "Not found",
                f"No run of the dataset {dataset!r} has the metric {unknown[0]!r}; the "
                f"dataset's metrics: {', '.join(names[:40]) or 'none (no run yet)'}.",
                slug="not-found",
            )
        if not wanted:
            return []
        return [_trend(s) for s in store.trends(wanted, dataset=dataset, last_runs=last)]

    return await to_thread(read)


@router.get(
    "/runs/{run_id:hex32}/metrics",
    response_model=list[MetricOut],
    summary="A run's metrics, most severe first (history show)",
    responses=_PROBLEMS | {404: PROBLEMS[404]},
    dependencies=[_READ],
)
async def run_metrics(run_id: Id32, service: ServiceState = _STATE) -> list[MetricOut]:
    """Every metric of a stored run with its p-values, effect size and severity."""
    rows = await to_thread(service.store.metrics, run_id)
    return [metric_out(r) for r in rows]
