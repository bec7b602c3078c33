"""The alert message made from a run: title, verdict, causes, counts, link, and nothing private.

:func:`build_alert` turns one :class:`visiondrift.app.RunResult` into the :class:`Alert` a channel
sends (and the outbox stores); :func:`test_alert` makes the clearly marked message of
``visiondrift alerts test``; :func:`effective_severity` is the severity alerting acts on (slow
drift across runs counts as ``low``).

File paths are private by default: the baseline's and the batch's locations are reduced to their
base names (in the summary too), and the run's files are named in message text only with
``alerts.include_paths``. The report is linked as ``alerts.base_url`` + its path under the
run's reports root (``watch --out``), else its file name.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from visiondrift.alerts._model import Alert, AlertEvent

if TYPE_CHECKING:
    from visiondrift.app import RunResult
    from visiondrift.drift import DriftReport
    from visiondrift.settings import AlertsSettings

__all__ = [
    "MAX_EXPLANATIONS",
    "MAX_METRICS",
    "PRIORITIES",
    "base_name",
    "build_alert",
    "effective_severity",
    "test_alert",
]

#: Explanations (causes) an alert carries, the report's first ones.
MAX_EXPLANATIONS: Final = 3
#: Drifted metrics an alert lists, strongest first.
MAX_METRICS: Final = 5
#: A retraining trigger's priority by severity: ``high`` retrain now, ``medium`` review first,
#: ``low`` keep watching.
PRIORITIES: Final[dict[str, str]] = {"high": "now", "medium": "review", "low": "watch"}


def effective_severity(report: DriftReport) -> str:
    """The severity alerting acts on: the report's when it found drift, ``low`` when only the
    slow-drift check across runs raised an alarm, else ``none``.

    Examples
    --------
    >>> from visiondrift.drift import DriftReport
    >>> effective_severity(DriftReport.model_construct(
    ...     overall_drift_detected=True, severity="high", slow_drift=None))
    'high'
    >>> effective_severity(DriftReport.model_construct(
    ...     overall_drift_detected=False, severity="none", slow_drift=None))
    'none'
    """
    if report.overall_drift_detected:
        return str(report.severity)
    slow = report.slow_drift
    if slow is not None and slow.drift_detected:
        return "low"
    return "none"


def base_name(location: str) -> str:
    """The last part of a path or URL (``s3://bucket/prod/20261129/`` -> ``20261129``).

    Examples
    --------
    >>> base_name("/data/prod/20261129/"), base_name("s3://b/x/baseline.json"), base_name("")
    ('20261129', 'baseline.json', '')
    """
    stripped = location.rstrip("/\\")
    for separator in ("/", "\\"):
        stripped = stripped.rsplit(separator, 1)[-1]
    return stripped or location


def _files_by_kind(files: tuple[Path, ...]) -> dict[str, str]:
    """The run's files by kind. The JSON report is the first ``.json`` file: the monitor writes
    the report before the batch profile (:func:`visiondrift.app.write_outputs`)."""
    kinds: dict[str, str] = {}
    for path in files:
        suffix = path.suffix.lower()
        kind = {".json": "report", ".html": "html", ".htm": "html", ".md": "markdown"}.get(suffix)
        if kind is not None and kind not in kinds:
            kinds[kind] = str(path)
    return kinds


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _metrics(report: DriftReport) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "name": m.name,
            "label": m.label,
            "family": m.family,
            "severity": m.severity,
            "p_adjusted": _number(m.p_adjusted),
            "effect_size": _number(m.effect_size),
            "effect_unit": m.effect_unit,
        }
        for m in report.drifted[:MAX_METRICS]
    )


def _families(report: DriftReport) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for metric in report.drifted:
        seen.setdefault(str(metric.family), None)
    return tuple(seen)


def _explanations(report: DriftReport) -> tuple[str, ...]:
    sentences = list(report.explanations)
    slow = report.slow_drift
    if slow is not None and slow.drift_detected:
        if not report.overall_drift_detected:
            sentences.insert(0, slow.explanation)  # slow drift alone: its sentence is the news
        elif slow.metric not in {m.name for m in report.drifted}:
            # After the batch's own changes; a slow drift of a metric this batch moved on its
            # own is that change seen again over the window, not news.
            sentences.append(slow.explanation)
    return tuple(sentences[:MAX_EXPLANATIONS])


def _summary(report: DriftReport, include_paths: bool) -> str:
    from visiondrift.report.markdown import render_markdown

    if not include_paths:
        report = report.model_copy(
            update={
                "baseline": report.baseline.model_copy(
                    update={"location": base_name(report.baseline.location)}
                ),
                "current": report.current.model_copy(
                    update={"location": base_name(report.current.location)}
                ),
            }
        )
    return render_markdown(report)


def _who(dataset: str | None) -> str:
    return f"dataset {dataset}" if dataset else "the batch"


def _title(event: AlertEvent, severity: str, dataset: str | None, previous: str | None) -> str:
    who = _who(dataset)
    if event == "resolve":
        return f"visiondrift: {who} is back to normal (no drift)"
    if severity == "none":
        return f"visiondrift: no drift in {who}"
    if previous not in (None, "none", severity):
        return f"visiondrift: {severity} drift in {who} (was {previous})"
    return f"visiondrift: {severity} drift in {who}"


def _report_link(
    files: dict[str, str], base_url: str | None, root: Path | None = None
) -> tuple[str | None, str | None]:
    """The report's name and link: the HTML page when the run wrote one (people open it), else
    the JSON report; its path under ``root`` (where the reports are published from) when it
    lies there, else its file name."""
    path = files.get("html") or files.get("report")
    if path is None:
        return None, None
    name = Path(path).name
    if root is not None:
        where, top = Path(path).resolve(), Path(root).resolve()
        if where.is_relative_to(top):
            name = where.relative_to(top).as_posix()
    if not base_url:
        return name, None
    return name, base_url.rstrip("/") + "/" + quote(name)


def build_alert(
    result: RunResult,
    *,
    channel: str,
    kind: str,
    event: AlertEvent,
    settings: AlertsSettings,
    previous_severity: str | None = None,
) -> Alert:
    """The alert telling ``channel`` what the run ``result`` found.

    Parameters
    ----------
    result
        The monitor's run.
    channel, kind
        The channel's name and kind (``retrain`` alerts carry a priority).
    event
        ``trigger`` (drift, a rise, or the cooldown passed) or ``resolve`` (clean again).
    settings
        The alerts settings: ``base_url`` (the report's link) and ``include_paths``.
    previous_severity
        What the channel was last told, if anything (the title says "was low").

    Returns
    -------
    The alert: no secret and, without ``include_paths``, no path but base names.
    """
    report = result.report
    severity = effective_severity(report)
    files = _files_by_kind(result.files)
    report_name, report_url = _report_link(files, settings.base_url, result.reports_root)
    from visiondrift.store import baseline_identity

    baseline = {
        "name": base_name(report.baseline.location),
        "hash": baseline_identity(report),
    }
    if settings.include_paths:
        baseline["location"] = report.baseline.location
    window = (
        (result.window[0].isoformat(), result.window[1].isoformat())
        if result.window is not None
        else None
    )
    slow = report.slow_drift
    return Alert(
        alert_id=uuid.uuid4().hex,
        event=event,
        channel=channel,
        kind=kind,
        dataset=result.dataset,
        run_id=result.run_id,
        severity=severity,
        previous_severity=previous_severity,
        status=report.status,
        title=_title(event, severity, result.dataset, previous_severity),
        explanations=_explanations(report) if event != "resolve" else (),
        counts={
            "images": report.current.n_images,
            "bad": report.current.n_bad,
            "tests": report.n_tests,
            "drifted": report.n_drifted,
        },
        families=_families(report),
        metrics=_metrics(report),
        window=window,
        baseline=baseline,
        report_name=report_name,
        report_url=report_url,
        files=files,
        summary=_summary(report, settings.include_paths),
        priority=PRIORITIES.get(severity) if kind == "retrain" else None,
        slow_drift=bool(slow is not None and slow.drift_detected),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def test_alert(channel: str, kind: str, settings: AlertsSettings) -> Alert:
    """The message of ``visiondrift alerts test CHANNEL``: clearly a test, about no dataset.

    A retraining trigger receives it too (``event`` is ``test``, priority ``watch``): a pipeline
    should start nothing for it.
    """
    del settings  # the same signature as build_alert's; a test links no report
    return Alert(
        alert_id=uuid.uuid4().hex,
        event="test",
        channel=channel,
        kind=kind,
        dataset=None,
        run_id=None,
        severity="none",
        previous_severity=None,
        status="no_drift",
        title=f"visiondrift: test message to the channel {channel} (nothing drifted)",
        explanations=(
            f"This is a test sent by 'visiondrift alerts test {channel}': the channel works.",
        ),
        counts={"images": 0, "bad": 0, "tests": 0, "drifted": 0},
        families=(),
        metrics=(),
        window=None,
        baseline={},
        report_name=None,
        report_url=None,
        files={},
        summary=(
            "### visiondrift: test message\n\n"
            f"Sent by `visiondrift alerts test {channel}`: if you read this, the channel "
            "works. Nothing drifted.\n"
        ),
        priority="watch" if kind == "retrain" else None,
        slow_drift=False,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


# pytest would collect a module-level function named test_* from a test module's imports.
test_alert.__test__ = False  # type: ignore[attr-defined]
