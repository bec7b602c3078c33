"""The history store under concurrent writers, killed writers, locks and unreachable servers.

Real processes (spawned), a real SQLite file and a real PostgreSQL schema; a writer is killed
with SIGKILL at a point it signals itself (inside its open transaction, or after the commit), so
the kill lands where the test says, not where a timer happens to.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _store_workers import record_and_pause, record_many
from visiondrift import profile
from visiondrift.app import Monitor, Outputs, RunResult
from visiondrift.demo.samples import CameraChange, make_dataset, real_photos
from visiondrift.drift import DriftReport
from visiondrift.errors import ConfigError, StoreError
from visiondrift.store import HistorySink, HistoryStore, head_revision

SPAWN = multiprocessing.get_context("spawn")
HEAD = head_revision()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A baseline, a batch (with one unusable file) and its run, saved for other processes."""
    root = tmp_path_factory.mktemp("durability")
    photos = real_photos()
    make_dataset(root / "baseline", 32, size=(48, 48), seed=51, photos=photos)
    make_dataset(
        root / "batch", 20, size=(48, 48), seed=52, photos=photos, transform=CameraChange()
    )
    (root / "batch" / "zz_notes.jpg").write_text("not an image\n")
    baseline = profile(root / "baseline", workers=1, labels="none")
    monitor = Monitor(baseline)
    batch = monitor.profile(root / "batch", workers=1)
    result = monitor.run(batch, dataset="skin")
    return {
        "baseline": baseline,
        "batch": batch,
        "result": result,
        "report_path": str(result.report.save(root / "report.json")),
        "profile_path": str(batch.save(root / "batch.json")),
    }


def _orphans(store: HistoryStore) -> int:
    """Rows of the child tables whose run is not in ``vd_runs``."""
    with store._engine.connect() as conn:
        return sum(
            int(
                conn.exec_driver_sql(
                    f"SELECT count(*) FROM {table} WHERE run_id NOT IN (SELECT run_id FROM vd_runs)"
                ).scalar_one()
            )
            for table in ("vd_metrics", "vd_documents", "vd_bad_counts")
        )


def _integrity(store: HistoryStore, location: str) -> None:
    if store.pg_schema is None:
        with sqlite3.connect(location) as db:
            assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert _orphans(store) == 0


# --- (a) two writers at once ------------------------------------------------------------------


def test_two_processes_record_at_once(
    store_location: tuple[str, str | None], runs: dict[str, Any]
) -> None:
    location, schema = store_location
    n = 12
    barrier = SPAWN.Barrier(2)
    writers = [
        SPAWN.Process(
            target=record_many, args=(location, schema, runs["report_path"], prefix, n, barrier)
        )
        for prefix in ("aa", "bb")
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=180)
    assert [w.exitcode for w in writers] == [0, 0]
    with HistoryStore(location, pg_schema=schema) as store:
        ids = {r.run_id for r in store.runs()}
        expected = {f"{p}{i:04d}".ljust(32, "0") for p in ("aa", "bb") for i in range(n)}
        assert ids == expected
        report: DriftReport = runs["result"].report
        assert len(store.metric_rows()) == 2 * n * len(report.metrics)
        assert store.get("bb0011").n_bad == report.current.n_bad == 1
        assert store.report("aa0007") == report
        _integrity(store, location)


# --- (b) a writer killed -----------------------------------------------------------------------


def _killed_writer(
    location: str, schema: str | None, runs: dict[str, Any], run_id: str, when: str
) -> str:
    receive, send = SPAWN.Pipe(duplex=False)
    writer = SPAWN.Process(
        target=record_and_pause,
        args=(location, schema, runs["report_path"], runs["profile_path"], run_id, when, send),
    )
    writer.start()
    send.close()
    try:
        assert receive.poll(120), "the writer never reached the point where it is killed"
        said = str(receive.recv())
        os.kill(writer.pid, signal.SIGKILL)  # type: ignore[arg-type]
        writer.join(timeout=30)
    finally:
        if writer.is_alive():
            writer.kill()
            writer.join()
    assert writer.exitcode == -signal.SIGKILL
    return said


