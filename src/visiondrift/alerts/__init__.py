"""Alerts: tell people and pipelines what a run found, once, and never lose the message.

Owns the alert message (:class:`Alert`), the channels (Slack, email, PagerDuty, webhook,
command, retraining trigger), the routing rules, cooldown and de-duplication per (dataset,
channel), and the :class:`AlertSink` that the monitor calls after each run: it writes each alert
to the store's outbox first, then delivers it with retries; what is still unsent is sent by the
next run or ``visiondrift alerts flush``. Secrets are references resolved at sending time.

May import: the standard library, httpx, :mod:`visiondrift.report` (the Markdown summary),
:mod:`visiondrift.store`, :mod:`visiondrift.drift`, settings and errors. Must not import: the
application core, the CLI, ``watch``.
"""

from __future__ import annotations

import typing

from visiondrift._lazy import lazy_attributes as _lazy_attributes

if typing.TYPE_CHECKING:
    from visiondrift.alerts._channels import (
        CommandChannel,
        PagerDutyChannel,
        RetrainChannel,
        SlackChannel,
        WebhookChannel,
        build_channel,
    )
    from visiondrift.alerts._deliver import DeliverySummary, deliver
    from visiondrift.alerts._email import EmailChannel
    from visiondrift.alerts._message import build_alert, effective_severity, test_alert
    from visiondrift.alerts._model import (
        Alert,
        AlertEvent,
        Channel,
        Delivery,
        DeliveryError,
        PermanentDeliveryError,
        TransientDeliveryError,
    )
    from visiondrift.alerts._payloads import (
        ALERT_SCHEMA,
        RETRAIN_SCHEMA,
        alert_payload,
        pagerduty_payload,
        retrain_payload,
        sign,
        slack_payload,
        verify_signature,
    )
    from visiondrift.alerts._policy import Decision, decide
    from visiondrift.alerts._routing import routes_for
    from visiondrift.alerts._secrets import (
        RedactingFilter,
        redact,
        remember_secret,
        resolve_secret,
    )
    from visiondrift.alerts._sink import AlertSink, build_channels

_LAZY: dict[str, str] = {
    "ALERT_SCHEMA": "visiondrift.alerts._payloads",
    "RETRAIN_SCHEMA": "visiondrift.alerts._payloads",
    "CommandChannel": "visiondrift.alerts._channels",
    "EmailChannel": "visiondrift.alerts._email",
    "PagerDutyChannel": "visiondrift.alerts._channels",
    "RetrainChannel": "visiondrift.alerts._channels",
    "SlackChannel": "visiondrift.alerts._channels",
    "WebhookChannel": "visiondrift.alerts._channels",
    "alert_payload": "visiondrift.alerts._payloads",
    "build_channel": "visiondrift.alerts._channels",
    "pagerduty_payload": "visiondrift.alerts._payloads",
    "slack_payload": "visiondrift.alerts._payloads",
    "retrain_payload": "visiondrift.alerts._payloads",
    "sign": "visiondrift.alerts._payloads",
    "verify_signature": "visiondrift.alerts._payloads",
    "build_alert": "visiondrift.alerts._message",
    "effective_severity": "visiondrift.alerts._message",
    "test_alert": "visiondrift.alerts._message",
    "RedactingFilter": "visiondrift.alerts._secrets",
    "redact": "visiondrift.alerts._secrets",
    "remember_secret": "visiondrift.alerts._secrets",
    "resolve_secret": "visiondrift.alerts._secrets",
    "Alert": "visiondrift.alerts._model",
    "AlertEvent": "visiondrift.alerts._model",
    "Channel": "visiondrift.alerts._model",
    "Delivery": "visiondrift.alerts._model",
    "DeliveryError": "visiondrift.alerts._model",
    "PermanentDeliveryError": "visiondrift.alerts._model",
    "TransientDeliveryError": "visiondrift.alerts._model",
    "DeliverySummary": "visiondrift.alerts._deliver",
    "deliver": "visiondrift.alerts._deliver",
    "Decision": "visiondrift.alerts._policy",
    "decide": "visiondrift.alerts._policy",
    "routes_for": "visiondrift.alerts._routing",
    "AlertSink": "visiondrift.alerts._sink",
    "build_channels": "visiondrift.alerts._sink",
}

__all__ = [
    "ALERT_SCHEMA",
    "RETRAIN_SCHEMA",
    "Alert",
    "AlertEvent",
    "AlertSink",
    "Channel",
    "CommandChannel",
    "Decision",
    "Delivery",
    "DeliveryError",
    "DeliverySummary",
    "EmailChannel",
    "PagerDutyChannel",
    "PermanentDeliveryError",
    "RedactingFilter",
    "RetrainChannel",
    "SlackChannel",
    "TransientDeliveryError",
    "WebhookChannel",
    "alert_payload",
    "build_alert",
    "build_channel",
    "build_channels",
    "decide",
    "deliver",
    "effective_severity",
    "pagerduty_payload",
    "redact",
    "remember_secret",
    "resolve_secret",
    "retrain_payload",
    "routes_for",
    "sign",
    "slack_payload",
    "test_alert",
    "verify_signature",
]

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
