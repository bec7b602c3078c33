"""Schema migrations of the history store: an old store upgraded in place, once, by one process.

``fixtures/history_v0001.sqlite`` is a store at revision 0001 holding three real runs (made by
``scripts/make_history_fixture.py``); two of them had unusable files, counted only in their
stored reports, which revision 0002 reads back into ``vd_bad_counts``.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from _store_workers import open_and_migrate
from visiondrift.errors import StoreError
from visiondrift.store import HistoryStore, head_revision

FIXTURE = Path(__file__).parent / "fixtures" / "history_v0001.sqlite"
#: The latest revision (0002 added vd_bad_counts, 0003 widened metric texts on PostgreSQL,
#: 0004 added vd_runs.slow_drift, 0005 the alert tables, 0006 the service's tables, 0007 dropped
#: an index of vd_records, 0008 added the record blocks and their ids).
HEAD = "0008"


def _tables_and_revision(path: Path) -> tuple[set[str], str]:
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (revision,) = db.execute("SELECT version_num FROM vd_alembic_version").fetchone()
    return tables, str(revision)


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    copy = tmp_path / "history.sqlite"
    shutil.copyfile(FIXTURE, copy)
    tables, revision = _tables_and_revision(copy)
    assert revision == "0001"
    assert "vd_bad_counts" not in tables
    return copy


def test_an_old_store_is_upgraded_in_place(old_store: Path) -> None:
    with HistoryStore(old_store) as store:
        runs = store.runs(newest_first=False)
        assert store.revision() == head_revision() == HEAD
        assert [r.dataset for r in runs] == ["skin", "skin", "eye"]
        with_bad = 0
        for run in runs:
            report = store.report(run.run_id)
            expected = {k: v for k, v in report.current.bad_counts.items() if v > 0}
            assert dict(run.bad_counts) == expected
            assert sum(expected.values()) == run.n_bad == report.current.n_bad
            with_bad += bool(expected)
            assert len(store.metrics(run.run_id)) == len(report.metrics)
        assert with_bad == 2
        assert store.get(runs[1].run_id[:4]).bad_counts == runs[1].bad_counts
        assert store.profile(runs[0].run_id) is not None
        assert store.profile(runs[1].run_id) is None
        trend = store.trend("brightness", dataset="skin")
        assert trend is not None
        assert [p.run_id for p in trend.points] == [runs[0].run_id, runs[1].run_id]
        assert store.migrate() == (HEAD, HEAD)
    tables, revision = _tables_and_revision(old_store)
    assert revision == HEAD
    assert "vd_bad_counts" in tables
    assert _tables_and_revision(FIXTURE)[1] == "0001"  # the committed fixture is untouched


def test_migrate_false_uses_the_store_as_it_is(old_store: Path) -> None:
    with HistoryStore(old_store, migrate=False) as store:
        assert store.revision() == "0001"
        with pytest.raises(StoreError, match=r"no such (table|column): vd_"):
            store.runs()
        assert store.migrate() == ("0001", HEAD)
        assert len(store.runs()) == 3
        assert store.migrate() == (HEAD, HEAD)


def test_two_processes_open_a_new_store_at_once(
    store_location: tuple[str, str | None],
) -> None:
    location, schema = store_location
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    workers = [
        ctx.Process(target=open_and_migrate, args=(location, schema, barrier, out))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    results = sorted([out.get(timeout=5) for _ in workers], key=lambda r: str(r[0]))
    # One process made the tables; the other waited for it and found them at head.
    assert results == [(HEAD, HEAD, 0), (None, HEAD, 0)]
    with HistoryStore(location, pg_schema=schema, migrate=False) as store:
        assert store.revision() == HEAD
        assert store.runs() == []


def _text_columns(store: HistoryStore) -> dict[str, tuple[str, int | None]]:
    with store._engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT column_name, data_type, character_maximum_length "
            "FROM information_schema.columns WHERE table_name = 'vd_metrics' "
            "AND table_schema = current_schema() AND column_name IN ('test', 'effect_unit', 'unit')"
        ).all()
    return {name: (kind, length) for name, kind, length in rows}


def test_a_postgresql_store_at_0002_takes_whole_texts_after_upgrade(
    pg_schema: str, old_store: Path
) -> None:
    from alembic import command

    from conftest import PG_URL
    from visiondrift.store._migrate import _config

    with HistoryStore(old_store) as source:
        run = source.runs()[0]
        report = source.report(run.run_id)
    assert max(len(m.test) for m in report.metrics) > 80
    with HistoryStore(PG_URL, pg_schema=pg_schema, migrate=False) as store:
        with store._engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f'CREATE SCHEMA "{pg_schema}"')
            config = _config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
        assert store.revision() == "0002"
        assert _text_columns(store) == {  # what revision 0003 fixes
            "test": ("character varying", 80),
            "effect_unit": ("character varying", 80),
            "unit": ("character varying", 80),
        }
        assert store.migrate() == ("0002", HEAD)
        assert _text_columns(store) == dict.fromkeys(
            ("test", "effect_unit", "unit"), ("text", None)
        )
        assert store.record_report(report, run_id=run.run_id) == run.run_id
        assert {r.test for r in store.metrics(run.run_id)} == {m.test for m in report.metrics}


def _record_tuple(r: Any) -> tuple[Any, ...]:
    probs = None if r.probs is None else r.probs.tolist()
    return (r.seq, r.record_id, r.label, r.ts, probs, r.meta, r.bad_reason)


def test_downgrading_0008_writes_every_block_back_as_rows(tmp_path: Path) -> None:
    """Revision 0008 keeps probability records a request per row; its downgrade writes each
    block's records back into ``vd_records`` (id, label, time, probabilities, metadata; joined
    labels included), next to the records that were rows all along, and drops the tables."""
    from datetime import UTC, datetime

    import numpy as np
    from alembic import command
    from sqlalchemy import create_engine

    from visiondrift.store._migrate import _config
    from visiondrift.store._windows import NewRecord, RecordBlock, decode_probs

    probs = np.random.default_rng(3).dirichlet(np.ones(3), 5).astype("<f4")
    when = datetime(2026, 11, 30, 8, 30, 15, 250_000, tzinfo=UTC)
    block = RecordBlock(
        probs.tobytes(),
        3,
        ids=("a", None, "c", "d", "e"),
        labels=("cat", None, None, None, "dog"),
        ts=(when, None, None, None, None),
        meta=('{"site":"ward 7","n":3}', None, None, None, None),
    )
    bad = [NewRecord(record_id="x", bad_reason="decode_error", detail="truncated")]
    path = tmp_path / "history.sqlite"
    with HistoryStore(str(path)) as store:
        store.migrate()
        first = store.windows.append("shop", "b" * 32, block, count_limit=None, seconds_limit=None)
        store.windows.append("shop", "b" * 32, bad, count_limit=None, seconds_limit=None)
        assert store.windows.join_labels("shop", {"d": "bird"}).joined == 1
        window = first.windows[0]
        before = [_record_tuple(r) for r in store.windows.records(window)]
    assert [r[0] for r in before] == [0, 1, 2, 3, 4, 5]
    assert [r[2] for r in before] == ["cat", None, None, "bird", "dog", None]
    assert before[0][3] == when
    assert before[0][5] == {"site": "ward 7", "n": 3}

    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn, conn.begin():
        config = _config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
    engine.dispose()
    tables, revision = _tables_and_revision(path)
    assert revision == "0007"
    assert not {"vd_record_blocks", "vd_record_ids"} & tables
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT seq, record_id, label, ts, probs, meta, bad_reason FROM vd_records "
            "WHERE window_id = ? ORDER BY seq",
            (window,),
        ).fetchall()
    after = [
        (seq, rid, label, ts, None if blob is None else decode_probs(blob).tolist(), meta, why)
        for seq, rid, label, ts, blob, meta, why in rows
    ]
    after = [(*a[:5], None if a[5] is None else json.loads(a[5]), a[6]) for a in after]
    assert [a[:3] + a[4:] for a in after] == [b[:3] + b[4:] for b in before]
    assert datetime.fromisoformat(after[0][3]).replace(tzinfo=UTC) == when
