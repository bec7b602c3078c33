"""Chart data and inline SVG for the HTML report.

Why hand-made SVG and CSS bars rather than a charting library
-------------------------------------------------------------
The report has three kinds of chart: channel histograms of 256 fixed bins (two overlaid
curves), category-mix bars, and effect sizes against severity bands. Each is a few dozen
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
    "EffectBar",
    "MixRow",
    "effect_bars",
    "histogram_svg",
    "mix_rows",
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
