"""The sinks a front end adds from the settings: the registered ones and the ``[alerts]`` sink,
after the history store."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.app._sinks import Sink
    from visiondrift.settings import Settings
    from visiondrift.store import HistoryStore

__all__ = ["alert_sink_from_settings", "sinks_from_settings"]


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
