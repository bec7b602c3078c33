"""The application core: the monitor workflow, written once, that every front end calls.

Owns :class:`Monitor` (profile a batch with the baseline's settings, compare, write the files,
hand the result to every sink), :class:`RunResult`, the :class:`Sink` protocol and the registry of
sink factories that front ends use to build their sinks from the settings. The CLI, the
original-name layer (:mod:`visiondrift.compat`), the demo and (next) ``watch`` and the service
build a monitor and call it; none of them re-implements profile -> compare -> save -> notify.

May import: everything below it in the pipeline (sources, decode, measure, models, profiles,
profiler, drift, report, store). Must not import: the CLI, click, the demo.
"""

from __future__ import annotations

import typing

from visiondrift._lazy import lazy_attributes as _lazy_attributes

if typing.TYPE_CHECKING:
    from visiondrift.app._alerts import (
        alert_sink_from_settings,
        monitor_from_settings,
        sinks_from_settings,
    )
    from visiondrift.app._history import history_from_settings
    from visiondrift.app._inputs import open_batch, prediction_defaults
    from visiondrift.app._monitor import Monitor, Outputs, write_outputs
    from visiondrift.app._result import RunResult, SinkFailure
    from visiondrift.app._rolling import rolling_baseline
    from visiondrift.app._sinks import (
        CallbackSink,
        Sink,
        build_sinks,
        register_sink_factory,
        sink_factories,
    )

_LAZY: dict[str, str] = {
    "alert_sink_from_settings": "visiondrift.app._alerts",
    "CallbackSink": "visiondrift.app._sinks",
    "Monitor": "visiondrift.app._monitor",
    "Outputs": "visiondrift.app._monitor",
    "RunResult": "visiondrift.app._result",
    "Sink": "visiondrift.app._sinks",
    "SinkFailure": "visiondrift.app._result",
    "build_sinks": "visiondrift.app._sinks",
    "history_from_settings": "visiondrift.app._history",
    "monitor_from_settings": "visiondrift.app._alerts",
    "open_batch": "visiondrift.app._inputs",
    "prediction_defaults": "visiondrift.app._inputs",
    "register_sink_factory": "visiondrift.app._sinks",
    "rolling_baseline": "visiondrift.app._rolling",
    "sink_factories": "visiondrift.app._sinks",
    "sinks_from_settings": "visiondrift.app._alerts",
    "write_outputs": "visiondrift.app._monitor",
}

__all__ = [
    "CallbackSink",
    "Monitor",
    "Outputs",
    "RunResult",
    "Sink",
    "SinkFailure",
    "alert_sink_from_settings",
    "build_sinks",
    "history_from_settings",
    "monitor_from_settings",
    "open_batch",
    "prediction_defaults",
    "register_sink_factory",
    "rolling_baseline",
    "sink_factories",
    "sinks_from_settings",
    "write_outputs",
]

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
