"""Schema migrations of the history store: an old store upgraded in place, once, by one process.

``fixtures/history_v0001.sqlite`` is a store at revision 0001 holding three real runs (made by
``scripts/make_history_fixture.py``); two of them had unusable files, counted only in their
stored reports, which revision 0002 reads back into ``vd_bad_counts``.
"""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
from pathlib import Path

import pytest

from _store_workers import open_and_migrate
from visiondrift.errors import StoreError
from visiondrift.store import HistoryStore, head_revision

FIXTURE = Path(__file__).parent / "fixtures" / "history_v0001.sqlite"
#: The latest revision (0002 added vd_bad_counts, 0003 widened metric texts on PostgreSQL,
#: 0004 added vd_runs.slow_drift, 0005 the alert tables, 0006 the service's tables, 0007 dropped
#: an index of vd_records).
HEAD = "0007"


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
