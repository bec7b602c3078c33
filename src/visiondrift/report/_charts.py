"""Chart data and inline SVG for the HTML report.

Why hand-made SVG and CSS bars rather than a charting library
-------------------------------------------------------------
The report has five kinds of chart: channel and model-confidence histograms of fixed bins
(two overlaid curves), empirical distribution functions of per-image properties drawn from
stored percentiles (two overlaid lines), category-mix and per-class confidence bars, and
effect sizes against severity bands. Each is a few dozen
lines of SVG or a row of ``<div>`` bars, and the page must be one small file that opens
offline, instantly, on a phone. The alternatives were measured against that:

* **matplotlib to SVG** is not a core dependency (it would have to be an ``html`` extra, so the
  default install would produce a page without charts); each figure costs ~60-120 ms to draw
  and 25-60 KB of SVG (text turned into paths), about 10x the size of the SVG made here; and
  its fixed-size figures shrink their text to unreadable sizes at 375 px.
* **Vega-Lite** needs vega + vega-lite + vega-embed embedded (~800 KB of script, no pip package
  of ours ships them), then renders in the browser after the scripts are parsed.
* **Plotly** embeds ``plotly.min.js`` (~3.5 MB), which alone breaks the 2 MB page budget.

The SVG here is drawn from the report's numbers with no layout engine: a histogram is one
``<path>`` per curve in a ``viewBox`` that scales to any width, and the bar charts are HTML
(``<div>`` widths in percent) so that their labels wrap and stay readable at 375 px. Every
chart also has its numbers in a table or a caption, so nothing is conveyed by the drawing
alone. All text that comes from the data is escaped here with :func:`markupsafe.escape`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

from visiondrift.drift import MetricResult, Severity

__all__ = [
    "BAND_SCALE_MAX",
    "CHANNEL_COLOURS",
    "MAX_DISTRIBUTIONS_WITHOUT_DRIFT",
    "ConfidenceRow",
    "DistributionChart",
    "EffectBar",
    "MixRow",
    "confidence_histogram_svg",
    "confidence_rows",
    "distribution_charts",
    "effect_bars",
    "histogram_svg",
    "mix_rows",
    "quantile_cdf_svg",
]

#: Colours of the current-data curve of each channel histogram (baseline is always grey).
CHANNEL_COLOURS: Final[dict[str, str]] = {
    "r": "#c62828",
    "g": "#2e7d32",
    "b": "#1565c0",
    "l": "#37474f",
}
#: The effect chart's axis is in "band units": 1 at the low band, 2 at medium, 3 at high; an
#: effect beyond the high band is drawn up to this value (and labelled with its real size).
BAND_SCALE_MAX: Final = 4.0
#: Histogram drawing area (SVG user units); the SVG scales to its container's width.
_HIST_W: Final = 256.0
_HIST_H: Final = 96.0
#: When no property metric drifted, this many (largest effect first) get a distribution chart.
MAX_DISTRIBUTIONS_WITHOUT_DRIFT: Final = 6


def _shares(counts: Sequence[int]) -> list[float]:
    total = float(sum(counts))
    return [c / total for c in counts] if total > 0 else [0.0 for _ in counts]


def _curve(shares: Sequence[float], top: float, *, closed: bool) -> str:
    n = len(shares)
    step = _HIST_W / n
    points = []
    for i, s in enumerate(shares):
        y = _HIST_H - min(s / top, 1.0) * (_HIST_H - 2.0)
        points.append(f"{i * step:.1f},{y:.1f}")
        points.append(f"{(i + 1) * step:.1f},{y:.1f}")
    line = "M" + " L".join(points)
    if closed:
        line = f"M0,{_HIST_H:.0f} L" + " L".join(points) + f" L{_HIST_W:.0f},{_HIST_H:.0f} Z"
    return line


def histogram_svg(
    channel: str, baseline: Sequence[int], current: Sequence[int], title: str
) -> Markup:
    """Baseline (grey area) and current (coloured line) shares of pixels per bin, overlaid.

    Both are normalised to shares of their own pixels, on the same bins. The y axis is scaled to
    the tallest interior bin (bins 0 and 255 often hold clipped pixels and would flatten the
    rest); a taller end bin is drawn cut at the top.
    """
    b, c = _shares(baseline), _shares(current)
    interior = b[1:-1] + c[1:-1]
    top = max(interior, default=0.0) * 1.08 or max(b + c, default=0.0) or 1.0
    colour = CHANNEL_COLOURS.get(channel, "#37474f")
    grid = "".join(
        f'<line x1="{x:.0f}" y1="0" x2="{x:.0f}" y2="{_HIST_H:.0f}" class="grid"/>'
        for x in (64, 128, 192)
    )
    svg = (
        f'<svg class="hist" viewBox="0 0 {_HIST_W:.0f} {_HIST_H:.0f}" '
        f'preserveAspectRatio="none" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{grid}"
        f'<path d="{_curve(b, top, closed=True)}" class="base"/>'
        f'<path d="{_curve(c, top, closed=False)}" fill="none" stroke="{colour}" '
        'stroke-width="1.6" vector-effect="non-scaling-stroke"/>'
        "</svg>"
    )
    # Every string from the data above went through escape().
    return Markup(svg)


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


def confidence_histogram_svg(baseline: Sequence[int], current: Sequence[int], title: str) -> Markup:
    """Baseline (grey area) and current (dark line) shares of images per confidence bin.

    Unlike the channel histograms, the end bins are not cut: a confident model puts most of
    its images in the last bin, and that is the point of the chart. The height is the square
    root of the share, so that the thin bins below the tall last one stay visible.
    """
    b = [math.sqrt(v) for v in _shares(baseline)]
    c = [math.sqrt(v) for v in _shares(current)]
    top = max(b + c, default=0.0) * 1.05 or 1.0
    grid = "".join(
        f'<line x1="{_HIST_W * f:.0f}" y1="0" x2="{_HIST_W * f:.0f}" y2="{_HIST_H:.0f}" '
        'class="grid"/>'
        for f in (0.25, 0.5, 0.75)
    )
    svg = (
        f'<svg class="hist" id="confidence-histogram" viewBox="0 0 {_HIST_W:.0f} {_HIST_H:.0f}" '
        f'preserveAspectRatio="none" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{grid}"
        f'<path d="{_curve(b, top, closed=True)}" class="base"/>'
        f'<path d="{_curve(c, top, closed=False)}" fill="none" stroke="#37474f" '
        'stroke-width="1.6" vector-effect="non-scaling-stroke"/>'
        "</svg>"
    )
    # Every string from the data above went through escape().
    return Markup(svg)


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


@dataclass(frozen=True)
class DistributionChart:
    """One property metric's distribution on both sides, drawn from its stored percentiles."""

    metric: MetricResult
    svg: Markup
    low: float
    high: float
    baseline_quantiles: tuple[float, ...]
    current_quantiles: tuple[float, ...]

    @property
    def middle(self) -> float:
        return (self.low + self.high) / 2.0

    @property
    def baseline_median(self) -> float:
        return self.baseline_quantiles[len(self.baseline_quantiles) // 2]

    @property
    def current_median(self) -> float:
        return self.current_quantiles[len(self.current_quantiles) // 2]


def _quantile_pair(m: MetricResult) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    b, c = m.details.get("baseline_quantiles"), m.details.get("current_quantiles")
    if not isinstance(b, list) or not isinstance(c, list) or len(b) < 2 or len(b) != len(c):
        return None
    bq = tuple(_finite(v) for v in b)
    cq = tuple(_finite(v) for v in c)
    if any(v is None for v in bq + cq):
        return None
    return tuple(float(v) for v in bq if v is not None), tuple(
        float(v) for v in cq if v is not None
    )


def quantile_cdf_svg(
    baseline: Sequence[float], current: Sequence[float], low: float, high: float, title: str
) -> Markup:
    """Empirical distribution functions of both sides, from equally spaced percentiles.

    ``baseline[i]`` and ``current[i]`` are the ``(i + 1) / (n + 1)`` quantiles (for the 19
    stored ones, the 5th to the 95th percentile); the line joins them, so it is the
    distribution function between the 5th and 95th percentiles, with x from ``low`` to
    ``high`` and y from 0 to 1.
    """
    n = len(baseline)
    span = high - low

    def line(values: Sequence[float]) -> str:
        points = []
        for i, v in enumerate(values):
            x = (v - low) / span * _HIST_W if span > 0 else _HIST_W / 2.0
            y = _HIST_H - (i + 1) / (n + 1) * _HIST_H
            points.append(f"{x:.1f},{y:.1f}")
        return "M" + " L".join(points)

    grid = "".join(
        f'<line x1="{_HIST_W * f:.0f}" y1="0" x2="{_HIST_W * f:.0f}" y2="{_HIST_H:.0f}" '
        f'class="grid"/><line x1="0" y1="{_HIST_H * f:.0f}" x2="{_HIST_W:.0f}" '
        f'y2="{_HIST_H * f:.0f}" class="grid"/>'
        for f in (0.25, 0.5, 0.75)
    )
    svg = (
        f'<svg class="hist cdf" viewBox="0 0 {_HIST_W:.0f} {_HIST_H:.0f}" '
        f'preserveAspectRatio="none" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{grid}"
        f'<path d="{line(baseline)}" class="base-line"/>'
        f'<path d="{line(current)}" fill="none" stroke="#37474f" stroke-width="1.6" '
        'vector-effect="non-scaling-stroke"/>'
        "</svg>"
    )
    # Every string from the data above went through escape().
    return Markup(svg)


def distribution_charts(
    metrics: Sequence[MetricResult], *, max_without_drift: int = MAX_DISTRIBUTIONS_WITHOUT_DRIFT
) -> list[DistributionChart]:
    """Distribution charts of the property metrics that drifted, largest effect first.

    When none drifted, the ``max_without_drift`` with the largest effect are drawn instead.
    Only metrics whose details carry ``baseline_quantiles`` and ``current_quantiles`` (property
    metrics of reports made by this version or later) can be drawn.
    """
    drawable = [(m, q) for m in metrics if (q := _quantile_pair(m)) is not None]
    drawable.sort(
        key=lambda mq: (
            -abs(mq[0].effect_size) if math.isfinite(mq[0].effect_size) else 0.0,
            mq[0].label,
        )
    )
    drifted = [mq for mq in drawable if mq[0].status == "drift"]
    chosen = drifted or drawable[:max_without_drift]
    charts = []
    for m, (bq, cq) in chosen:
        low, high = min(bq + cq), max(bq + cq)
        if high <= low:
            pad = abs(low) * 0.05 or 0.5
            low, high = low - pad, high + pad
        title = f"{m.label}: distribution of per-image values, baseline vs current"
        charts.append(
            DistributionChart(
                metric=m,
                svg=quantile_cdf_svg(bq, cq, low, high, title),
                low=low,
                high=high,
                baseline_quantiles=bq,
                current_quantiles=cq,
            )
        )
    return charts
