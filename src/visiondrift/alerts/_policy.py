"""Cooldown and de-duplication: whether one channel is told of one run, and what it then knows.

Pure (no I/O, no clock): :func:`decide` takes what the channel was last told about the dataset
(a :class:`~visiondrift.store._outbox.AlertState`, or ``None``), the run's effective severity,
whether the routing rules send the run to the channel, and the time; it returns a
:class:`Decision`. The rules, per (dataset, channel):

- a drifted run (severity ``low``, ``medium`` or ``high``) that is routed to the channel:
  ``trigger`` when the channel was told nothing or that the dataset was clean; ``trigger`` when
  the severity is higher than what the channel was told (a rise is always sent); ``trigger``
  when the cooldown has passed since the last alert; otherwise ``suppressed`` (kept in the
  outbox for ``alerts list``, not sent), also when the severity fell but the dataset still
  drifts;
- a drifted run that is not routed to the channel: nothing (what it was told stands);
- a clean run (severity ``none``: no drift and no slow drift) of a dataset the channel was told
  was drifting: ``resolve`` when the channel's ``resolve`` is on, otherwise its state is cleared
  silently; a clean run of a clean dataset: nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from visiondrift.store._outbox import AlertState

__all__ = ["SEVERITY_ORDER", "Decision", "decide", "next_state", "rank"]

#: Severities from the weakest: a clean run is ``none``.
SEVERITY_ORDER: Final = ("none", "low", "medium", "high")


def rank(severity: str) -> int:
    """The position of ``severity`` in :data:`SEVERITY_ORDER` (an unknown one counts as none)."""
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else 0


@dataclass(frozen=True)
class Decision:
    """What to do for one channel about one run.

    Attributes
    ----------
    action
        ``trigger`` or ``resolve`` (queue an alert to send), ``suppress`` (queue one with status
        ``suppressed``, never sent), ``clear`` (send nothing, but note the dataset is clean),
        ``skip`` (nothing at all).
    reason
        Why, in words (logged and shown by ``alerts list`` through the alert's state).
    previous_severity
        What the channel was last told, when it was told of drift.
    """

    action: Literal["trigger", "resolve", "suppress", "clear", "skip"]
    reason: str
    previous_severity: str | None = None

    @property
    def queued(self) -> bool:
        """Whether an alert is made (sent or suppressed)."""
        return self.action in ("trigger", "resolve", "suppress")


def decide(
    told: AlertState | None,
    *,
    severity: str,
    routed: bool,
    cooldown: float,
    resolve: bool,
    now: datetime,
) -> Decision:
    """Whether a channel is told of a run (see the module's rules).

    Parameters
    ----------
    told
        What the channel was last told about the run's dataset (``None``: nothing yet).
    severity
        The run's effective severity: ``none`` for a clean run, else ``low``, ``medium`` or
        ``high`` (``low`` for slow drift alone).
    routed
        Whether the routing rules send this run to the channel.
    cooldown
        Seconds during which the same state is not re-sent.
    resolve
        Whether the channel wants "resolved" messages.
    now
        The time of the decision.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 11, 30, tzinfo=UTC)
    >>> decide(None, severity="high", routed=True, cooldown=60, resolve=True, now=now).action
    'trigger'
    """
    firing = told is not None and told.state == "firing"
    before = told.severity if told is not None and firing else None
    if severity == "none" or rank(severity) == 0:
        if not firing:
            return Decision("skip", "the dataset is clean and the channel was not told otherwise")
        if resolve:
            return Decision("resolve", "the dataset came back clean", before)
        return Decision("clear", "the dataset came back clean; the channel takes no resolve")
    if not routed:
        return Decision("skip", f"no routing rule sends a {severity} run to this channel", before)
    if told is None or not firing:
        return Decision("trigger", f"the dataset drifted ({severity})", before)
    if rank(severity) > rank(told.severity):
        return Decision("trigger", f"the severity rose from {told.severity} to {severity}", before)
    last = told.last_sent_at or told.since
    waited = (now - last).total_seconds()
    if waited >= cooldown:
        return Decision(
            "trigger",
            f"still drifting ({severity}); the cooldown of {cooldown:g} s has passed",
            before,
        )
    fell = ""
    if rank(severity) < rank(told.severity):
        fell = " (its severity fell, and it still drifts)"
    return Decision(
        "suppress",
        f"the channel was told of {told.severity} drift {waited:.0f} s ago, within the "
        f"cooldown of {cooldown:g} s{fell}",
        before,
    )


def next_state(
    told: AlertState | None,
    decision: Decision,
    *,
    dataset: str | None,
    channel: str,
    severity: str,
    now: datetime,
    alert_id: str | None,
    run_id: str | None,
) -> AlertState | None:
    """What the channel knows after ``decision`` (``None``: unchanged)."""
    from visiondrift.store._outbox import AlertState

    if decision.action == "trigger":
        keep_since = told is not None and told.state == "firing"
        return AlertState(
            dataset=dataset,
            channel=channel,
            state="firing",
            severity=severity,
            since=told.since if keep_since and told is not None else now,
            last_sent_at=now,
            last_alert_id=alert_id,
            last_run_id=run_id,
        )
    if decision.action in ("resolve", "clear"):
        sent = decision.action == "resolve"
        return AlertState(
            dataset=dataset,
            channel=channel,
            state="clear",
            severity="none",
            since=now,
            last_sent_at=now if sent else (told.last_sent_at if told is not None else None),
            last_alert_id=alert_id if sent else (told.last_alert_id if told else None),
            last_run_id=run_id,
        )
    return None
