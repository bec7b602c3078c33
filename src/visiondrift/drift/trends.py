"""Metric trends over stored runs: the plain records the history store returns and pages draw.

A :class:`TrendSeries` is one metric of one dataset over its last runs, oldest first; each
:class:`TrendPoint` is that metric in one run (the value measured in the batch, its effect size
against the baseline, its severity). The history store builds them
(:meth:`visiondrift.store.HistoryStore.trend`); the HTML page and the Markdown summary render
them; nothing here reads a database or draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from visiondrift.drift._details import MetricFamily, Severity
from visiondrift.drift._model import MetricStatus

__all__ = ["TrendPoint", "TrendSeries"]


@dataclass(frozen=True)
class TrendPoint:
    """One metric in one run.

    Attributes
    ----------
    run_id
        The run (hex id).
    ran_at
        When the run finished (UTC).
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
