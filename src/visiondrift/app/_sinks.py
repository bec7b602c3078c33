"""Sinks: how a run reaches the world after it is done.

A sink is any object with a ``name`` and a ``handle(result)`` method (:class:`Sink`). The monitor
calls every sink after each run, in order; a sink that raises does not stop the others and does
not lose the run: the failure is recorded in :attr:`RunResult.failures` and logged. The history
store, the alert channels and the retraining trigger are sinks.

Front ends do not list sinks themselves: they call :func:`build_sinks` with the settings, and each
registered factory decides whether its sink is on. A new sink registers a factory here (or through
the ``visiondrift.sinks`` entry-point group) and no front end changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from visiondrift.errors import ConfigError

if TYPE_CHECKING:
    from visiondrift.app._result import RunResult

__all__ = ["CallbackSink", "Sink", "SinkFactory", "build_sinks", "register_sink_factory"]

#: Entry-point group through which installed packages add sink factories.
ENTRY_POINT_GROUP = "visiondrift.sinks"


@runtime_checkable
class Sink(Protocol):
    """Receives every finished run. ``handle`` may raise: the monitor records the failure."""

    @property
    def name(self) -> str: ...

    def handle(self, result: RunResult) -> None: ...


@dataclass(frozen=True)
class CallbackSink:
    """A sink that calls a function with each run's result."""

    name: str
    callback: Callable[[RunResult], None]

    def handle(self, result: RunResult) -> None:
        self.callback(result)


#: Builds a sink from the settings, or returns ``None`` when the settings leave it off.
SinkFactory = Callable[[Mapping[str, Any]], "Sink | None"]

_FACTORIES: dict[str, SinkFactory] = {}


def register_sink_factory(name: str, factory: SinkFactory, *, replace: bool = False) -> None:
    """Add a sink factory under ``name`` (built-ins register the same way)."""
    if not name or not isinstance(name, str):
        raise ConfigError(f"A sink factory needs a non-empty name. Got {name!r} instead.")
    if name in _FACTORIES and not replace:
        raise ConfigError(
            f"A sink factory named {name!r} is already registered; pass replace=True to replace it."
        )
    _FACTORIES[name] = factory


def unregister_sink_factory(name: str) -> None:
    """Remove the factory ``name`` (no error when it is not registered)."""
    _FACTORIES.pop(name, None)


def sink_factories() -> dict[str, SinkFactory]:
    """The registered factories, with those of installed packages' entry points."""
    factories = dict(_FACTORIES)
    for name, factory in installed_sink_factories():
        factories.setdefault(name, factory)
    return factories


@functools.cache
def installed_sink_factories() -> tuple[tuple[str, SinkFactory], ...]:
    """The factories of installed packages' entry points (group ``visiondrift.sinks``), looked
    up once per process: the lookup reads every installed package's metadata (20 ms here), and
    the service builds the sinks for each window it closes. After installing a package into a
    running process, ``installed_sink_factories.cache_clear()`` looks again."""
    return tuple((p.name, p.load()) for p in entry_points(group=ENTRY_POINT_GROUP))


def build_sinks(settings: Mapping[str, Any] | None = None) -> list[Sink]:
    """The sinks the settings turn on, in the order their factories were registered."""
    sinks: list[Sink] = []
    for name, factory in sink_factories().items():
        sink = factory(settings or {})
        if sink is None:
            continue
        if not isinstance(sink, Sink):
            raise ConfigError(
                f"The sink factory {name!r} returned {type(sink).__name__}, which has no "
                "'name' and 'handle(result)'."
            )
        sinks.append(sink)
    return sinks
