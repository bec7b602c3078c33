"""What the store tests run in other processes (spawned: importable by module name)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["open_and_migrate", "record_and_pause", "record_many"]

#: How long a paused writer sleeps (the parent kills it long before).
PAUSE_SECONDS = 120.0


def _store(location: str, schema: str | None, **kw: Any) -> Any:
    from visiondrift.store import HistoryStore

    return HistoryStore(location, pg_schema=schema, **kw)


def open_and_migrate(location: str, schema: str | None, barrier: Any, out: Any) -> None:
    """Open a store the moment the other process does; report (revision before, after, runs)."""
    store = _store(location, schema)
    barrier.wait(timeout=60)
    before, after = store.migrate()
    out.put((before, after, len(store.runs())))
    store.close()


def record_many(
    location: str, schema: str | None, report_path: str, prefix: str, n: int, barrier: Any
) -> None:
    """Record the report ``n`` times as runs ``prefix0000...``, starting with the other writer."""
    from visiondrift.drift import DriftReport

    report = DriftReport.load(report_path)
    store = _store(location, schema)
    store.migrate()
    barrier.wait(timeout=60)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(n):
        store.record_report(
            report, run_id=f"{prefix}{i:04d}".ljust(32, "0"), ran_at=start + timedelta(minutes=i)
        )
    store.close()


def record_and_pause(
    location: str,
    schema: str | None,
    report_path: str,
    profile_path: str,
    run_id: str,
    when: str,
    signal: Connection,
) -> None:
    """Record a run, and sleep either in the middle of its transaction or after it committed.

    ``when="mid"``: the run's row is inserted, then, as the metric rows are about to be, the
    process tells the parent through ``signal`` and sleeps inside the open transaction.
    ``when="after"``: the whole run is committed, then it tells the parent and sleeps.
    """
    from sqlalchemy import event

    from visiondrift.drift import DriftReport
    from visiondrift.profiles import Profile

    report = DriftReport.load(report_path)
    batch = Profile.load(profile_path)
    store = _store(location, schema)
    store.migrate()

    if when == "mid":

        @event.listens_for(store._engine, "before_cursor_execute")
        def _pause(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO VD_METRICS"):
                signal.send("runs row inserted, transaction open")
                time.sleep(PAUSE_SECONDS)

    store.record_report(report, run_id=run_id, profile=batch)
    signal.send("committed")
    time.sleep(PAUSE_SECONDS)
