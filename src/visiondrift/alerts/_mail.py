"""The two bodies of an alert mail: plain text (the Markdown summary) and a small HTML page.

Every string from the data is escaped in the HTML; the run's file paths appear only with
``alerts.include_paths``.
"""

from __future__ import annotations

from html import escape
from typing import Final

from visiondrift.alerts._model import Alert

__all__ = ["html_body", "text_body"]

_COLOURS: Final[dict[str, str]] = {
    "high": "#b42318",
    "medium": "#b54708",
    "low": "#a16207",
    "none": "#067647",
}


def _counts_line(alert: Alert) -> str:
    counts = alert.counts
    return (
        f"{counts.get('images', 0):,} images, {counts.get('bad', 0):,} unusable; "
        f"{counts.get('drifted', 0)} of {counts.get('tests', 0)} tests drifted"
    )


def text_body(alert: Alert, *, include_paths: bool = False) -> str:
    """The text part: the title, the Markdown summary (or the explanations), the link."""
    lines = [alert.title, ""]
    if alert.summary:
        lines.append(alert.summary.rstrip())
    else:
        lines += [f"- {sentence}" for sentence in alert.explanations]
        lines += ["", _counts_line(alert)]
    if alert.report_url:
        lines += ["", f"Report: {alert.report_url}"]
    elif alert.report_name:
        lines += ["", f"Report: {alert.report_name}"]
    if include_paths and alert.files:
        lines += ["", "Files:"] + [f"- {kind}: {path}" for kind, path in alert.files.items()]
    if alert.run_id:
        lines += ["", f"Run {alert.run_id}"]
    return "\n".join(lines) + "\n"


def html_body(alert: Alert, *, include_paths: bool = False) -> str:
    """The HTML part: title, severity, explanations, counts, drifted metrics, the link."""
    colour = _COLOURS.get(alert.severity, "#344054")
    parts = [
        '<!doctype html><html><body style="font-family: sans-serif; color: #101828">',
        f'<h2 style="color: {colour}">{escape(alert.title)}</h2>',
        f"<p><strong>Severity:</strong> {escape(alert.severity)}"
        f" &middot; <strong>Status:</strong> {escape(alert.status)}</p>",
    ]
    if alert.explanations:
        items = "".join(f"<li>{escape(s)}</li>" for s in alert.explanations)
        parts.append(f"<ul>{items}</ul>")
    parts.append(f"<p>{escape(_counts_line(alert))}</p>")
    if alert.metrics:
        rows = "".join(
            "<tr>"
            f"<td>{escape(str(m.get('label', m.get('name', ''))))}</td>"
            f"<td>{escape(str(m.get('severity', '')))}</td>"
            f"<td>{_num(m.get('effect_size'))} {escape(str(m.get('effect_unit', '')))}</td>"
            f"<td>{_num(m.get('p_adjusted'))}</td>"
            "</tr>"
            for m in alert.metrics
        )
        parts.append(
            '<table cellpadding="4" style="border-collapse: collapse">'
            '<tr><th align="left">Metric</th><th align="left">Severity</th>'
            '<th align="left">Effect</th><th align="left">Adj. p</th></tr>'
            f"{rows}</table>"
        )
    if alert.report_url:
        url = escape(alert.report_url, quote=True)
        parts.append(f'<p><a href="{url}">Open the report</a></p>')
    elif alert.report_name:
        parts.append(f"<p>Report: {escape(alert.report_name)}</p>")
    if include_paths and alert.files:
        items = "".join(
            f"<li>{escape(kind)}: <code>{escape(path)}</code></li>"
            for kind, path in alert.files.items()
        )
        parts.append(f"<ul>{items}</ul>")
    if alert.run_id:
        parts.append(f'<p style="color: #667085">Run {escape(alert.run_id)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _num(value: object) -> str:
    if isinstance(value, int | float):
        return escape(f"{value:.3g}")
    return "–"
