"""Metric trends for people: which series a report shows, and one true sentence for each.

The history store hands the renderers :class:`~visiondrift.drift.trends.TrendSeries` (one metric
of one dataset over its last runs); :func:`select_trends` picks those worth showing next to a
report (the headline metrics, then every metric that drifted in it) and :func:`describe_trend`
says what one did in a sentence, the same on the HTML page (the chart's caption) and in the
Markdown summary. Plain data and text: no jinja2, no matplotlib (the Markdown summary imports
this module).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Final

from visiondrift.drift import SEVERITIES, DriftReport
from visiondrift.drift.trends import TrendPoint, TrendSeries
from visiondrift.errors import ConfigError
from visiondrift.report._format import fmt_num, fmt_share

__all__ = [
    "HEADLINE_METRICS",
    "MAX_TRENDS",
    "describe_trend",
    "run_labels",
    "select_trends",
    "trend_values",
]

#: The metrics whose history is always shown when the store has it, in this order: brightness,
#: sharpness, the model's mean confidence, the predicted-class mix, the share of unusable files.
HEADLINE_METRICS: Final[tuple[str, ...]] = (
    "brightness",
    "sharpness",
    "confidence",
    "class_mix",
    "bad_files",
)
#: At most this many trends are shown (each is a small chart on the page).
MAX_TRENDS: Final = 12


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def select_trends(
    series: Sequence[TrendSeries],
    report: DriftReport | None = None,
    *,
    max_series: int = MAX_TRENDS,
    min_runs: int = 2,
) -> list[TrendSeries]:
    """The trends to show next to a report: the headline metrics, then the drifted ones.

    Parameters
    ----------
    series
        Every trend the history store has for the report's dataset (any order).
    report
        The report being rendered: its drifted metrics are shown after the headline metrics,
        most severe first. ``None``: the metrics whose current point (``point.current``, else
        the newest) drifted.
    max_series
        At most this many trends are returned.
    min_runs
        A series with fewer points (runs), or with no finite effect size, is left out: one run
        is not a trend.

    Returns
    -------
    The chosen series, each metric once (the first series of a name wins): the metrics of
    :data:`HEADLINE_METRICS` in that order, then the drifted ones by severity (highest first)
    and size of the effect.
    """
    if max_series < 0 or min_runs < 1:
        raise ConfigError(
            "The 'max_series' parameter of select_trends must be at least 0 and 'min_runs' at "
            f"least 1. Got max_series={max_series!r} and min_runs={min_runs!r} instead."
        )
    usable: dict[str, TrendSeries] = {}
    for s in series:
        enough = len(s.points) >= min_runs
        if enough and any(_finite(p.effect_size) for p in s.points):
            usable.setdefault(s.name, s)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    drifted: list[tuple[int, float, str]] = []
    if report is not None:
        for m in report.metrics:
            if m.status == "drift":
                size = abs(m.effect_size) if math.isfinite(m.effect_size) else 0.0
                drifted.append((-rank[m.severity], -size, m.name))
    else:
        for s in usable.values():
            point = _current_point(s)
            if point is not None and point.status == "drift":
                size = abs(point.effect_size) if _finite(point.effect_size) else 0.0
                drifted.append((-rank[point.severity], -size, s.name))
    drifted.sort()
    order = [*HEADLINE_METRICS, *(name for _, _, name in drifted)]
    chosen: list[TrendSeries] = []
    for name in order:
        if name in usable:
            chosen.append(usable.pop(name))
    return chosen[:max_series]


def _current_point(series: TrendSeries) -> TrendPoint | None:
    """The point of the run being reported, else the newest one."""
    for point in series.points:
        if point.current:
            return point
    return series.points[-1] if series.points else None


def trend_values(series: TrendSeries) -> tuple[list[float], bool]:
    """The numbers a sentence is about, oldest first, and whether they are effect sizes.

    The metric's own values (``point.value``) when at least two runs have one; otherwise, for
    a metric that has no value of its own (a category mix), its effect sizes against the
    baseline. Runs without a finite number are skipped.
    """
    values = [p.value for p in series.points if p.value is not None and math.isfinite(p.value)]
    if len(values) >= 2 or any(p.value is not None for p in series.points):
        return values, False
    return [p.effect_size for p in series.points if math.isfinite(p.effect_size)], True


def _fmt_value(value: float, unit: str) -> str:
    """A value as the page writes it: shares in percent, everything else as a plain number."""
    return fmt_share(value) if unit.startswith("share of") else fmt_num(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe_trend(series: TrendSeries) -> str:
    """One sentence on what a metric did over the stored runs, true to the numbers.

    ``"Model confidence 0.910 → 0.840 over 7 runs, falling in 6 of 6 steps."``: the first and
    the last value (shares in percent, other numbers as on the page), the number of runs with a
    value, and how many run-to-run steps went the way of the overall change. A series whose
    values all read the same says it is steady; one whose first and last values read the same
    but moved between them gives the range; one with fewer than two values says so. A metric
    without a value of its own (a category mix) is described by its effect size against the
    baseline (see :func:`trend_values`).

    Parameters
    ----------
    series
        The trend.

    Returns
    -------
    The sentence, starting with the metric's label (capitalised) and ending with a full stop.
    """
    label = series.label[:1].upper() + series.label[1:] if series.label else series.name
    values, effects = trend_values(series)
    # Effect sizes are written as numbers, as in the metrics table, whatever their unit.
    unit = "" if effects else series.unit
    subject = f"{label}: effect size" if effects else label
    n_runs = len(series.points)
    missing = n_runs - len(values)
    gap = f" ({_plural(missing, 'run')} without a value)" if missing and len(values) >= 2 else ""
    if not values:
        if n_runs == 0:
            return f"{label}: no stored run."
        return f"{label}: no value in the {_plural(n_runs, 'stored run')}."
    if len(values) == 1:
        only = _fmt_value(values[0], unit)
        if n_runs == 1:
            return f"{subject} {only} in the only stored run."
        return f"{subject} {only}: the only value in {_plural(n_runs, 'stored run')}."
    texts = [_fmt_value(v, unit) for v in values]
    first, last = values[0], values[-1]
    over = f"over {len(values)} runs{gap}"
    if len(set(texts)) == 1:
        return f"{subject} steady at {texts[0]} {over}."
    if texts[0] == texts[-1]:
        low, high = min(values), max(values)
        return (
            f"{subject} {texts[0]} → {texts[-1]} {over}, back where it started "
            f"(between {_fmt_value(low, unit)} and {_fmt_value(high, unit)})."
        )
    steps = [b - a for a, b in itertools.pairwise(values)]
    rising = last > first
    with_it = sum(1 for d in steps if (d > 0 if rising else d < 0))
    way = "rising" if rising else "falling"
    if len(steps) == 1:
        return f"{subject} {texts[0]} → {texts[-1]} {over} ({way})."
    return f"{subject} {texts[0]} → {texts[-1]} {over}, {way} in {with_it} of {len(steps)} steps."


def run_labels(points: Sequence[TrendPoint]) -> list[str]:
    """Short labels of the runs' times for a chart's axis (UTC).

    ``"28 Nov"`` when no two runs share a day, ``"14:05"`` when all ran on one day, else
    ``"28 Nov 14:05"``.
    """
    days = [p.ran_at.date() for p in points]
    if len(set(days)) == len(days):
        return [f"{p.ran_at.day} {p.ran_at:%b}" for p in points]
    if len(set(days)) == 1:
        return [f"{p.ran_at:%H:%M}" for p in points]
    return [f"{p.ran_at.day} {p.ran_at:%b %H:%M}" for p in points]
