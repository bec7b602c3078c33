"""What the HTTP channels send: the JSON bodies and the webhook signature.

The webhook's body has the schema ``visiondrift.alert/1`` (:func:`alert_payload`); a retraining
trigger tells ten keys (:func:`retrain_payload`); Slack gets Block Kit (:func:`slack_payload`),
PagerDuty an Events API v2 event (:func:`pagerduty_payload`). Signed requests carry
``X-Visiondrift-Timestamp`` and ``X-Visiondrift-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<body>">``; receivers check them with :func:`verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any, Final

from visiondrift.alerts._model import Alert

__all__ = [
    "ALERT_SCHEMA",
    "PAGERDUTY_SEVERITIES",
    "RETRAIN_SCHEMA",
    "SIGNATURE_TOLERANCE",
    "alert_payload",
    "dumps",
    "pagerduty_payload",
    "retrain_payload",
    "sign",
    "slack_payload",
    "verify_signature",
]

#: The ``schema`` of the webhook's JSON body.
ALERT_SCHEMA: Final = "visiondrift.alert/1"
#: The ``schema`` of the retraining trigger's own JSON body (format ``visiondrift``).
RETRAIN_SCHEMA: Final = "visiondrift.retrain/1"
#: PagerDuty's severity for each visiondrift severity.
PAGERDUTY_SEVERITIES: Final[dict[str, str]] = {
    "high": "critical",
    "medium": "error",
    "low": "warning",
    "none": "info",
}
#: Seconds a signature's timestamp may differ from the receiver's clock (replay protection).
SIGNATURE_TOLERANCE: Final = 300
#: Slack's limits on a header block's and a section's text.
_SLACK_HEADER: Final = 150
_SLACK_TEXT: Final = 3000
_VERDICTS: Final[dict[str, str]] = {
    "drift": "Drift",
    "no_drift": "No drift",
    "insufficient_evidence": "Insufficient evidence",
}


# ------------------------------------------------------------------------------ signatures


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The ``X-Visiondrift-Signature`` value: ``sha256=`` + the hex HMAC-SHA256 of
    ``"<timestamp>.<body>"`` keyed with ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_signature(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: float = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a received webhook (or retraining trigger) was signed with ``secret`` recently.

    For receivers: pass the raw body bytes and the request's headers. The signature must match
    ``X-Visiondrift-Signature`` (compared in constant time) and ``X-Visiondrift-Timestamp`` must
    be within ``tolerance`` seconds of ``now`` (default: the clock), so a captured request
    cannot be replayed later.

    Examples
    --------
    >>> body = b'{"schema": "visiondrift.alert/1"}'
    >>> headers = {"X-Visiondrift-Timestamp": "1700000000",
    ...            "X-Visiondrift-Signature": sign(body, "s3cret", 1700000000)}
    >>> verify_signature(body, headers, "s3cret", now=1700000010)
    True
    >>> verify_signature(body, headers, "s3cret", now=1700009999)  # a replay, hours later
    False
    >>> verify_signature(body + b" ", headers, "s3cret", now=1700000010)
    False
    """
    stamp = _header(headers, "X-Visiondrift-Timestamp")
    given = _header(headers, "X-Visiondrift-Signature")
    if not stamp or not given:
        return False
    try:
        timestamp = int(stamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(body, secret, timestamp)
    return any(
        hmac.compare_digest(expected.encode(), part.strip().encode()) for part in given.split(",")
    )


# ---------------------------------------------------------------------------- the payloads


def _window(alert: Alert) -> dict[str, str] | None:
    return None if alert.window is None else {"start": alert.window[0], "end": alert.window[1]}


def alert_payload(alert: Alert, *, include_paths: bool = False) -> dict[str, Any]:
    """The webhook's JSON body (schema ``visiondrift.alert/1``); ``files`` (the run's file
    paths) only with ``include_paths``."""
    body: dict[str, Any] = {
        "schema": ALERT_SCHEMA,
        "id": alert.alert_id,
        "event": alert.event,
        "channel": alert.channel,
        "dataset": alert.dataset,
        "run_id": alert.run_id,
        "severity": alert.severity,
        "previous_severity": alert.previous_severity,
        "status": alert.status,
        "slow_drift": alert.slow_drift,
        "title": alert.title,
        "explanations": list(alert.explanations),
        "counts": dict(alert.counts),
        "families": list(alert.families),
        "metrics": [dict(m) for m in alert.metrics],
        "window": _window(alert),
        "baseline": dict(alert.baseline),
        "report": {"name": alert.report_name, "url": alert.report_url},
        "summary": alert.summary,
        "created_at": alert.created_at,
    }
    if include_paths:
        body["files"] = dict(alert.files)
    return body


def retrain_payload(alert: Alert) -> dict[str, Any]:
    """What a retraining pipeline is told (ten top-level keys: GitHub's limit for a
    ``client_payload``)."""
    return {
        "id": alert.alert_id,
        "event": alert.event,
        "dataset": alert.dataset,
        "run_id": alert.run_id,
        "severity": alert.severity,
        "priority": alert.priority,
        "families": list(alert.families),
        "window": _window(alert),
        "baseline": dict(alert.baseline),
        "report": alert.report_url or alert.report_name,
    }


def dumps(data: Any) -> bytes:
    """JSON bytes as sent (UTF-8, compact): what a signature covers."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def slack_payload(alert: Alert) -> dict[str, Any]:
    """The JSON posted to a Slack incoming webhook: Block Kit blocks (header, verdict and
    severity, the top three explanations, counts, a button to the report) and a ``text``
    fallback for notifications."""
    verdict = _VERDICTS.get(alert.status, alert.status)
    if alert.event == "resolve":
        verdict = "Back to normal"
    elif alert.event == "test":
        verdict = "Test message"
    elif alert.slow_drift and alert.status != "drift":
        verdict = "Slow drift across runs"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": alert.title[:_SLACK_HEADER]},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Verdict*\n{verdict}"},
                {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
            ],
        },
    ]
    if alert.explanations:
        text = "\n".join(f"• {_slack_escape(s)}" for s in alert.explanations[:3])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:_SLACK_TEXT]}})
    counts = alert.counts
    context = [
        f"{counts.get('images', 0):,} images",
        f"{counts.get('bad', 0):,} unusable",
        f"{counts.get('drifted', 0)} of {counts.get('tests', 0)} tests drifted",
    ]
    if alert.dataset:
        context.append(f"dataset {_slack_escape(alert.dataset)}")
    if alert.run_id:
        context.append(f"run {alert.run_id[:12]}")
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
    )
    if alert.report_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the report"},
                        "url": alert.report_url,
                    }
                ],
            }
        )
    fallback = _slack_escape(alert.title)
    if alert.explanations:
        fallback += ": " + _slack_escape(alert.explanations[0])
    if alert.report_url:
        fallback += f" <{alert.report_url}|report>"
    return {"text": fallback[:_SLACK_TEXT], "blocks": blocks}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pagerduty_payload(alert: Alert, routing_key: str, dedup_key: str) -> dict[str, Any]:
    """The Events API v2 event: ``trigger`` (with the summary, severity, component and
    details) or ``resolve`` (only the keys)."""
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if alert.event == "resolve" else "trigger",
        "dedup_key": dedup_key,
    }
    if alert.event == "resolve":
        return event
    event["payload"] = {
        "summary": alert.title[:1024],
        "source": "visiondrift",
        "severity": PAGERDUTY_SEVERITIES.get(alert.severity, "warning"),
        "component": alert.dataset or "unnamed",
        "class": "test" if alert.event == "test" else "drift",
        "custom_details": {
            "explanations": list(alert.explanations),
            "counts": dict(alert.counts),
            "families": list(alert.families),
            "run_id": alert.run_id,
            "status": alert.status,
            "slow_drift": alert.slow_drift,
            "report": alert.report_url or alert.report_name,
        },
    }
    event["client"] = "visiondrift"
    if alert.report_url:
        event["client_url"] = alert.report_url
        event["links"] = [{"href": alert.report_url, "text": "Drift report"}]
    return event
