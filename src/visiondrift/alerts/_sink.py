"""The alert sink: after each monitor run, route, decide, queue in the outbox, then deliver.

:class:`AlertSink` is the sink the monitor calls (after the history store). For each run it

1. finds the channels the routing rules send the run to (:mod:`visiondrift.alerts._routing`),
   and the channels that were told the dataset was drifting (they may get a "resolved");
2. decides per channel with the cooldown and de-duplication rules
   (:mod:`visiondrift.alerts._policy`): trigger, resolve, suppressed or nothing;
3. writes the alerts and the channels' new state to the outbox in one transaction;
4. delivers what is due (this run's alerts and older ones still pending) with
   :func:`visiondrift.alerts._deliver.deliver`.

A channel that fails never fails the run: its alerts wait in the outbox. Only a store that
cannot be written raises (the monitor records that as the sink's failure; the run is kept).
Without a history store there is no outbox: the sink says so (a warning) and sends nothing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from visiondrift.alerts._deliver import DeliverySummary, deliver, sender_id
from visiondrift.alerts._model import (
    Alert,
    AlertEvent,
    Channel,
    Delivery,
    PermanentDeliveryError,
)
from visiondrift.alerts._policy import Decision, decide, next_state
from visiondrift.alerts._routing import drifted_families, routes_for

if TYPE_CHECKING:
    from visiondrift.app import RunResult
    from visiondrift.settings import AlertsSettings
    from visiondrift.store import HistoryStore
    from visiondrift.store._outbox import AlertState, OutboxAlert

__all__ = ["AlertSink", "build_channels"]

logger = logging.getLogger("visiondrift.alerts")

#: What the sink says when there is no history store to keep the outbox in.
NO_STORE = (
    "Alerts are configured but the history store is off (store.enabled = false or "
    "--no-store): alerts go through the store's outbox, so none was sent for run {run}. Turn "
    "the store on, or turn alerts off with alerts.enabled = false or --no-alerts."
)


@dataclass(frozen=True)
class _Unusable:
    """A channel whose settings could not be turned into a channel: every send is rejected
    with the reason (so its alerts are reported once, not retried)."""

    name: str
    kind: str
    reason: str
    timeout: float = 1.0

    def send(self, alert: Alert) -> Delivery:
        raise PermanentDeliveryError(self.reason)


#: Loggers of the libraries the channels send through: their records can name a URL (httpx
#: logs each request's URL at INFO), so each gets a filter that masks the secrets. A filter on
#: a logger sees only records logged on that very logger, hence the children by name.
LIBRARY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.connection_pool",
)


def mask_library_logs() -> None:
    """Put a :class:`~visiondrift.alerts._secrets.RedactingFilter` on the loggers of the HTTP
    libraries (once): a URL holding a secret never reaches a log handler whole."""
    from visiondrift.alerts._secrets import RedactingFilter

    for name in LIBRARY_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


def build_channels(settings: AlertsSettings, names: Any = None) -> dict[str, Channel]:
    """The channels of the settings by name (``names``: only those), built with
    :func:`~visiondrift.alerts._channels.build_channel`; one that cannot be built is a channel
    that rejects its alerts with the reason. The HTTP libraries' logs are masked first
    (:func:`mask_library_logs`)."""
    from visiondrift.alerts._channels import build_channel

    mask_library_logs()
    out: dict[str, Channel] = {}
    for name, channel in settings.channels.items():
        if names is not None and name not in names:
            continue
        try:
            out[name] = build_channel(name, channel, settings)
        except Exception as err:  # a bad channel must not stop the others
            from visiondrift.alerts._deliver import _redact

            out[name] = _Unusable(
                name, channel.kind, _redact(f"the channel could not be set up: {err}")
            )
    return out


class AlertSink:
    """Tells the channels of the routing rules about each run, through the store's outbox.

    Parameters
    ----------
    store
        The history store whose outbox keeps the alerts; ``None``: nothing is sent (warned).
    settings
        The ``[alerts]`` settings: channels, routes, cooldown, retries.
    channels
        The channels by name (default: built from ``settings`` when first needed).
    clock, sleep, draw
        The time, the wait between retries and the jitter's random numbers (for tests).

    Attributes
    ----------
    last_summary
        What the last :meth:`handle` delivered (``None`` before, or without a store).
    last_decisions
        The last run's decision per channel (why each was, or was not, told).
    """

    name = "alerts"

    def __init__(
        self,
        store: HistoryStore | None,
        settings: AlertsSettings,
        channels: Mapping[str, Channel] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.settings = settings
        self._channels = dict(channels) if channels is not None else None
        self.clock = clock or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.draw = draw
        self.owner = sender_id()
        self.last_summary: DeliverySummary | None = None
        self.last_decisions: dict[str, Decision] = {}

    def __repr__(self) -> str:
        return f"AlertSink({self.store!r}, channels={sorted(self.settings.channels)})"

    @property
    def channels(self) -> dict[str, Channel]:
        """The channels by name (built from the settings on first use)."""
        if self._channels is None:
            self._channels = build_channels(self.settings)
        return self._channels

    # ------------------------------------------------------------ the sink
    def handle(self, result: RunResult) -> None:
        """Route, decide and queue ``result``'s alerts, then deliver what is due."""
        if self.store is None:
            logger.warning(NO_STORE.format(run=result.run_id))
            self.last_summary = None
            return
        outbox = self.store.outbox
        now = self.clock()
        alerts, states = self.plan(result, outbox.states(result.dataset), now)
        outbox.enqueue(alerts, states)
        suppressed = sum(1 for a in alerts if a.status == "suppressed")
        self.last_summary = self.flush(suppressed=suppressed)

    def flush(self, *, due_only: bool = True, suppressed: int = 0) -> DeliverySummary:
        """Deliver the outbox's due alerts (``due_only=False``: every pending one)."""
        if self.store is None:
            return DeliverySummary(problems=(NO_STORE.format(run="-"),))
        return deliver(
            self.store.outbox,
            self.channels,
            self.settings.retry,
            due_only=due_only,
            owner=self.owner,
            clock=self.clock,
            sleep=self.sleep,
            draw=self.draw,
            suppressed=suppressed,
        )

    # ------------------------------------------------------------ deciding
    def plan(
        self, result: RunResult, told: Mapping[str, AlertState], now: datetime
    ) -> tuple[list[OutboxAlert], list[AlertState]]:
        """The alerts to queue for ``result`` and the channels' new states (no I/O but
        building the messages)."""
        from visiondrift.alerts._message import build_alert, effective_severity
        from visiondrift.store._outbox import OutboxAlert

        settings = self.settings
        severity = effective_severity(result.report)
        routed = routes_for(
            settings,
            dataset=result.dataset,
            severity=severity,
            families=drifted_families(result.report),
        )
        firing = sorted(c for c, s in told.items() if s.state == "firing" and c not in routed)
        alerts: list[OutboxAlert] = []
        states: list[AlertState] = []
        self.last_decisions = {}
        for name in (*routed, *firing):
            channel = settings.channels.get(name)
            if channel is None:  # told once, since removed from the settings
                continue
            cooldown = settings.cooldown if channel.cooldown is None else channel.cooldown
            decision = decide(
                told.get(name),
                severity=severity,
                routed=name in routed,
                cooldown=cooldown,
                resolve=channel.resolve,
                now=now,
            )
            self.last_decisions[name] = decision
            alert_id = None
            if decision.queued:
                event: AlertEvent = "resolve" if decision.action == "resolve" else "trigger"
                alert = build_alert(
                    result,
                    channel=name,
                    kind=channel.kind,
                    event=event,
                    settings=settings,
                    previous_severity=decision.previous_severity,
                )
                alert_id = alert.alert_id
                suppressed = decision.action == "suppress"
                alerts.append(
                    OutboxAlert(
                        alert_id=alert.alert_id,
                        run_id=result.run_id,
                        dataset=result.dataset,
                        channel=name,
                        kind=channel.kind,
                        event=event,
                        severity=alert.severity,
                        status="suppressed" if suppressed else "pending",
                        attempts=0,
                        created_at=now,
                        payload=alert.to_json(),
                        response=f"suppressed: {decision.reason}" if suppressed else None,
                    )
                )
            logger.info(
                "Run %s, channel %r: %s (%s).",
                result.run_id,
                name,
                decision.action,
                decision.reason,
            )
            state = next_state(
                told.get(name),
                decision,
                dataset=result.dataset,
                channel=name,
                severity=severity,
                now=now,
                alert_id=alert_id,
                run_id=result.run_id,
            )
            if state is not None:
                states.append(state)
        return alerts, states
