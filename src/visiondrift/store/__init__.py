"""The history store: every monitor run remembered in SQLite or PostgreSQL.

The system of record of the operations layer: the monitor records each run here (a sink), the
HTML page and the Markdown summary draw trends from it, ``baseline --from-history`` merges its
stored profiles into a rolling baseline, and SQL or Grafana read its long tables directly (see
:mod:`visiondrift.store._schema` for the tables). SQLAlchemy 2 Core, Alembic migrations shipped
in ``migrations/``; SQLite in WAL mode by default, PostgreSQL through psycopg 3, a TimescaleDB
hypertable for the metric rows when that extension is installed.

May import :mod:`visiondrift.drift` (reports, trend records), :mod:`visiondrift.profiles` (the
plain view), :mod:`visiondrift.errors`, SQLAlchemy, Alembic and platformdirs; never the app, the
command line, the report renderers, Pillow or a model runtime.
"""

from __future__ import annotations

import typing

from visiondrift._lazy import lazy_attributes as _lazy_attributes
from visiondrift.store._records import ANY_DATASET, AnyDataset, MetricRow, PruneResult, StoredRun

if typing.TYPE_CHECKING:
    from visiondrift.store._baselines import Baselines, StoredBaseline
    from visiondrift.store._codec import content_hash
    from visiondrift.store._jobs import Job, Jobs
    from visiondrift.store._keys import ApiKey, ApiKeys
    from visiondrift.store._migrate import head_revision
    from visiondrift.store._outbox import AlertState, Outbox, OutboxAlert
    from visiondrift.store._rows import baseline_identity
    from visiondrift.store._sink import HistorySink
    from visiondrift.store._store import HistoryStore
    from visiondrift.store._trend import series_of, with_run
    from visiondrift.store._url import default_store_path, shown_url, store_url
    from visiondrift.store._windows import StoredRecord, Window, Windows

_LAZY: dict[str, str] = {
    "ApiKey": "visiondrift.store._keys",
    "ApiKeys": "visiondrift.store._keys",
    "Baselines": "visiondrift.store._baselines",
    "Job": "visiondrift.store._jobs",
    "Jobs": "visiondrift.store._jobs",
    "StoredBaseline": "visiondrift.store._baselines",
    "StoredRecord": "visiondrift.store._windows",
    "Window": "visiondrift.store._windows",
    "Windows": "visiondrift.store._windows",
    "HistorySink": "visiondrift.store._sink",
    "AlertState": "visiondrift.store._outbox",
    "Outbox": "visiondrift.store._outbox",
    "OutboxAlert": "visiondrift.store._outbox",
    "baseline_identity": "visiondrift.store._rows",
    "content_hash": "visiondrift.store._codec",
    "series_of": "visiondrift.store._trend",
    "with_run": "visiondrift.store._trend",
    "HistoryStore": "visiondrift.store._store",
    "default_store_path": "visiondrift.store._url",
    "head_revision": "visiondrift.store._migrate",
    "shown_url": "visiondrift.store._url",
    "store_url": "visiondrift.store._url",
}

__all__ = [
    "ANY_DATASET",
    "AlertState",
    "AnyDataset",
    "ApiKey",
    "ApiKeys",
    "Baselines",
    "HistorySink",
    "HistoryStore",
    "Job",
    "Jobs",
    "MetricRow",
    "Outbox",
    "OutboxAlert",
    "PruneResult",
    "StoredBaseline",
    "StoredRecord",
    "StoredRun",
    "Window",
    "Windows",
    "baseline_identity",
    "content_hash",
    "default_store_path",
    "head_revision",
    "series_of",
    "shown_url",
    "store_url",
    "with_run",
]

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
