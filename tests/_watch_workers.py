"""What the watch tests run in other processes (spawned: importable by module name)."""

from __future__ import annotations

import time
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["claim_all", "watch_and_hang", "watch_once"]

#: How long a hung watcher sleeps (the parent kills it long before).
HANG_SECONDS = 120.0


def _store(location: str, schema: str | None) -> Any:
    from visiondrift.store import HistoryStore

    return HistoryStore(location, pg_schema=schema)


def claim_all(
    location: str, schema: str | None, keys: list[str], owner: str, barrier: Any, out: Any
) -> None:
    """Claim every key, starting with the other process; report the keys this one got."""
    store = _store(location, schema)
    store.migrate()
    barrier.wait(timeout=60)
    got = [k for k in keys if store.claims.claim(k, source=k, owner=owner) is not None]
    out.put((owner, got))
    store.close()


def _watcher(
    location: str, schema: str | None, baseline: str, inbox: str, out_dir: str, **kw: Any
) -> Any:
    from visiondrift.app import monitor_from_settings
    from visiondrift.settings import Settings, WatchSettings
    from visiondrift.watch import Watcher

    store = _store(location, schema)
    settings = Settings()
    watch = WatchSettings(inbox=inbox, marker="_SUCCESS", lease=kw.pop("lease", 600.0))
    monitor = kw.pop("monitor", None) or monitor_from_settings(baseline, settings, store)
    return Watcher(
        monitor,
        store,
        watch,
        out_dir,
        html=False,
        run_options={"workers": 1},
        dataset="skin",
        **kw,
    )


def watch_once(
    location: str,
    schema: str | None,
    baseline: str,
    inbox: str,
    out_dir: str,
    owner: str,
    barrier: Any,
    out: Any,
) -> None:
    """Run a watcher once over the inbox, starting with the other process; report what each
    batch became."""
    watcher = _watcher(location, schema, baseline, inbox, out_dir, owner=owner)
    watcher.store.migrate()
    barrier.wait(timeout=60)
    outcomes = watcher.run_once()
    out.put((owner, [(o.batch.name, o.status, o.run_id) for o in outcomes]))
    watcher.store.close()


def watch_and_hang(
    location: str,
    schema: str | None,
    baseline: str,
    inbox: str,
    out_dir: str,
    lease: float,
    signal: Connection,
) -> None:
    """A watcher that takes a batch and hangs while profiling it (the parent kills it -9)."""
    from visiondrift.app import Monitor, monitor_from_settings
    from visiondrift.settings import Settings

    class Hanging(Monitor):
        def profile(self, source: Any, **options: Any) -> Any:
            signal.send(f"profiling {source}")
            time.sleep(HANG_SECONDS)
            raise AssertionError("killed before this")

    store = _store(location, schema)
    normal = monitor_from_settings(baseline, Settings(), store)
    hanging = Hanging(normal.baseline, history=store, sinks=normal.sinks[1:])
    watcher = _watcher(
        location, schema, baseline, inbox, out_dir, lease=lease, monitor=hanging, owner="hung"
    )
    watcher.run_once()
