"""The sinks a front end adds from the settings: the registered ones and the ``[alerts]`` sink,
after the history store; and the monitor that ``watch`` and the service run with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from visiondrift.app._monitor import Monitor
    from visiondrift.app._sinks import Sink
    from visiondrift.settings import Settings
    from visiondrift.store import HistoryStore

__all__ = ["alert_sink_from_settings", "monitor_from_settings", "sinks_from_settings"]


def alert_sink_from_settings(settings: Settings, history: HistoryStore | None) -> Sink | None:
    """The :class:`~visiondrift.alerts._sink.AlertSink` of the settings, or ``None`` when
    ``alerts.enabled`` is false or no routing rule is set (nothing would be sent).

    Give it the run's history store: the alerts go through its outbox. Without one the sink is
    still returned, and says at each run that nothing can be sent (rather than silently
    dropping what the settings ask for). Add it after the history sink, so that a run is
    recorded before anyone is told of it::

        history = history_from_settings(settings.store)
        sink = alert_sink_from_settings(settings, history)
        Monitor(baseline, history=history, sinks=[sink] if sink else [])
    """
    from visiondrift.alerts._sink import AlertSink

    alerts = settings.alerts
    if not alerts.enabled or not alerts.routes:
        return None
    return AlertSink(history, alerts)


def sinks_from_settings(
    settings: Settings, history: HistoryStore | None, *, alerts: bool = True
) -> list[Sink]:
    """The sinks of a run besides the history (which :class:`Monitor` puts first): the
    registered sink factories', then, unless ``alerts`` is false, the alert sink of the settings
    (:func:`alert_sink_from_settings`). What ``monitor`` and ``watch`` both run with."""
    from visiondrift.app._sinks import build_sinks

    sinks = build_sinks()
    sink = alert_sink_from_settings(settings, history) if alerts else None
    return sinks if sink is None else [*sinks, sink]


def monitor_from_settings(
    baseline: Any,
    settings: Settings,
    store: HistoryStore,
    *,
    sinks: Sequence[Sink] = (),
    alerts: bool = True,
    model: Any = None,
    executor: Any = None,
) -> Monitor:
    """The monitor a long-running front end (``watch``, the service) runs: the ``[drift]``
    settings, the history ``store`` (trends, slow drift, the run's record), the sinks of
    :func:`sinks_from_settings` (the alerts unless ``alerts`` is false), then ``sinks``."""
    from visiondrift.app._monitor import Monitor

    return Monitor(
        baseline,
        config=settings.drift.to_config(),
        history=store,
        keep_profiles=settings.store.keep_profiles,
        trend_runs=settings.store.trend_runs,
        sinks=[*sinks_from_settings(settings, store, alerts=alerts), *sinks],
        model=model,
        executor=executor,
    )
