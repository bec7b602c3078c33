"""Reports for people: a self-contained HTML page and a short Markdown summary.

The JSON form of a report is :meth:`visiondrift.drift.DriftReport.save`; this package renders it::

    from visiondrift.report import generate_html_report, render_markdown
    generate_html_report(report, "drift.html", image_root="data/prod")
    print(render_markdown(report))

With the history store's trends of the dataset (:class:`visiondrift.drift.trends.TrendSeries`),
both gain a "History" section: ``generate_html_report(report, path, trends=series)`` and
``render_markdown(report, trends=series)``; :func:`select_trends` chooses what they show and
:func:`describe_trend` writes each trend's sentence.

Owns rendering only (jinja2 templates, matplotlib charts drawn as inline SVG, Markdown). May
import :mod:`visiondrift.drift` (the report it renders), :mod:`visiondrift.names` (thumbnails of
hashed names) and :mod:`visiondrift.decode` (thumbnails); nothing above it.
"""

from __future__ import annotations

import typing

from visiondrift._lazy import lazy_attributes as _lazy_attributes

if typing.TYPE_CHECKING:
    from visiondrift.report._trends import describe_trend, select_trends
    from visiondrift.report.html import generate_html_report, make_thumbnails, render_html
    from visiondrift.report.markdown import render_markdown

__all__ = [
    "describe_trend",
    "generate_html_report",
    "make_thumbnails",
    "render_html",
    "render_markdown",
    "select_trends",
]

# Imported on first use: the Markdown summary needs neither jinja2 nor the chart code.
_LAZY: dict[str, str] = {
    "describe_trend": "visiondrift.report._trends",
    "select_trends": "visiondrift.report._trends",
    "generate_html_report": "visiondrift.report.html",
    "make_thumbnails": "visiondrift.report.html",
    "render_html": "visiondrift.report.html",
    "render_markdown": "visiondrift.report.markdown",
}

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
