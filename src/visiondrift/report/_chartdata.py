"""The numbers behind the report's charts: rows of category mixes, effect bars, confidence rows.

Plain data, computed from a :class:`~visiondrift.drift.DriftReport`; :mod:`._charts` draws them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from visiondrift.drift import DistributionDetails, MetricResult, Severity

__all__ = [
    "BAND_SCALE_MAX",
    "ConfidenceRow",
    "EffectBar",
    "MixRow",
    "confidence_rows",
    "effect_bars",
    "mix_rows",
    "quantile_pair",
]

#: The effect chart's axis is in "band units": 1 at the low band, 2 at medium, 3 at high; an
#: effect beyond the high band is drawn up to this value (and labelled with its real size).
BAND_SCALE_MAX: Final = 4.0


@dataclass(frozen=True)
class MixRow:
    """One category of a mix chart: its name and the share of each side (0-1)."""

    name: str
    baseline: float
    current: float
    baseline_count: int
    current_count: int


def mix_rows(
    baseline: Mapping[str, int], current: Mapping[str, int], *, max_rows: int = 20
) -> tuple[list[MixRow], int]:
    """The categories of two count tables as shares, largest first, and how many were left off.

    Parameters
    ----------
    baseline, current
        Counts per category of each side.
    max_rows
        At most this many categories are returned (those with the largest share on either
        side); the second element of the result says how many more there were.
    """
    nb, nc = float(sum(baseline.values())), float(sum(current.values()))
    keys = set(baseline) | set(current)
    rows = [
        MixRow(
            name=k,
            baseline=baseline.get(k, 0) / nb if nb else 0.0,
            current=current.get(k, 0) / nc if nc else 0.0,
            baseline_count=int(baseline.get(k, 0)),
            current_count=int(current.get(k, 0)),
        )
        for k in keys
    ]
    rows.sort(key=lambda r: (-max(r.baseline, r.current), r.name))
    return rows[:max_rows], max(0, len(rows) - max_rows)


@dataclass(frozen=True)
class EffectBar:
    """One metric of the effect chart: its bar length in percent of the axis and its labels."""

    name: str
    label: str
    effect: float
    effect_unit: str
    bands: tuple[float, float, float]
    severity: Severity
    significant: bool
    percent: float


def _band_position(effect: float, bands: tuple[float, float, float]) -> float:
    """Map ``|effect|`` to band units: 0 -> 0, low -> 1, medium -> 2, high -> 3 (piecewise)."""
    size = abs(effect)
    if math.isnan(size):
        return 0.0
    edges = (0.0, *bands)
    for i in range(3):
        lo, hi = edges[i], edges[i + 1]
        if size < hi:
            return i + (size - lo) / (hi - lo) if hi > lo else float(i + 1)
    width = bands[2] - bands[1] if bands[2] > bands[1] else bands[2] or 1.0
    return min(BAND_SCALE_MAX, 3.0 + (size - bands[2]) / width)


def effect_bars(metrics: Sequence[MetricResult]) -> list[EffectBar]:
    """Every metric's effect size relative to its own severity bands, largest first."""
    bars = [
        EffectBar(
            name=m.name,
            label=m.label,
            effect=m.effect_size,
            effect_unit=m.effect_unit,
            bands=m.bands,
            severity=m.severity,
            significant=m.status == "drift",
            percent=100.0 * _band_position(m.effect_size, m.bands) / BAND_SCALE_MAX,
        )
        for m in metrics
    ]
    bars.sort(key=lambda b: (-b.percent, b.label))
    return bars


def _finite(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclass(frozen=True)
class ConfidenceRow:
    """One predicted class: its mean top-1 confidence on each side (0-1, ``None`` if unseen)."""

    name: str
    baseline: float | None
    current: float | None


def confidence_rows(
    baseline: Mapping[str, object], current: Mapping[str, object], *, max_rows: int = 20
) -> tuple[list[ConfidenceRow], int]:
    """Mean confidence per predicted class on both sides, largest change first.

    Classes predicted on one side only come after those seen on both; the second element of
    the result says how many classes were left off.
    """
    rows = [
        ConfidenceRow(
            name=str(k), baseline=_finite(baseline.get(k)), current=_finite(current.get(k))
        )
        for k in set(baseline) | set(current)
    ]
    rows = [r for r in rows if r.baseline is not None or r.current is not None]

    def key(r: ConfidenceRow) -> tuple[int, float, str]:
        if r.baseline is None or r.current is None:
            return (1, 0.0, r.name)
        return (0, -abs(r.current - r.baseline), r.name)

    rows.sort(key=key)
    return rows[:max_rows], max(0, len(rows) - max_rows)


def quantile_pair(m: MetricResult) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    if not isinstance(m.details, DistributionDetails):
        return None
    b, c = m.details.baseline_quantiles, m.details.current_quantiles
    if len(b) < 2 or len(b) != len(c):
        return None
    bq = tuple(_finite(v) for v in b)
    cq = tuple(_finite(v) for v in c)
    if any(v is None for v in bq + cq):
        return None
    return tuple(float(v) for v in bq if v is not None), tuple(
        float(v) for v in cq if v is not None
    )
