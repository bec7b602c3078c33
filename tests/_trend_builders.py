"""Trend series built from real drift reports, as the history store builds them from its runs.

:func:`darkening_reports` compares crops of real photos, darker at each run, with one baseline;
:func:`trend_series` turns a run of reports into one :class:`TrendSeries` per metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import visiondrift
from visiondrift.demo.samples import CameraChange, make_dataset
from visiondrift.drift import DriftReport
from visiondrift.drift.trends import TrendSeries, series_from_reports

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


def trend_series(
    reports: Sequence[DriftReport],
    *,
    dataset: str | None = "camera-1",
    start: datetime = START,
    step: timedelta = timedelta(days=1),
    current: int | None = -1,
) -> list[TrendSeries]:
    """The reports' series, one run a ``step`` apart from ``start``; ``current``: see
    :func:`~visiondrift.drift.trends.series_from_reports`."""
    times = [start + i * step for i in range(len(reports))]
    ids = [f"{i:032x}" for i in range(len(reports))]
    return series_from_reports(reports, times, run_ids=ids, dataset=dataset, current=current)