def test_a_writer_killed_mid_transaction_leaves_nothing(
    store_location: tuple[str, str | None], runs: dict[str, Any]
) -> None:
    location, schema = store_location
    result: RunResult = runs["result"]
    with HistoryStore(location, pg_schema=schema) as store:
        store.record(result)  # a run before, which must survive
    said = _killed_writer(location, schema, runs, "de" * 16, "mid")
    assert said == "runs row inserted, transaction open"
    with HistoryStore(location, pg_schema=schema) as store:
        assert [r.run_id for r in store.runs()] == [result.run_id]
        assert {r.run_id for r in store.metric_rows()} == {result.run_id}
        assert len(store.metric_rows()) == len(result.report.metrics)
        _integrity(store, location)
        # The store is writable again, and the same run can be recorded whole.
        assert store.record_report(result.report, run_id="de" * 16, profile=result.profile)
        assert len(store.metrics("dede")) == len(result.report.metrics)
        _integrity(store, location)


def test_a_writer_killed_after_commit_leaves_the_whole_run(
    store_location: tuple[str, str | None], runs: dict[str, Any]
) -> None:
    location, schema = store_location
    said = _killed_writer(location, schema, runs, "ad" * 16, "after")
    assert said == "committed"
    report: DriftReport = runs["result"].report
    with HistoryStore(location, pg_schema=schema) as store:
        run = store.get("adad")
        assert run.run_id == "ad" * 16
        assert dict(run.bad_counts) == {k: v for k, v in report.current.bad_counts.items() if v}
        assert len(store.metrics(run.run_id)) == len(report.metrics)
        assert store.report(run.run_id) == report
        assert store.profile(run.run_id) == runs["batch"]
        _integrity(store, location)


# --- (c) a store locked past its timeout -------------------------------------------------------


