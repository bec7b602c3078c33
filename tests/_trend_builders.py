"""Trend series built from real drift reports, as the history store builds them from its runs.

:func:`darkening_reports` compares crops of real photos, darker at each run, with one baseline;
:func:`series_from_reports` turns a run of reports into one :class:`TrendSeries` per metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import visiondrift
from visiondrift.demo.samples import CameraChange, make_dataset
from visiondrift.drift import DriftReport
from visiondrift.drift.trends import TrendPoint, TrendSeries

#: The gain of each run's images: the same camera, then darker and darker.
GAINS = (1.0, 0.97, 0.93, 0.88, 0.82, 0.76, 0.7)
START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def darkening_reports(
    root: Path, photos: list, gains: Sequence[float] = GAINS
) -> list[DriftReport]:
    """One report per gain: 40 fresh crops of real photos at that gain against 60 baseline ones."""
    make_dataset(root / "baseline", 60, size=(64, 64), seed=31, photos=photos)
    baseline = visiondrift.profile(root / "baseline", workers=1)
    reports = []
    for i, gain in enumerate(gains):
        folder = root / f"run{i}"
        change = CameraChange(gain=gain, blur=0.0, noise=0.0)
        make_dataset(folder, 40, size=(64, 64), seed=40 + i, photos=photos, transform=change)
        reports.append(visiondrift.compare(baseline, visiondrift.profile(folder, workers=1)))
    return reports


def series_from_reports(
    reports: Sequence[DriftReport],
    *,
    dataset: str | None = "camera-1",
    start: datetime = START,
    step: timedelta = timedelta(days=1),
    current: int | None = -1,
) -> list[TrendSeries]:
    """One series per metric of the reports (oldest first), one point per report that has it.

    ``current`` is the index of the report being rendered (``None``: none is marked).
    """
    marked = None if current is None else range(len(reports))[current]
    names = dict.fromkeys(m.name for r in reports for m in r.metrics)
    out = []
    for name in names:
        points = []
        last = None
        for i, report in enumerate(reports):
            found = [m for m in report.metrics if m.name == name]
            if not found:
                continue
            m = last = found[0]
            points.append(
                TrendPoint(
                    run_id=f"{i:032x}",
                    ran_at=start + i * step,
                    value=m.current,
                    baseline=m.baseline,
                    effect_size=m.effect_size,
                    p_adjusted=m.p_adjusted,
                    severity=m.severity,
                    status=m.status,
                    current=i == marked,
                )
            )
        assert last is not None
        out.append(
            TrendSeries(
                name=name,
                label=last.label,
                family=last.family,
                unit=last.unit,
                effect_unit=last.effect_unit,
                bands=last.bands,
                dataset=dataset,
                points=tuple(points),
            )
        )
    return out
