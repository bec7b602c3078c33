"""Reports for people: a self-contained HTML page and a short Markdown summary.

The JSON form of a report is :meth:`visiondrift.drift.DriftReport.save`; this package renders it::

    from visiondrift.report import generate_html_report, render_markdown
    generate_html_report(report, "drift.html", image_root="data/prod")
    print(render_markdown(report))
"""

from __future__ import annotations

from visiondrift.report.html import generate_html_report, make_thumbnails, render_html
from visiondrift.report.markdown import render_markdown

__all__ = ["generate_html_report", "make_thumbnails", "render_html", "render_markdown"]
