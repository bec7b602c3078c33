"""Stored metric rows as trend series (the records the pages draw)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from visiondrift.drift import DriftReport
    from visiondrift.drift.trends import TrendSeries
    from visiondrift.store._records import MetricRow

__all__ = ["series_of", "with_run"]


def series_of(
    rows: Sequence[MetricRow], names: Sequence[str], *, dataset: str | None
) -> list[TrendSeries]:
    """One series per name that has rows (in ``names`` order); rows come oldest first.

    A point's time is its run's window start when the run has a window, else when it ran.
    """
    from visiondrift.drift.trends import TrendPoint, TrendSeries

    by_name: dict[str, list[MetricRow]] = {}
    for row in rows:
        by_name.setdefault(row.name, []).append(row)
    out = []
    for name in names:
        found = by_name.get(name)
        if not found:
            continue
        last = found[-1]
        out.append(
            TrendSeries(
                name=name,
                label=last.label,
                family=cast("Any", last.family),
                unit=last.unit,
                effect_unit=last.effect_unit,
                bands=last.bands,
                dataset=dataset,
                points=tuple(
                    TrendPoint(
                        run_id=r.run_id,
                        ran_at=r.window_start or r.ran_at,
                        value=r.current_value,
                        baseline=r.baseline_value,
                        effect_size=0.0 if r.effect_size is None else r.effect_size,
                        p_adjusted=1.0 if r.p_adjusted is None else r.p_adjusted,
                        severity=cast("Any", r.severity),
                        status=cast("Any", r.status),
                    )
                    for r in found
                ),
            )
        )
    return out


def with_run(
    series: Sequence[TrendSeries],
    report: DriftReport,
    *,
    run_id: str,
    ran_at: datetime,
    dataset: str | None,
) -> list[TrendSeries]:
    """``series`` with the run being reported appended (highlighted) to each of its metrics.

    A metric of the report with no stored history starts a series of one point. Points are
    placed at their run's window start when the run has a window, else when it ran.
    """
    from dataclasses import replace

    from visiondrift.drift.trends import TrendPoint, TrendSeries

    known = {s.name: s for s in series}
    out = []
    for m in report.metrics:
        point = TrendPoint.of(m, run_id=run_id, ran_at=ran_at, current=True)
        old = known.get(m.name)
        if old is None:
            out.append(TrendSeries.of(m, (point,), dataset=dataset))
        else:
            kept = tuple(p for p in old.points if p.run_id != run_id)
            out.append(replace(old, bands=m.bands, label=m.label, points=(*kept, point)))
    return out
