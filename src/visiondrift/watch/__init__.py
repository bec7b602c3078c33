"""``watch``: run the monitor by itself, on an inbox of batches or on a schedule.

Owns batch discovery (a folder or fsspec prefix whose sub-folders are batches; complete after a
settle time or a marker file: :class:`Inbox`), the cron schedule (APScheduler's cron trigger:
:class:`Schedule`), the watcher that claims each batch in the history store so that it runs
exactly once, runs the monitor on it and stops cleanly on SIGTERM (:class:`Watcher`), and the
structured logs (:func:`watch_logging`). Each batch goes through
:class:`visiondrift.app.Monitor`; ``watch`` adds no second workflow.

May import: the application core and everything below it (app, alerts, store, settings,
errors), fsspec and APScheduler (lazily). Must not import: the CLI, the demo.
"""

from __future__ import annotations

import typing

from visiondrift._lazy import lazy_attributes as _lazy_attributes

if typing.TYPE_CHECKING:
    from visiondrift.watch._inbox import Batch, Inbox, batch_key
    from visiondrift.watch._logs import JsonFormatter, watch_logging
    from visiondrift.watch._runner import Outcome, Watcher
    from visiondrift.watch._schedule import Schedule, format_source

_LAZY: dict[str, str] = {
    "Batch": "visiondrift.watch._inbox",
    "Inbox": "visiondrift.watch._inbox",
    "JsonFormatter": "visiondrift.watch._logs",
    "Outcome": "visiondrift.watch._runner",
    "Schedule": "visiondrift.watch._schedule",
    "Watcher": "visiondrift.watch._runner",
    "batch_key": "visiondrift.watch._inbox",
    "format_source": "visiondrift.watch._schedule",
    "watch_logging": "visiondrift.watch._logs",
}

__all__ = [
    "Batch",
    "Inbox",
    "JsonFormatter",
    "Outcome",
    "Schedule",
    "Watcher",
    "batch_key",
    "format_source",
    "watch_logging",
]

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