@pytest.fixture
def locked(store_location: tuple[str, str | None]) -> Iterator[tuple[str, str | None]]:
    """The store, made, then held under a write lock by another connection."""
    location, schema = store_location
    with HistoryStore(location, pg_schema=schema) as store:
        store.migrate()
    if schema is None:
        holder = sqlite3.connect(location, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        yield store_location
        holder.execute("ROLLBACK")
        holder.close()
    else:
        from conftest import pg_connect

        conn = pg_connect()
        conn.autocommit = False
        conn.execute(f'LOCK TABLE "{schema}".vd_runs IN ACCESS EXCLUSIVE MODE')
        yield store_location
        conn.rollback()
        conn.close()


def test_a_locked_store_fails_the_sink_not_the_run(
    locked: tuple[str, str | None], runs: dict[str, Any], tmp_path: Path
) -> None:
    location, schema = locked
    store = HistoryStore(location, pg_schema=schema, timeout=1)
    outputs = Outputs(
        report=tmp_path / "r.json",
        profile=tmp_path / "batch.json",
        html=tmp_path / "r.html",
        markdown=tmp_path / "r.md",
    )
    result = Monitor(runs["baseline"], history=store).run(
        runs["batch"], dataset="skin", outputs=outputs
    )
    assert [f.sink for f in result.failures] == ["history"]
    error = result.failures[0].error
    assert error.startswith("StoreError: ")
    assert f"history store {store.url} is locked by another process" in error
    assert "after 1 s" in error
    # The run is whole: files written, verdict as without a history.
    assert result.files == (outputs.report, outputs.profile, outputs.html, outputs.markdown)
    assert all(p.stat().st_size > 0 for p in result.files)
    assert DriftReport.load(tmp_path / "r.json") == result.report
    plain: RunResult = runs["result"]
    assert (result.report.status, result.report.severity, result.report.n_drifted) == (
        plain.report.status,
        plain.report.severity,
        plain.report.n_drifted,
    )
    assert [(m.name, m.status, m.p_adjusted) for m in result.report.metrics] == [
        (m.name, m.status, m.p_adjusted) for m in plain.report.metrics
    ]
    store.close()


def test_a_sqlite_store_is_read_while_another_process_writes(
    tmp_path: Path, runs: dict[str, Any]
) -> None:
    location = str(tmp_path / "history.sqlite")
    result: RunResult = runs["result"]
    with HistoryStore(location) as store:
        store.record(result)
    holder = sqlite3.connect(location, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("DELETE FROM vd_metrics")  # uncommitted: readers still see the rows
    try:
        with HistoryStore(location, timeout=1) as store:  # a new process's first use
            assert [r.run_id for r in store.runs()] == [result.run_id]
            assert len(store.metrics(result.run_id)) == len(result.report.metrics)
            assert store.revision() == HEAD
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# --- (d) an unreachable store ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (
            "postgresql",
            "Cannot reach the history store postgresql+psycopg://postgres@127.0.0.1:1/test",
        ),
        ("sqlite", "Cannot create the folder of the history store"),
    ],
)
def test_an_unreachable_store_fails_the_sink_not_the_run(
    where: str,
    message: str,
    runs: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if where == "postgresql":
        location = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    else:
        (tmp_path / "a_file").write_text("a file, not a folder\n")
        location = str(tmp_path / "a_file" / "history.sqlite")
    store = HistoryStore(location, timeout=2)  # opening never fails: using it does
    outputs = Outputs(
        report=tmp_path / "r.json", html=tmp_path / "r.html", markdown=tmp_path / "r.md"
    )
    with caplog.at_level(logging.WARNING, logger="visiondrift.app"):
        result = Monitor(runs["baseline"], history=store).run(
            runs["batch"], dataset="skin", outputs=outputs
        )
    assert [f.sink for f in result.failures] == ["history"]
    assert message in result.failures[0].error
    assert all(p.is_file() and p.stat().st_size > 0 for p in result.files)
    assert len(result.files) == 3
    assert DriftReport.load(tmp_path / "r.json") == result.report
    assert result.report.overall_drift_detected == runs["result"].report.overall_drift_detected
    logged = [r.getMessage() for r in caplog.records]
    assert any("history" in m and result.run_id in m and message in m for m in logged)
    with pytest.raises(StoreError, match=message.split(" store")[0]):
        store.runs()


# --- (e) no password anywhere ------------------------------------------------------------------

SECRET = "Sup3rS3cretPassw0rd"


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = err
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/test",
        f"postgresql://postgres:{SECRET}@127.0.0.1:5432/vd_no_such_database",
    ],
    ids=["refused", "no-such-database"],
)
def test_a_password_is_never_shown(
    url: str, runs: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = HistoryStore(url, timeout=2)
    shown = [repr(store), str(store.url), repr(HistorySink(store))]
    assert "***" in store.url
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(StoreError) as caught:
            store.runs()
        shown += [str(e) for e in _chain(caught.value)] + [repr(e) for e in _chain(caught.value)]
        result = Monitor(runs["baseline"], history=store).run(runs["batch"], dataset="skin")
    assert result.failures
    shown += [f.error for f in result.failures]
    shown += [r.getMessage() for r in caplog.records] + [caplog.text]
    assert any("Cannot reach the history store" in s for s in shown)
    for text in shown:
        assert SECRET not in text
    store.close()
    # An unreadable URL is named without its password too.
    for unreadable in (
        f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:notaport/test",
        f"postgres ql://postgres:{SECRET}@127.0.0.1/test",
        f"postgresql+nodriver://postgres:{SECRET}@127.0.0.1/test",
        f"mysql://postgres:{SECRET}@127.0.0.1/test",
    ):
        with pytest.raises(ConfigError, match=r"postgres:\*\*\*@") as bad:
            HistoryStore(unreadable)
        assert all(SECRET not in str(e) for e in _chain(bad.value))
