"""A few lines of Markdown for a CI job summary or a chat message: verdict, reasons, top metrics.

Strings from the data (locations, labels, sentences) are escaped for Markdown *and* HTML,
because job summaries (GitHub's ``$GITHUB_STEP_SUMMARY``) render embedded HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Final

from visiondrift.drift import SEVERITIES, DriftReport
from visiondrift.drift.trends import TrendSeries
from visiondrift.report._format import fmt_num, fmt_p, fmt_signed
from visiondrift.report._trends import describe_trend, select_trends

__all__ = ["render_markdown"]

_ICONS: Final[dict[str, str]] = {
    "none": "✅",
    "low": "🟡",
    "medium": "🟠",
    "high": "🔴",
    "insufficient": "❔",
}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def _md(text: str) -> str:
    """Escape ``text`` so that it shows literally in Markdown and in HTML, on one line."""
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(flat, quote=False))


def _code(text: str) -> str:
    """``text`` as an inline code span (shown literally; backticks cannot close it)."""
    flat = " ".join(str(text).split()).replace("`", "'")
    return f"`{flat}`"


def render_markdown(
    report: DriftReport,
    *,
    max_metrics: int = 8,
    trends: Sequence[TrendSeries] | None = None,
) -> str:
    """A short Markdown summary of a drift report.

    Parameters
    ----------
    report
        The report to summarise.
    max_metrics
        At most this many metrics are listed: the drifted ones, most severe first, then those
        with an inconclusive large effect.
    trends
        The dataset's metrics over its last runs, from the history store. When there are any,
        the summary ends with a "History" section: one line per trend chosen by
        :func:`~visiondrift.report.select_trends`, the sentence of
        :func:`~visiondrift.report.describe_trend`. ``None`` or empty: no such section.

    Returns
    -------
    Markdown text: a verdict line, the explanations as a list, a table of the top metrics and,
    with trends, their history.
    """
    insufficient = report.status == "insufficient_evidence" and report.severity == "none"
    word = "Insufficient evidence" if insufficient else f"{report.severity.capitalize()} drift"
    if report.severity == "none" and not insufficient:
        word = "No drift"
    icon = _ICONS["insufficient" if insufficient else report.severity]
    lines = [
        f"### {icon} visiondrift: {word}",
        "",
        f"**{report.n_drifted} of {report.n_tests}** metrics drifted · "
        f"{report.current.n_images:,} current images ({_code(report.current.location)}) vs "
        f"{report.baseline.n_images:,} baseline images ({_code(report.baseline.location)}) · "
        f"α = {report.alpha}, {report.correction} correction",
    ]
    if report.current.n_bad:
        lines.append("")
        lines.append(
            f"{report.current.n_bad} unusable current file(s) "
            f"({100.0 * report.current.bad_share:.1f}%)."
        )
    if report.explanations:
        lines.append("")
        lines.extend(f"- {_md(sentence)}" for sentence in report.explanations)
    slow = report.slow_drift
    if slow is not None and slow.drift_detected:
        lines += [
            "",
            f"**Slow drift across runs:** {_md(slow.explanation)}",
        ]
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    top = [m for m in report.metrics if m.status in ("drift", "insufficient_evidence")]
    top.sort(key=lambda m: (m.status != "drift", -rank[m.severity], -abs(m.effect_size)))
    if top:
        lines += [
            "",
            "| Metric | Baseline | Current | Change | Effect | Adj. p | Severity |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for m in top[:max_metrics]:
            severity = m.severity if m.status == "drift" else f"{m.severity} (inconclusive)"
            lines.append(
                f"| {_md(m.label)} | {fmt_num(m.baseline)} | {fmt_num(m.current)} | "
                f"{fmt_signed(m.change)} | {fmt_num(m.effect_size)} | {fmt_p(m.p_adjusted)} | "
                f"{severity} |"
            )
        if len(top) > max_metrics:
            lines.append("")
            lines.append(f"…and {len(top) - max_metrics} more in the full report.")
    if trends:
        lines += ["", "#### History", ""]
        chosen = select_trends(trends, report)
        lines.extend(f"- {_md(describe_trend(s))}" for s in chosen)
        if not chosen:
            lines.append(
                "Fewer than two stored runs of each metric: trends appear from the second run."
            )
    return "\n".join(lines) + "\n"
