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
    from visiondrift.alerts._model import (
        Alert,
        AlertEvent,
        Channel,
        Delivery,
        DeliveryError,
        PermanentDeliveryError,
        TransientDeliveryError,
    )

_LAZY: dict[str, str] = {
    "Alert": "visiondrift.alerts._model",
    "AlertEvent": "visiondrift.alerts._model",
    "Channel": "visiondrift.alerts._model",
    "Delivery": "visiondrift.alerts._model",
    "DeliveryError": "visiondrift.alerts._model",
    "PermanentDeliveryError": "visiondrift.alerts._model",
    "TransientDeliveryError": "visiondrift.alerts._model",
}

__all__ = [
    "Alert",
    "AlertEvent",
    "Channel",
    "Delivery",
    "DeliveryError",
    "PermanentDeliveryError",
    "TransientDeliveryError",
]

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
