"""The HTML report: one self-contained page that shows what drifted, how much, and where.

The page is a single file: CSS, SVG charts, thumbnails (``data:`` URIs) and a small sorting
script are all inline, and a Content-Security-Policy ``<meta>`` forbids every network request
and every script except that one (pinned by its SHA-256), so the page opens offline and a
string from the data can never run as code even if an escape were missed. Every string from the
data is escaped by Jinja2's autoescaping. Without JavaScript the page is complete; the script
only makes the metrics table sortable. The charts are drawn by matplotlib as inline SVG; see
:mod:`visiondrift.report._charts` for why.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import jinja2
from markupsafe import Markup

from visiondrift._io import write_text_atomic
from visiondrift.drift import SEVERITIES, DriftReport, MetricResult, ReportSettings
from visiondrift.drift.trends import TrendSeries
from visiondrift.names import NamesKey, thumbnail_paths
from visiondrift.report import _charts
from visiondrift.report._format import fmt_num, fmt_p, fmt_share, fmt_signed
from visiondrift.report._trends import describe_trend, select_trends

__all__ = [
    "THUMBNAIL_MAX_SIDE",
    "THUMBNAIL_QUALITY",
    "generate_html_report",
    "make_thumbnails",
    "render_html",
]

#: Longest side, in pixels, of the thumbnails of atypical images embedded in the page.
THUMBNAIL_MAX_SIDE: Final = 128
#: JPEG quality of those thumbnails.
THUMBNAIL_QUALITY: Final = 70
#: At most this many bad files of each side are listed in the page (the JSON keeps them all).
MAX_BAD_FILES_SHOWN: Final = 200

_VERDICT_WORDS: Final[dict[str, str]] = {
    "none": "No drift",
    "low": "Low drift",
    "medium": "Medium drift",
    "high": "High drift",
}
_STATUS_WORDS: Final[dict[str, str]] = {
    "drift": "drift",
    "negligible": "negligible",
    "insufficient_evidence": "insufficient evidence",
    "stable": "stable",
}


def _sort_key(value: float | None) -> str:
    """What the sorting script compares (empty sorts last)."""
    return "" if value is None or math.isnan(value) else repr(float(value))


def _change_text(m: MetricResult) -> str:
    text = fmt_signed(m.change)
    if m.relative_change is not None and math.isfinite(m.relative_change):
        text += f" ({fmt_signed(100.0 * m.relative_change)}%)"
    return text


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("visiondrift.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt_num
    env.filters["signed"] = fmt_signed
    env.filters["pvalue"] = fmt_p
    env.filters["share"] = fmt_share
    env.filters["sortkey"] = _sort_key
    env.filters["change"] = _change_text
    return env


def _script() -> tuple[Markup, str]:
    """The sorting script (from the package, not the data) and its CSP hash."""
    text = _environment().loader.get_source(_environment(), "sort.js")[0]  # type: ignore[union-attr]
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Markup(text), digest


def _config_rows(config: ReportSettings) -> list[tuple[str, str]]:
    rows = []
    for key, value in config.model_dump(mode="json").items():
        if key == "bands":
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        rows.append((str(key), text))
    return rows


def _bands(report: DriftReport) -> list[tuple[str, tuple[float, float, float], str]]:
    """(family, bands, effect unit) for every family in the report or its configuration."""
    seen: dict[str, tuple[tuple[float, float, float], str]] = {}
    for m in report.metrics:
        seen.setdefault(m.family, (m.bands, m.effect_unit))
    for family, bands in report.config.bands.items():
        seen.setdefault(family, (bands, ""))
    return [(family, bands, unit) for family, (bands, unit) in sorted(seen.items())]


def _data_uri(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _ordinal(level: str) -> str:
    """``"1"`` -> ``"1st"``, ``"50"`` -> ``"50th"`` (a percentile level)."""
    try:
        n = int(float(level))
    except ValueError:
        return level
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _confidence_context(report: DriftReport) -> dict[str, Any] | None:
    """The model-confidence charts' data, when both sides were profiled with a model."""
    base, cur = report.baseline.model, report.current.model
    if not base or not cur:
        return None
    context: dict[str, Any] = {"svg": None, "rows": [], "more": 0, "percentiles": []}
    b_counts, c_counts = base.confidence_histogram.counts, cur.confidence_histogram.counts
    if b_counts and len(b_counts) == len(c_counts) and (sum(b_counts) or sum(c_counts)):
        title = "Model confidence: share of images per top-1 probability, baseline vs current"
        context["svg"] = _charts.confidence_histogram_svg(
            b_counts, c_counts, title, chart_id="confidence-histogram"
        )
    bp, cp = base.confidence_percentiles, cur.confidence_percentiles
    levels = sorted((k for k in bp if k in cp), key=lambda k: float(k))
    context["percentiles"] = [(_ordinal(k), bp[k], cp[k]) for k in levels]
    bc, cc = base.confidence_per_class, cur.confidence_per_class
    context["rows"], context["more"] = _charts.confidence_rows(bc, cc)
    context["bars"] = (
        _charts.class_confidence_svg(
            context["rows"],
            "Mean top-1 confidence per predicted class, baseline vs current",
            chart_id="class-confidence-chart",
        )
        if context["rows"]
        else None
    )
    context["baseline"], context["current"] = base, cur
    context["metric"] = next((m for m in report.metrics if m.name == "confidence"), None)
    if context["svg"] is None and not context["rows"] and not levels:
        return None
    return context


