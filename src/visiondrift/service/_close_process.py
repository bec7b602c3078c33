"""Windows are closed in processes of their own, off the process that takes requests.

Closing a window (reading its records, building its profile, comparing it with the baseline,
recording the run and sending its alerts) is CPU-bound Python: in the server process it held
the interpreter lock a third of the time under load and doubled the requests' latency. Each
server process starts ``service.close_processes`` closing processes (spawned, so that no lock
of the server's threads is inherited; at the first close, not at start-up) that open the store
themselves and run at a lower CPU priority (niceness +:data:`NICENESS`): when the machine is
short of CPU, records keep being taken and verdicts come later, never the other way round.

The window's claim stays with the server process (its closer renews it while the closing
process works), so a closing process that dies is like a closer that dies: the claim is given
back and the window closed again. With ``close_processes = 0`` windows are closed in the
pool's threads of the server process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from visiondrift.service._closer import Closed, close_claimed

if TYPE_CHECKING:
    from visiondrift.profiles import Profile
    from visiondrift.settings import Settings
    from visiondrift.store import HistoryStore
    from visiondrift.store._windows import Window

__all__ = ["NICENESS", "Closers"]

logger = logging.getLogger("visiondrift.service")

#: How much lower a closing process's CPU priority is than the server's (``nice``).
NICENESS = 10

#: What a close imports, imported when a closing process starts: the first window's verdict
#: does not wait for them (scipy.stats alone is a second of CPU), and the collector's freeze
#: takes them out of its counts.
_CLOSE_MODULES = (
    "visiondrift.app._alerts",
    "visiondrift.app._monitor",
    "visiondrift.drift",
    "visiondrift.drift.slow",
    "visiondrift.profiles",
    "visiondrift.store._sink",
)


class Closers:
    """Where the windows of one server process are closed.

    Parameters
    ----------
    settings
        The settings tree (``service.close_processes`` processes; 0: in the calling thread).
    store
        The server's store; a closing process opens the same one.
    """

    def __init__(self, settings: Settings, store: HistoryStore) -> None:
        self.settings = settings
        self.store = store
        self.processes = settings.service.close_processes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._stopped = False

    def close(self, window: Window, owner: str, profile_of: Any) -> Closed:
        """Close ``window`` (claimed by ``owner``) and wait for the outcome; blocking (called
        from a pool thread). ``profile_of`` gives a baseline's profile in this process."""
        if self.processes == 0:
            return close_claimed(window, self.settings, self.store, owner, profile_of)
        executor = self._started()
        try:
            if executor is None:
                raise RuntimeError("stopping")
            return executor.submit(_close_in_child, window, owner).result()
        except BrokenProcessPool:
            # The closing process died (killed, out of memory): the window is closed again.
            with self._lock:
                if self._executor is executor:
                    self._executor = None
            assert executor is not None
            executor.shutdown(wait=False, cancel_futures=True)
            logger.warning(
                "The process closing window %s died; it is closed again.", window.window_id
            )
            reason = "the process closing it died"
        except RuntimeError:  # stopping (BrokenProcessPool is a RuntimeError too: caught above)
            reason = "the service stopped before it was closed"
        with contextlib.suppress(Exception):
            self.store.windows.release(window.window_id, owner)
        return Closed(window.window_id, "retry", reason=reason)

    def _started(self) -> ProcessPoolExecutor | None:
        """The closing processes (started at the first close); ``None`` once stopped."""
        import multiprocessing

        with self._lock:
            if self._stopped:
                return None
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child,
                    initargs=(
                        self.settings,
                        self.store.reopen_arguments(),
                    ),
                )
            return self._executor

    def stop(self) -> None:
        """Let the running closes finish and stop the processes."""
        with self._lock:
            self._stopped = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


# ----------------------------------------------------------------------------- in the child

_child: dict[str, Any] = {}


def _start_child(settings: Settings, store_arguments: dict[str, Any]) -> None:
    """A closing process's start: Ctrl-C is the server's to handle (it stops the closes), the
    priority is lowered, the store opened (not migrated: the server did), and the process ends
    when its server does (a server killed with SIGKILL leaves no closing process behind; a
    close cut short is rolled back, and its window closed again once its claim runs out)."""
    import importlib

    from visiondrift.service._gc import settle as settle_collector
    from visiondrift.store import HistoryStore

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server = os.getppid()
    threading.Thread(
        target=_end_with, args=(server,), name="visiondrift-server-watch", daemon=True
    ).start()
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    _child["settings"] = settings
    _child["store"] = HistoryStore(**store_arguments)
    _child["profiles"] = {}
    for name in _CLOSE_MODULES:
        importlib.import_module(name)
    settle_collector()


def _end_with(server: int, every: float = 1.0) -> None:
    """End this process once ``server`` (its parent) has ended."""
    import time

    while os.getppid() == server:
        time.sleep(every)
    os._exit(0)


def _profile(baseline_id: str) -> Profile:
    profiles: dict[str, Profile] = _child["profiles"]
    found = profiles.get(baseline_id)
    if found is None:
        found = _child["store"].baselines.profile(baseline_id)
        if len(profiles) >= 64:
            profiles.clear()
        profiles[baseline_id] = found
    return found


def _close_in_child(window: Window, owner: str) -> Closed:
    return close_claimed(window, _child["settings"], _child["store"], owner, _profile)
