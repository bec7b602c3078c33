"""Metric trends over stored runs: the plain records the history store returns and pages draw.

A :class:`TrendSeries` is one metric of one dataset over its last runs, oldest first; each
:class:`TrendPoint` is that metric in one run (the value measured in the batch, its effect size
against the baseline, its severity). The history store builds them
(:meth:`visiondrift.store.HistoryStore.trend`); the HTML page and the Markdown summary render
them; nothing here reads a database or draws. :func:`series_from_reports` builds them from
reports kept in memory or as files (tests, benchmarks, a history without a store).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from visiondrift.drift._details import MetricFamily, Severity
from visiondrift.drift._model import DriftReport, MetricResult, MetricStatus
from visiondrift.errors import ConfigError

__all__ = ["TrendPoint", "TrendSeries", "series_from_reports"]


@dataclass(frozen=True)
class TrendPoint:
    """One metric in one run.

    Attributes
    ----------
    run_id
        The run (hex id).
    ran_at
        When the run's images were taken (the start of its window) or, for a run without a
        window, when it ran (UTC).
    value
        The metric's value in the run's batch (``MetricResult.current``), or ``None``.
    baseline
        The metric's value in the baseline the run was compared with, or ``None``.
    effect_size
        The effect size against that baseline, in the series' ``effect_unit``.
    p_adjusted
        The family-wise adjusted p-value of the run's test.
    severity, status
        As in the run's report.
    current
        Whether this point is the run being reported (highlighted on the page).
    """

    run_id: str
    ran_at: datetime
    value: float | None
    baseline: float | None
    effect_size: float
    p_adjusted: float
    severity: Severity
    status: MetricStatus
    current: bool = False

    @classmethod
    def of(
        cls, metric: MetricResult, *, run_id: str, ran_at: datetime, current: bool = False
    ) -> TrendPoint:
        """``metric`` of a run's report as a point."""
        return cls(
            run_id=run_id,
            ran_at=ran_at,
            value=metric.current,
            baseline=metric.baseline,
            effect_size=metric.effect_size,
            p_adjusted=metric.p_adjusted,
            severity=metric.severity,
            status=metric.status,
            current=current,
        )


@dataclass(frozen=True)
class TrendSeries:
    """One metric of one dataset over runs, oldest first.

    Attributes
    ----------
    name, label
        The metric's name (``brightness``) and its readable label (``Brightness``).
    family
        The metric's family (fixes the effect unit and the bands).
    unit
        The unit of :attr:`TrendPoint.value`.
    effect_unit
        The unit of :attr:`TrendPoint.effect_size`.
    bands
        The low / medium / high severity thresholds on the effect size (of the latest run).
    dataset
        The dataset the runs belong to (``None``: runs without a dataset name).
    points
        The runs, oldest first.
    """

    name: str
    label: str
    family: MetricFamily
    unit: str
    effect_unit: str
    bands: tuple[float, float, float]
    dataset: str | None
    points: tuple[TrendPoint, ...]

    @classmethod
    def of(
        cls, metric: MetricResult, points: Sequence[TrendPoint], *, dataset: str | None
    ) -> TrendSeries:
        """The series of ``points``, named, labelled and banded as ``metric`` (the latest)."""
        return cls(
            name=metric.name,
            label=metric.label,
            family=metric.family,
            unit=metric.unit,
            effect_unit=metric.effect_unit,
            bands=metric.bands,
            dataset=dataset,
            points=tuple(points),
        )


def series_from_reports(
    reports: Sequence[DriftReport],
    ran_at: Sequence[datetime],
    *,
    run_ids: Sequence[str] | None = None,
    dataset: str | None = None,
    current: int | None = -1,
) -> list[TrendSeries]:
    """One series per metric of a run of reports, oldest first.

    Parameters
    ----------
    reports
        The runs' reports, oldest first.
    ran_at
        When each run finished (UTC), one per report.
    run_ids
        The runs' ids, one per report; ``None`` numbers them (``"0"``, ``"1"``, ...).
    dataset
        The dataset the runs belong to.
    current
        The index of the run being reported (its points have ``current=True``); ``None``:
        none.

    Returns
    -------
    One series per metric name, in order of first appearance; a run without the metric has
    no point in its series. Label, units and bands are those of the newest run that has it.
    """
    ids = [str(i) for i in range(len(reports))] if run_ids is None else list(run_ids)
    if len(ran_at) != len(reports) or len(ids) != len(reports):
        raise ConfigError(
            f"series_from_reports needs one time and one run id per report: got "
            f"{len(reports)} reports, {len(ran_at)} times and {len(ids)} run ids."
        )
    marked = None if current is None else range(len(reports))[current]
    found: dict[str, list[tuple[int, MetricResult]]] = {}
    for i, report in enumerate(reports):
        for m in report.metrics:
            found.setdefault(m.name, []).append((i, m))
    return [
        TrendSeries.of(
            runs[-1][1],
            [
                TrendPoint.of(m, run_id=ids[i], ran_at=ran_at[i], current=i == marked)
                for i, m in runs
            ],
            dataset=dataset,
        )
        for runs in found.values()
    ]