def _value_text(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return fmt_share(value) if unit.startswith("share of") else fmt_num(value)


def _history_context(report: DriftReport, trends: Sequence[TrendSeries]) -> dict[str, Any]:
    """The history section's charts, sentences and tables (see :func:`select_trends`)."""
    chosen = select_trends(trends, report)
    charts = []
    for i, series in enumerate(chosen):
        current = next((p for p in series.points if p.current), series.points[-1])
        rows = [
            {
                "point": p,
                "when": p.ran_at.strftime("%Y-%m-%d %H:%M"),
                "value": _value_text(p.value, series.unit),
            }
            for p in series.points
        ]
        title = (
            f"{series.label}: effect size against the baseline over the last "
            f"{len(series.points)} runs, on its severity bands"
        )
        charts.append(
            {
                "series": series,
                "sentence": describe_trend(series),
                "current": current,
                "rows": rows,
                "svg": _charts.trend_chart_svg(series, title, chart_id=f"trend-{i}"),
            }
        )
    datasets = sorted({s.dataset for s in trends if s.dataset is not None})
    return {
        "charts": charts,
        "datasets": datasets,
        "n_runs": max((len(s.points) for s in chosen), default=0),
        "colours": _charts.SEVERITY_COLOURS,
    }


def render_html(
    report: DriftReport,
    *,
    thumbnails: Mapping[str, bytes] | None = None,
    trends: Sequence[TrendSeries] | None = None,
) -> str:
    """Render a drift report as one self-contained HTML page.

    Parameters
    ----------
    report
        The report to show.
    thumbnails
        JPEG bytes of atypical current images, by image name (as in
        ``report.atypical_images``); images without one are listed by name only. ``None`` shows
        names only (for example when thumbnails are turned off for privacy).
    trends
        The dataset's metrics over its last runs, from the history store. When there are any,
        the page gains a "History" section: the headline metrics and every metric that drifted
        in this report (:func:`~visiondrift.report.select_trends`), each as a small chart of
        its effect size on its severity bands with this run marked, a sentence
        (:func:`~visiondrift.report.describe_trend`) and a table of its numbers. ``None`` or
        an empty sequence: no history section (the page is the same as without the argument).

    Returns
    -------
    The page, as text; it makes no network request when opened.
    """
    script, script_hash = _script()
    thumbs = thumbnails or {}
    mixes = []
    for title, heading, attr, metric_name in (
        ("Classes", "Class", "labels", "label_mix"),
        ("File formats", "File format", "formats", "format_mix"),
        ("Colour modes", "Colour mode", "modes", "mode_mix"),
    ):
        base_counts: dict[str, int] = getattr(report.baseline, attr)
        cur_counts: dict[str, int] = getattr(report.current, attr)
        if base_counts or cur_counts:
            rows, more = _charts.mix_rows(base_counts, cur_counts)
            metric = next((m for m in report.metrics if m.name == metric_name), None)
            svg = _charts.mix_chart_svg(
                rows, f"{title}: share of images, baseline vs current", chart_id=f"mix-{attr}"
            )
            mixes.append(
                {
                    "title": title,
                    "heading": heading,
                    "rows": rows,
                    "more": more,
                    "metric": metric,
                    "svg": svg,
                }
            )
    channels: list[dict[str, Any]] = []
    names = {"r": "Red", "g": "Green", "b": "Blue", "l": "Luminance"}
    for key, counts in report.baseline.channels.items():
        current = report.current.channels.get(key)
        if not current or len(current) != len(counts):
            continue
        title = f"{names.get(key, key)} channel: share of pixels per value, baseline vs current"
        channels.append(
            {
                "key": key,
                "name": names.get(key, key),
                "svg": _charts.histogram_svg(
                    key, counts, current, title, chart_id=f"histogram-{len(channels)}"
                ),
                "colour": _charts.CHANNEL_COLOURS.get(key, "#37474f"),
            }
        )
    confidence = _confidence_context(report)
    effects = _charts.effect_bars(report.metrics)
    bad_reasons = sorted(set(report.baseline.bad_counts) | set(report.current.bad_counts))
    context = {
        "r": report,
        "verdict_word": (
            "Insufficient evidence"
            if report.status == "insufficient_evidence" and report.severity == "none"
            else _VERDICT_WORDS[report.severity]
        ),
        "verdict_class": (
            "insufficient"
            if report.status == "insufficient_evidence" and report.severity == "none"
            else report.severity
        ),
        "status_words": _STATUS_WORDS,
        "severities": SEVERITIES,
        "metrics": report.metrics,
        "effects": effects,
        "effect_svg": _charts.effect_chart_svg(
            effects,
            "Effect size of each metric against its own severity bands",
            chart_id="effect-chart-svg",
        )
        if effects
        else None,
        "channels": channels,
        "mixes": mixes,
        "confidence": confidence,
        "distributions": _charts.distribution_charts(report.metrics),
        "bad_reasons": bad_reasons,
        "max_bad": MAX_BAD_FILES_SHOWN,
        "atypical": [
            {"image": a, "src": _data_uri(thumbs[a.name]) if a.name in thumbs else None}
            for a in report.atypical_images
        ],
        "thumbnails_on": thumbnails is not None,
        "bands": _bands(report),
        "config_rows": _config_rows(report.config),
        "script": script,
        "script_hash": script_hash,
        "history": _history_context(report, trends) if trends else None,
    }
    return _environment().get_template("page.html.j2").render(context)


def make_thumbnails(
    names: Iterable[str],
    image_root: str | os.PathLike[str],
    *,
    max_side: int = THUMBNAIL_MAX_SIDE,
    quality: int = THUMBNAIL_QUALITY,
    paths: Mapping[str, str] | None = None,
) -> dict[str, bytes]:
    """Small JPEG thumbnails of the images ``image_root / name``, by name.

    Files that are missing, unreadable, outside ``image_root`` (a name with ``..``) or larger
    than Pillow's decompression-bomb limit are skipped.

    Parameters
    ----------
    names
        Image names relative to ``image_root``, as in ``report.atypical_images``.
    image_root
        The folder the names are relative to (the current data's folder).
    max_side
        Longest side of a thumbnail, in pixels.
    quality
        JPEG quality of the thumbnails.
    paths
        The file of each name, when names are not paths (keyed hashes, see
        :func:`visiondrift.names.thumbnail_paths`); names it lacks are skipped.
    """
    from PIL import Image, ImageOps

    root = Path(image_root).resolve()
    out: dict[str, bytes] = {}
    for name in names:
        if paths is not None and name not in paths:
            continue
        path = (root / name if paths is None else Path(paths[name])).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    image.draft("RGB", (max_side * 2, max_side * 2))
                    small = ImageOps.exif_transpose(image).convert("RGB")
                    small.thumbnail((max_side, max_side))
                    buffer = io.BytesIO()
                    small.save(buffer, format="JPEG", quality=quality, optimize=True)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
            continue
        out[name] = buffer.getvalue()
    return out


def generate_html_report(
    report: DriftReport | Mapping[str, Any] | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    image_root: str | os.PathLike[str] | None = None,
    thumbnails: bool = True,
    names_key: NamesKey | bytes | None = None,
    trends: Sequence[TrendSeries] | None = None,
) -> Path:
    """Write a drift report as a self-contained HTML page, atomically.

    Parameters
    ----------
    report
        A :class:`~visiondrift.drift.DriftReport`, its JSON form as a mapping, or the path of a
        saved JSON report.
    path
        Where to write the page.
    image_root
        The folder of the current images; when given (and ``thumbnails`` is true), the atypical
        images are read from it and embedded as small thumbnails. Missing files are skipped.
    thumbnails
        ``False`` lists atypical images by name only and reads no image (for private data).
    names_key
        With a report whose names are keyed hashes (``names="hash"``), the same key: the files
        under ``image_root`` are hashed to find the atypical ones. Without it, or when names
        were dropped, the page has no thumbnails and says why; it never shows a file name.
    trends
        The dataset's metrics over its last runs, from the history store: the page gains a
        "History" section (see :func:`render_html`). ``None`` or empty: no such section.

    Returns
    -------
    The path written.
    """
    if isinstance(report, DriftReport):
        loaded = report
    elif isinstance(report, Mapping):
        loaded = DriftReport.from_dict(dict(report))
    else:
        loaded = DriftReport.load(report)
    thumbs: dict[str, bytes] | None = None
    if thumbnails and image_root is not None:
        policy = loaded.current.names
        key = NamesKey(names_key) if isinstance(names_key, bytes) else names_key
        paths = thumbnail_paths(image_root, policy, key)
        if policy == "keep" or paths is not None:
            atypical = (a.name for a in loaded.atypical_images)
            thumbs = make_thumbnails(atypical, image_root, paths=paths)
    return write_text_atomic(path, render_html(loaded, thumbnails=thumbs, trends=trends))
