"""Charts of the HTML report: matplotlib figures embedded as inline SVG.

Why matplotlib to inline SVG
----------------------------
The report draws seven kinds of chart: effect sizes against severity bands, distributions of
per-image properties (from stored percentiles), per-channel pixel histograms, the model's
confidence histogram, category-mix bars, per-class confidence bars and, with a history store,
metric trends over runs (about 11 KB each; twelve add about 145 KB to a page,
``benchmarks/report_trends_size.py``). They are drawn by
matplotlib, a well-kept plotting library, and embedded in the page as SVG text. The
alternatives were measured against the page's budget (one file, at most 2 MB, opens offline and
instantly on a phone):

* **matplotlib to inline SVG** (chosen): the page carries only the drawing, no script. With
  text kept as text (``svg.fonttype: none``) and coordinates rounded to 0.01 pt, a chart is
  4-25 KB; the 24 charts of a full report with a model come to about 270 KB, and the whole page
  to about 0.35 MB whatever the size of the baseline (``benchmarks/report_size.py``). Drawing
  takes about 70 ms per chart, about 1.7 s for those 24 (a report is written once per batch);
  the browser paints SVG with no script, so the page shows as soon as its HTML is parsed. SVG
  scales to the width of its box, so one figure serves 375 px and 1440 px screens.
* **Vega-Lite** needs vega, vega-lite and vega-embed inlined (about 800 KB of script, which no
  package we depend on ships), then draws every chart in the browser after parsing them, and the
  page's Content-Security-Policy would have to allow that script.
* **Plotly** inlines ``plotly.min.js`` (about 3.5 MB), which alone breaks the 2 MB budget.

Every chart's numbers are also in the page as text (captions or a table), so nothing is
conveyed by the drawing alone. Strings from the data (class and metric names) are written by
matplotlib's SVG writer, which escapes them as XML text, with math parsing off so a ``$`` in a
class name is shown literally; chart titles are escaped here with :func:`markupsafe.escape`.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from markupsafe import Markup, escape

from visiondrift.drift import MetricResult
from visiondrift.drift.trends import TrendSeries
from visiondrift.report._chartdata import (
    BAND_SCALE_MAX,
    ConfidenceRow,
    EffectBar,
    MixRow,
    confidence_rows,
    effect_bars,
    mix_rows,
    quantile_pair,
)
from visiondrift.report._format import fmt_num as _fmt
from visiondrift.report._trends import run_labels

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "BAND_SCALE_MAX",
    "CHANNEL_COLOURS",
    "MAX_DISTRIBUTIONS_WITHOUT_DRIFT",
    "SEVERITY_COLOURS",
    "ConfidenceRow",
    "DistributionChart",
    "EffectBar",
    "MixRow",
    "class_confidence_svg",
    "confidence_histogram_svg",
    "confidence_rows",
    "distribution_charts",
    "effect_bars",
    "effect_chart_svg",
    "histogram_svg",
    "mix_chart_svg",
    "mix_rows",
    "quantile_cdf_svg",
    "trend_chart_svg",
]

#: Colours of the current-data curve of each channel histogram (baseline is always grey).
CHANNEL_COLOURS: Final[dict[str, str]] = {
    "r": "#c62828",
    "g": "#2e7d32",
    "b": "#1565c0",
    "l": "#37474f",
}
#: Colours of the points of a trend chart, by the run's severity (the page's severity colours).
SEVERITY_COLOURS: Final[dict[str, str]] = {
    "none": "#1a7f37",
    "low": "#9a6700",
    "medium": "#bc4c00",
    "high": "#b3141e",
}
#: When no property metric drifted, this many (largest effect first) get a distribution chart.
MAX_DISTRIBUTIONS_WITHOUT_DRIFT: Final = 6

_BASE: Final = "#9aa4ad"
_CURRENT: Final = "#37474f"
_ZONES: Final = ("#eef2f5", "#fff3b0", "#ffd8b5", "#ffc9c9")
_GRID: Final = "#e4e8ec"
#: Width of every figure, in inches (the SVG's user units are points, 72 per inch). The SVG
#: scales to its box; at this width 9 pt text is about 10 px on a 375 px phone screen.
_WIDTH: Final = 4.2
#: Longest category name drawn inside a bar chart (the table beside it has the full name).
_MAX_LABEL: Final = 40

#: matplotlib settings for every chart: text stays text (small, searchable, escaped as XML),
#: no math parsing of data strings, reproducible element ids, a font that ships with matplotlib
#: (its metrics lay out the text; browsers without it fall back to a similar sans-serif).
_RC: Final[dict[str, Any]] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "visiondrift",
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.linewidth": 0.6,
    "axes.edgecolor": "#8c959f",
    "axes.labelcolor": "#59636e",
    "axes.labelsize": 8.5,
    "xtick.color": "#59636e",
    "ytick.color": "#59636e",
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": True,
}
_DRAWING: Final = threading.Lock()
_FONT_FALLBACK: Final = "font-family: 'DejaVu Sans', Verdana, Arial, sans-serif"


def _to_inline_svg(svg: str, *, chart_id: str, title: str, css_class: str) -> Markup:
    """matplotlib's SVG document as an element for an HTML page.

    Drops the XML prologue, the namespace declarations, the metadata (which holds a time stamp)
    and the global style sheet (its rule moves to the page's CSS, scoped to charts), prefixes
    every element id and reference with ``chart_id`` so that several charts on one page cannot
    collide, rounds coordinates to 0.01 pt, and replaces the fixed width and height with the
    page's CSS (the ``viewBox`` keeps the proportions).
    """
    body = svg[svg.index("<svg") :]
    body = re.sub(r"\s*<metadata>.*?</metadata>", "", body, flags=re.S)
    body = re.sub(r"\s*<defs>\s*<style[^>]*>.*?</style>\s*</defs>", "", body, flags=re.S)
    body = re.sub(r"\n\s+", "\n", body)

    def retag(match: re.Match[str]) -> str:
        tag = match.group(0)
        tag = tag.replace(' id="', f' id="{chart_id}-')
        tag = tag.replace("url(#", f"url(#{chart_id}-").replace(' xlink:href="#', ' href="#')
        tag = tag.replace(' href="#', f' href="#{chart_id}-')
        # Two decimals of a point are far finer than any screen shows; more only adds bytes.
        tag = re.sub(r"(\d\.\d\d)\d+", r"\1", tag)
        tag = re.sub(r"\s*\n(?=[LMCZz])", " ", tag)
        return tag.replace("font-family: 'DejaVu Sans'", _FONT_FALLBACK)

    # Only markup is rewritten, never the text between tags (it may come from the data).
    body = re.sub(r"<[^<>]+>", retag, body)
    root_end = body.index(">") + 1
    # Inside HTML the parser gives <svg> its namespace; the declarations are only addresses.
    root = re.sub(r'\s(?:width|height|version|xmlns(?::\w+)?)="[^"]*"', "", body[:root_end])
    root = root.replace(
        "<svg ",
        f'<svg class="chart {css_class}" id="{chart_id}" role="img" '
        f'aria-labelledby="{chart_id}-title" ',
        1,
    )
    heading = f'<title id="{chart_id}-title">{escape(title)}</title>'
    # chart_id and css_class come from this module, title went through escape(), and the rest
    # is matplotlib's XML output, whose text is escaped by its writer.
    return Markup(root + heading + body[root_end:])


def _draw(
    height: float,
    paint: Callable[[Figure], None],
    *,
    chart_id: str,
    title: str,
    css_class: str = "",
) -> Markup:
    """Run ``paint`` on a new figure ``_WIDTH`` by ``height`` inches; return it as inline SVG."""
    import matplotlib
    from matplotlib.figure import Figure

    # rc_context changes matplotlib's global settings while the figure is drawn, so charts are
    # drawn one at a time (reports rendered from several threads stay correct). matplotlib
    # types rc keys as a Literal of every known name; _RC's keys are all known.
    with _DRAWING, matplotlib.rc_context(cast("Any", _RC)):
        figure = Figure(figsize=(_WIDTH, height), facecolor="none")
        paint(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", facecolor="none")
    return _to_inline_svg(buffer.getvalue(), chart_id=chart_id, title=title, css_class=css_class)


def _shares(counts: Sequence[int]) -> list[float]:
    total = float(sum(counts))
    return [c / total for c in counts] if total > 0 else [0.0 for _ in counts]


def _short(name: str) -> str:
    return name if len(name) <= _MAX_LABEL else name[: _MAX_LABEL - 1] + "…"


def _percent_axis(ax: Axes, axis: str = "y", decimals: int | None = None) -> None:
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(3))
    target.set_major_formatter(PercentFormatter(1.0, decimals=decimals))


def histogram_svg(
    channel: str, baseline: Sequence[int], current: Sequence[int], title: str, *, chart_id: str
) -> Markup:
    """Baseline (grey area) and current (coloured line) shares of pixels per value, overlaid.

    Both are normalised to shares of their own pixels, on the same bins. The y axis is scaled to
    the tallest interior bin (bins 0 and 255 often hold clipped pixels and would flatten the
    rest); a taller end bin is drawn cut at the top.
    """
    b, c = _shares(baseline), _shares(current)
    interior = b[1:-1] + c[1:-1]
    top = max(interior, default=0.0) * 1.08 or max(b + c, default=0.0) or 1.0
    colour = CHANNEL_COLOURS.get(channel, _CURRENT)
    n = len(b)

    def paint(figure: Figure) -> None:
        ax = figure.add_axes((0.13, 0.17, 0.82, 0.78))
        ax.stairs(b, range(n + 1), fill=True, color=_BASE, alpha=0.6, linewidth=0)
        ax.stairs(c, range(n + 1), color=colour, linewidth=1.2)
        ax.set_xlim(0, n)
        ax.set_ylim(0, top)
        ax.set_xticks([0, n / 4, n / 2, 3 * n / 4, n], ["0", "64", "128", "192", "255"])
        _percent_axis(ax, decimals=1)
        ax.grid(axis="x", color=_GRID, linewidth=0.6)
        ax.set_axisbelow(True)

    return _draw(1.55, paint, chart_id=chart_id, title=title, css_class="hist")


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


def effect_chart_svg(bars: Sequence[EffectBar], title: str, *, chart_id: str) -> Markup:
    """Each metric's effect size as a bar over its own severity zones, largest first.

    The axis is in band units (see :data:`BAND_SCALE_MAX`), so metrics with different effect
    measures share one chart: the zones none, low, medium and high are the same width for all.
    A dark bar is significant after the family-wise correction; a light hatched one is not.
    """
    n = max(len(bars), 1)
    row = 0.3
    height = n * row + 0.42

    def paint(figure: Figure) -> None:
        ax = figure.add_axes((0.01, 0.3 / height, 0.98, (n * row) / height))
        for edge, zone in enumerate(_ZONES):
            ax.axvspan(edge, edge + 1, color=zone, linewidth=0)
        for i, bar in enumerate(bars):
            width = bar.percent / 100.0 * BAND_SCALE_MAX
            y = i + 0.72
            ax.barh(
                y,
                width,
                height=0.3,
                color="#24292f" if bar.significant else "#d0d7de",
                hatch=None if bar.significant else "////",
                edgecolor="#24292f" if bar.significant else "#6e7781",
                linewidth=0.4,
            )
            ax.text(0.04, i + 0.4, _short(f"{bar.label} · {bar.severity}"), va="baseline")
            # The unit of each effect is in the metrics table; here the bands are the scale.
            ax.text(BAND_SCALE_MAX - 0.04, i + 0.4, _fmt(bar.effect), va="baseline", ha="right")
        ax.set_ylim(n, 0)
        ax.set_xlim(0, BAND_SCALE_MAX)
        ax.set_yticks([])
        ax.set_xticks([0.5, 1.5, 2.5, 3.5], ["none", "low", "medium", "high"])
        ax.tick_params(axis="x", length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)

    return _draw(height, paint, chart_id=chart_id, title=title, css_class="effects")


def _paired_bars(
    names: Sequence[str],
    baseline: Sequence[float | None],
    current: Sequence[float | None],
    values: Sequence[str],
    *,
    right: float,
    percent: bool,
) -> Callable[[Figure], None]:
    """A painter of one row per category: its name and numbers, a baseline and a current bar."""
    n = max(len(names), 1)
    row = 0.44

    def paint(figure: Figure) -> None:
        height = figure.get_figheight()
        ax = figure.add_axes((0.05, 0.3 / height, 0.9, (n * row) / height))
        for i, name in enumerate(names):
            b, c = baseline[i], current[i]
            if b is not None:
                ax.barh(i + 0.56, b, height=0.2, color=_BASE, linewidth=0)
            if c is not None:
                ax.barh(i + 0.8, c, height=0.2, color=_CURRENT, linewidth=0)
            ax.text(0.0, i + 0.36, _short(name), va="baseline")
            ax.text(right, i + 0.36, values[i], va="baseline", ha="right", color="#59636e")
        ax.set_ylim(n, 0)
        ax.set_xlim(0, right)
        ax.set_yticks([])
        ax.grid(axis="x", color=_GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.spines["left"].set_visible(False)
        if percent:
            _percent_axis(ax, "x")
        else:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(5))

    return paint


def mix_chart_svg(rows: Sequence[MixRow], title: str, *, chart_id: str) -> Markup:
    """Share of each category on both sides: a grey baseline bar above a dark current bar."""
    top = max((max(r.baseline, r.current) for r in rows), default=0.0)
    right = min(1.0, top * 1.35) or 1.0
    paint = _paired_bars(
        [r.name for r in rows],
        [r.baseline for r in rows],
        [r.current for r in rows],
        [f"{100 * r.baseline:.1f}% → {100 * r.current:.1f}%" for r in rows],
        right=right,
        percent=True,
    )
    return _draw(len(rows) * 0.44 + 0.42, paint, chart_id=chart_id, title=title, css_class="bars")


def class_confidence_svg(rows: Sequence[ConfidenceRow], title: str, *, chart_id: str) -> Markup:
    """Mean top-1 confidence of each predicted class on both sides (0-1)."""
    paint = _paired_bars(
        [r.name for r in rows],
        [r.baseline for r in rows],
        [r.current for r in rows],
        [f"{_fmt(r.baseline)} → {_fmt(r.current)}" for r in rows],
        right=1.0,
        percent=False,
    )
    return _draw(len(rows) * 0.44 + 0.42, paint, chart_id=chart_id, title=title, css_class="bars")


def confidence_histogram_svg(
    baseline: Sequence[int], current: Sequence[int], title: str, *, chart_id: str
) -> Markup:
    """Baseline (grey area) and current (dark line) shares of images per confidence bin.

    Unlike the channel histograms, the end bins are not cut: a confident model puts most of
    its images in the last bin, and that is the point of the chart. The height is the square
    root of the share (the axis is labelled in shares), so that the thin bins below the tall
    last one stay visible.
    """
    b = [math.sqrt(v) for v in _shares(baseline)]
    c = [math.sqrt(v) for v in _shares(current)]
    top = max(b + c, default=0.0) * 1.05 or 1.0
    edges = [i / len(b) for i in range(len(b) + 1)]

    def paint(figure: Figure) -> None:
        ax = figure.add_axes((0.13, 0.26, 0.82, 0.69))
        ax.stairs(b, edges, fill=True, color=_BASE, alpha=0.6, linewidth=0)
        ax.stairs(c, edges, color=_CURRENT, linewidth=1.2)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, top)
        levels = [v for v in (0.01, 0.05, 0.2, 0.5, 1.0) if math.sqrt(v) <= top]
        ax.set_yticks([math.sqrt(v) for v in levels], [f"{100 * v:g}%" for v in levels])
        ax.set_xlabel("top-1 probability")
        ax.grid(axis="x", color=_GRID, linewidth=0.6)
        ax.set_axisbelow(True)

    return _draw(1.8, paint, chart_id=chart_id, title=title, css_class="hist")


def quantile_cdf_svg(
    baseline: Sequence[float],
    current: Sequence[float],
    low: float,
    high: float,
    title: str,
    *,
    chart_id: str,
    unit: str = "",
) -> Markup:
    """Empirical distribution functions of both sides, from equally spaced percentiles.

    ``baseline[i]`` and ``current[i]`` are the ``(i + 1) / (n + 1)`` quantiles (for the 19
    stored ones, the 5th to the 95th percentile); the line joins them, so it is the
    distribution function between the 5th and 95th percentiles, with x from ``low`` to
    ``high`` and y the share of images at or below x.
    """
    n = len(baseline)
    levels = [(i + 1) / (n + 1) for i in range(n)]

    def paint(figure: Figure) -> None:
        ax = figure.add_axes((0.13, 0.26, 0.82, 0.69))
        ax.plot(baseline, levels, color=_BASE, linewidth=2.6, solid_capstyle="round")
        ax.plot(current, levels, color=_CURRENT, linewidth=1.3)
        pad = 0.03 * (high - low)  # a line at either end stays off the frame
        ax.set_xlim(low - pad, high + pad)
        ax.set_ylim(0, 1)
        _percent_axis(ax)
        if unit:
            ax.set_xlabel(unit)
        ax.grid(color=_GRID, linewidth=0.6)
        ax.set_axisbelow(True)

    return _draw(1.8, paint, chart_id=chart_id, title=title, css_class="hist cdf")


def distribution_charts(
    metrics: Sequence[MetricResult], *, max_without_drift: int = MAX_DISTRIBUTIONS_WITHOUT_DRIFT
) -> list[DistributionChart]:
    """Distribution charts of the property metrics that drifted, largest effect first.

    When none drifted, the ``max_without_drift`` with the largest effect are drawn instead.
    Only metrics whose details carry ``baseline_quantiles`` and ``current_quantiles`` (property
    metrics of reports made by this version or later) can be drawn.
    """
    drawable = [(m, q) for m in metrics if (q := quantile_pair(m)) is not None]
    drawable.sort(
        key=lambda mq: (
            -abs(mq[0].effect_size) if math.isfinite(mq[0].effect_size) else 0.0,
            mq[0].label,
        )
    )
    drifted = [mq for mq in drawable if mq[0].status == "drift"]
    chosen = drifted or drawable[:max_without_drift]
    charts = []
    for i, (m, (bq, cq)) in enumerate(chosen):
        low, high = min(bq + cq), max(bq + cq)
        if high <= low:
            pad = abs(low) * 0.05 or 0.5
            low, high = low - pad, high + pad
        title = f"{m.label}: distribution of per-image values, baseline vs current"
        charts.append(
            DistributionChart(
                metric=m,
                svg=quantile_cdf_svg(
                    bq, cq, low, high, title, chart_id=f"distribution-{i}", unit=m.unit
                ),
                low=low,
                high=high,
                baseline_quantiles=bq,
                current_quantiles=cq,
            )
        )
    return charts


def _trend_limits(effects: Sequence[float], low_band: float) -> tuple[float, float]:
    """The y range of a trend chart: every effect and zero, and the low band on their side."""
    top, bottom = max(0.0, *effects), min(0.0, *effects)
    if top > 0 or bottom == 0:
        top = max(top, low_band * 1.15)
    if bottom < 0:
        bottom = min(bottom, -low_band * 1.15)
    pad = 0.08 * (top - bottom or 1.0)
    return bottom - (pad if bottom < 0 else 0.0), top + (pad if top > 0 else 0.0)


def _trend_ticks(
    bands: tuple[float, float, float], effects: Sequence[float], bottom: float, top: float
) -> list[float]:
    """Zero, the largest effects beyond the high band, and the band edges in view, dropping
    those too close to one already kept (in that order of priority)."""
    beyond = [e for e in (max(effects), min(effects)) if abs(e) > bands[2]]
    kept: list[float] = []
    gap = 0.12 * (top - bottom)
    for edge in (0.0, *beyond, *(s * b for b in reversed(bands) for s in (1.0, -1.0))):
        if bottom <= edge <= top and all(abs(edge - k) >= gap for k in kept):
            kept.append(edge)
    return sorted(kept)


def trend_chart_svg(series: TrendSeries, title: str, *, chart_id: str) -> Markup:
    """A metric's effect size against the baseline over runs, oldest first, on its bands.

    x is the runs in order (equally spaced, dated); y the effect size, on the family's
    severity zones (none, low, medium, high, shaded as in the effect chart, on both sides of
    zero since the bands apply to its size). Each point has its run's severity colour, filled
    when the run found the metric drifted (significant after correction) and hollow when not;
    the run being reported (``point.current``) is ringed and labelled "this run". Runs without
    a finite effect size are left out of the line.
    """
    points = series.points
    drawn = [(i, p) for i, p in enumerate(points) if math.isfinite(p.effect_size)]
    effects = [p.effect_size for _, p in drawn] or [0.0]
    bottom, top = _trend_limits(effects, series.bands[0])
    labels = run_labels(points)
    n = len(points)
    # Every run up to 7; beyond, every k-th counted back from the newest, which is always dated.
    ticks = list(range(n)) if n <= 7 else list(range(n - 1, -1, -math.ceil((n - 1) / 4)))[::-1]

    def paint(figure: Figure) -> None:
        ax = figure.add_axes((0.12, 0.17, 0.84, 0.69))
        edges = (0.0, *series.bands, max(abs(bottom), abs(top)) * 2 + series.bands[2] + 1.0)
        for i, zone in enumerate(_ZONES):
            ax.axhspan(edges[i], edges[i + 1], color=zone, linewidth=0)
            ax.axhspan(-edges[i + 1], -edges[i], color=zone, linewidth=0)
        ax.axhline(0.0, color="#8c959f", linewidth=0.6)
        ax.plot([i for i, _ in drawn], [p.effect_size for _, p in drawn], color=_BASE, lw=1.2)
        for i, p in drawn:
            colour = SEVERITY_COLOURS.get(p.severity, _CURRENT)
            ax.scatter(
                [i],
                [p.effect_size],
                s=46 if p.current else 20,
                color=colour if p.status == "drift" else "white",
                edgecolors="#24292f" if p.current else colour,
                linewidths=1.5 if p.current else 1.1,
                zorder=3,
            )
            if p.current:
                ax.axvline(i, color=_CURRENT, linewidth=0.6, linestyle=(0, (2, 2)), zorder=1)
                ha = "right" if i > (n - 1) * 0.75 else "left" if i < (n - 1) * 0.25 else "center"
                ax.text(i, 1.03, "this run", transform=ax.get_xaxis_transform(), ha=ha, va="bottom")
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(bottom, top)
        ax.set_xticks(ticks, [labels[i] for i in ticks])
        ax.set_yticks(_trend_ticks(series.bands, effects, bottom, top))
        # Zero, band edges (short numbers a user set) and the largest effects: 3 digits at most.
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.3g}".replace("-", "−"))

    return _draw(1.75, paint, chart_id=chart_id, title=title, css_class="trend")
