"""What an alert is, as plain data: the message, a delivery's outcome, and a channel's contract.

An :class:`Alert` is everything a channel needs to tell one run's news (or a test, or that a
dataset came back clean), and nothing secret: it is stored in the outbox as it is, and the
channel's URL, keys and passwords are resolved from their references only when it is sent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "Alert",
    "AlertEvent",
    "Channel",
    "Delivery",
    "DeliveryError",
    "PermanentDeliveryError",
    "TransientDeliveryError",
]

#: ``trigger``: a dataset drifted (or its severity rose, or the cooldown passed);
#: ``resolve``: a dataset that had drifted came back clean; ``test``: ``alerts test``.
AlertEvent = Literal["trigger", "resolve", "test"]


@dataclass(frozen=True)
class Alert:
    """One message to one channel, as stored in the outbox.

    Attributes
    ----------
    alert_id
        Unique (hex); the outbox's key and the webhook's ``id``.
    event
        ``trigger``, ``resolve`` or ``test``.
    channel, kind
        The channel's name in the settings, and its kind (``slack``, ``email``...).
    dataset, run_id
        The run's dataset and id (``None`` for a test).
    severity
        The run's severity (``none`` for a resolve; ``low`` for a run whose only alarm is
        slow drift).
    previous_severity
        What the channel was last told (``None`` when it had been told nothing).
    status
        The report's status (``drift``, ``no_drift``, ``insufficient_evidence``).
    title
        One line: what happened, to whom.
    explanations
        The report's first (at most three) explanations: causes, not side effects.
    counts
        ``images``, ``bad``, ``tests``, ``drifted`` of the run.
    families
        The drifted metric families.
    metrics
        The drifted metrics, strongest first (at most five): ``name``, ``label``, ``severity``,
        ``p_adjusted``, ``effect_size``, ``effect_unit``.
    window
        The batch's ``(start, end)`` in ISO 8601, or ``None``.
    baseline
        The baseline's name (its dataset or the base name of its location) and content hash.
    report_name, report_url
        The report's file name and its link (``alerts.base_url`` + name), or ``None``.
    files
        The run's files by kind (``report``, ``html``, ``markdown``): for the email's attachment
        and the command's environment; named in message text only with
        ``alerts.include_paths``.
    summary
        The Markdown summary (the email's text part), paths reduced as above.
    priority
        Retrain only: ``now`` (high), ``review`` (medium), ``watch`` (low).
    slow_drift
        Whether the slow-drift check across runs raised an alarm.
    created_at
        When the alert was made (ISO 8601, UTC).
    """

    alert_id: str
    event: AlertEvent
    channel: str
    kind: str
    dataset: str | None
    run_id: str | None
    severity: str
    previous_severity: str | None
    status: str
    title: str
    explanations: tuple[str, ...]
    counts: dict[str, int]
    families: tuple[str, ...]
    metrics: tuple[dict[str, Any], ...]
    window: tuple[str, str] | None
    baseline: dict[str, str]
    report_name: str | None
    report_url: str | None
    files: dict[str, str] = field(default_factory=dict)
    summary: str | None = None
    priority: str | None = None
    slow_drift: bool = False
    created_at: str = ""

    def to_json(self) -> dict[str, Any]:
        """The alert as JSON data (what the outbox keeps)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        """The alert from :meth:`to_json`'s data."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("explanations", "families", "metrics"):
            values[key] = tuple(values.get(key) or ())
        if values.get("window") is not None:
            values["window"] = tuple(values["window"])
        return cls(**values)

    def dumps(self) -> str:
        """The alert as a JSON text."""
        return json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class Delivery:
    """What the receiver answered to a delivered alert.

    ``status`` is the HTTP status, the SMTP reply code or the command's exit code; ``answer``
    a short excerpt of the reply (at most 500 characters, secrets removed).
    """

    status: int
    answer: str = ""


class DeliveryError(Exception):
    """An alert was not delivered. ``answer`` is the receiver's reply, if any (secrets removed)."""

    def __init__(self, message: str, *, status: int | None = None, answer: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer


class TransientDeliveryError(DeliveryError):
    """A failure that may heal: a timeout, a refused connection, a 5xx, 408, 429, an SMTP 4xx.
    The alert stays in the outbox and is retried with backoff."""


class PermanentDeliveryError(DeliveryError):
    """A failure that will not heal by retrying: a 4xx (bad URL, 401, 403, 404), an SMTP 5xx,
    a missing secret, a program that does not exist. Reported once; the alert is ``rejected``."""


@runtime_checkable
class Channel(Protocol):
    """Sends alerts to one receiver. ``send`` returns the receiver's answer or raises a
    :class:`DeliveryError` (never anything else) within the channel's ``timeout``."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def timeout(self) -> float: ...

    def send(self, alert: Alert) -> Delivery: ...
