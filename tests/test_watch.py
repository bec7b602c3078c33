"""The watcher on real batches: each run once, failures recorded, stops and crashes handled.

In this process (the watcher's API), in spawned processes (two watchers at once, one killed
with SIGKILL mid-batch), and through the real command line (SIGTERM, a cron schedule, JSON
logs, bad usage).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from _watch_helpers import Watch, make_baseline, write_batch, write_broken
from _watch_workers import watch_and_hang, watch_once
from visiondrift.app import CallbackSink, Monitor, RunResult, monitor_from_settings
from visiondrift.cli import cli
from visiondrift.settings import Settings, WatchSettings
from visiondrift.store import HistoryStore
from visiondrift.watch import Watcher

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(scope="session")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("watch-baseline")
    return make_baseline(folder / "images", folder / "baseline.json")


def _settings(inbox: Path, **kw: Any) -> WatchSettings:
    return WatchSettings(inbox=str(inbox), marker="_SUCCESS", **kw)


def _watcher(baseline: Path, store: HistoryStore, inbox: Path, out: Path, **kw: Any) -> Watcher:
    settings = kw.pop("settings", None) or _settings(inbox)
    monitor = kw.pop("monitor", None) or monitor_from_settings(baseline, Settings(), store)
    return Watcher(
        monitor,
        store,
        settings,
        out,
        html=False,
        run_options={"workers": 1},
        **kw,  # no dataset: the baseline's ('skin')
    )


# --- in this process ------------------------------------------------------------------------


def test_each_complete_batch_is_run_once_and_how_it_ended_is_recorded(
    baseline: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    write_batch(inbox / "20261128", seed=1)
    write_batch(inbox / "20261129", seed=2, drifted=True)
    write_broken(inbox / "20261130")
    write_batch(inbox / "20261201", seed=3, marker=None)  # still being written: no marker
    out = tmp_path / "reports"
    with HistoryStore(tmp_path / "history.sqlite") as store:
        counts = _watcher(baseline, store, inbox, out).run(once=True)
        assert counts == {"done": 2, "failed": 1}
        claims = {Path(c.batch_key).name: c for c in store.claims.list()}
        assert sorted(claims) == ["20261128", "20261129", "20261130"]
        assert {c.dataset for c in claims.values()} == {"skin"}
        runs = {r.run_id: r for r in store.runs()}
        # The clean batch and the drifted one: done, each with its recorded run.
        for name, drift in (("20261128", False), ("20261129", True)):
            claim = claims[name]
            assert (claim.status, claim.attempts, claim.reason) == ("done", 1, None)
            assert claim.run_id in runs
            assert runs[claim.run_id].drift is drift
            assert runs[claim.run_id].dataset == "skin"
            # A batch named by its day is recorded as that day (watch.timezone, UTC here).
            day = datetime.strptime(name, "%Y%m%d").replace(tzinfo=UTC)
            assert runs[claim.run_id].window == (day, day + timedelta(days=1))
            assert (out / name / f"{name}.json").is_file()
            assert (out / name / f"{name}.md").is_file()
            assert not (out / name / f"{name}.html").exists()  # html=False
        # The broken batch: failed with its reason; its run (integrity drift) is recorded.
        broken = claims["20261130"]
        assert broken.status == "failed"
        assert broken.reason is not None
        assert "None of the 5 files in" in broken.reason
        assert "could be read as an image" in broken.reason
        assert broken.run_id in runs
        assert runs[broken.run_id].n_images == 0
        assert len(runs) == 3

        # A second watcher (a restart) takes nothing again; the failed batch is not retried.
        again = _watcher(baseline, store, inbox, out).run(once=True)
        assert again == {"skipped": 3}
        assert len(store.runs()) == 3
        assert store.claims.get(broken.batch_key) == broken

        # The last batch is finished: the next look takes it, and only it.
        (inbox / "20261201" / "_SUCCESS").write_text("")
        assert _watcher(baseline, store, inbox, out).run(once=True) == {
            "done": 1,
            "skipped": 3,
        }
        assert len(store.runs()) == 4


def test_a_stop_while_profiling_abandons_the_batch_for_the_next_watcher(
    baseline: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    write_batch(inbox / "20261128", seed=1)
    write_batch(inbox / "20261129", seed=2)
    holder: dict[str, Watcher] = {}

    class StoppedWhileProfiling(Monitor):
        def profile(self, source: Any, **options: Any) -> Any:
            holder["watcher"].stop("SIGTERM")  # as the signal handler does
            return super().profile(source, **options)

    with HistoryStore(tmp_path / "history.sqlite") as store:
        monitor = StoppedWhileProfiling(baseline, history=store)
        watcher = _watcher(baseline, store, inbox, tmp_path / "out", monitor=monitor)
        holder["watcher"] = watcher
        assert watcher.run(once=True) == {"abandoned": 1}
        assert store.claims.list() == []  # released: nothing half-done
        assert store.runs() == []
        assert not (tmp_path / "out" / "20261128").exists()
        # The next watcher takes both batches whole.
        assert _watcher(baseline, store, inbox, tmp_path / "out").run(once=True) == {"done": 2}
        assert len(store.runs()) == 2


def test_a_stop_once_the_run_reached_its_sinks_finishes_that_batch_and_takes_no_other(
    baseline: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    write_batch(inbox / "20261128", seed=1)
    write_batch(inbox / "20261129", seed=2)
    holder: dict[str, Watcher] = {}
    seen: list[str] = []

    def stop(result: RunResult) -> None:
        seen.append(result.run_id)
        holder["watcher"].stop("SIGTERM")

    with HistoryStore(tmp_path / "history.sqlite") as store:
        watcher = _watcher(
            baseline, store, inbox, tmp_path / "out", sinks=[CallbackSink("stopper", stop)]
        )
        holder["watcher"] = watcher
        assert watcher.run(once=True) == {"done": 1}
        (claim,) = store.claims.list()
        assert Path(claim.batch_key).name == "20261128"
        assert (claim.status, claim.run_id) == ("done", seen[0])
        assert [r.run_id for r in store.runs()] == seen


def test_an_unexpected_error_is_retried_then_failed_after_max_attempts(
    baseline: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    write_batch(inbox / "20261128", seed=1)

    class Broken(Monitor):
        def profile(self, source: Any, **options: Any) -> Any:
            raise RuntimeError("a bug in a plug-in")

    with HistoryStore(tmp_path / "history.sqlite") as store:
        settings = _settings(inbox, max_attempts=3)
        monitor = Broken(baseline, history=store)
        statuses = []
        for _ in range(4):
            watcher = _watcher(
                baseline, store, inbox, tmp_path / "out", monitor=monitor, settings=settings
            )
            (outcome,) = watcher.run_once()
            statuses.append(outcome.status)
        assert statuses == ["crashed", "crashed", "crashed", "skipped"]
        (claim,) = store.claims.list()
        assert claim.status == "failed"
        assert claim.attempts == 3
        assert claim.reason is not None
        assert claim.reason.startswith("crashed 3 times")


# --- other processes ------------------------------------------------------------------------


def test_two_watcher_processes_process_each_batch_exactly_once(
    baseline: Path, tmp_path: Path, store_location: tuple[str, str | None]
) -> None:
    location, schema = store_location
    inbox = tmp_path / "inbox"
    names = [f"2026112{i}" for i in range(4)]
    for i, name in enumerate(names):
        write_batch(inbox / name, seed=10 + i)
    barrier = SPAWN.Barrier(2)
    out = SPAWN.Queue()
    args = (location, schema, str(baseline), str(inbox), str(tmp_path / "out"))
    workers = [
        SPAWN.Process(target=watch_once, args=(*args, owner, barrier, out))
        for owner in ("first", "second")
    ]
    for w in workers:
        w.start()
    said = dict(out.get(timeout=300) for _ in workers)
    for w in workers:
        w.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    out.close()
    out.join_thread()
    done = [(name, run_id) for o in said.values() for name, status, run_id in o if status == "done"]
    # Each batch was run by one of the two, and the other one skipped it.
    assert sorted(name for name, _ in done) == names
    for outcomes in said.values():
        assert {status for _, status, _ in outcomes} <= {"done", "skipped"}
    with HistoryStore(location, pg_schema=schema) as store:
        runs = store.runs()
        claims = store.claims.list()
    assert len(runs) == 4
    assert {r.run_id for r in runs} == {run_id for _, run_id in done}
    assert {c.run_id for c in claims} == {run_id for _, run_id in done}
    assert {c.status for c in claims} == {"done"}


def test_a_watcher_killed_mid_batch_leaves_it_to_be_retried_after_the_lease(
    baseline: Path, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    write_batch(inbox / "20261128", seed=1)
    location = str(tmp_path / "history.sqlite")
    lease = 1.0
    receive, send = SPAWN.Pipe(duplex=False)
    hung = SPAWN.Process(
        target=watch_and_hang,
        args=(location, None, str(baseline), str(inbox), str(tmp_path / "out"), lease, send),
    )
    hung.start()
    send.close()
    try:
        assert receive.poll(120), "the watcher never started the batch"
        assert str(receive.recv()).startswith("profiling ")
        os.kill(hung.pid, signal.SIGKILL)  # type: ignore[arg-type]
        hung.join(timeout=30)
    finally:
        if hung.is_alive():
            hung.kill()
            hung.join()
        receive.close()
    assert hung.exitcode == -signal.SIGKILL
    with HistoryStore(location) as store:
        (left,) = store.claims.list()
        assert (left.status, left.owner, left.attempts) == ("running", "hung", 1)
        # Within the lease the batch is still the dead watcher's; then it is taken over.
        outcome = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            (outcome,) = _watcher(
                baseline, store, inbox, tmp_path / "out", settings=_settings(inbox, lease=lease)
            ).run_once()
            if outcome.status != "skipped":
                break
            time.sleep(lease / 4)
        assert outcome is not None
        assert outcome.status == "done"
        (claim,) = store.claims.list()
        assert (claim.status, claim.attempts, claim.run_id) == ("done", 2, outcome.run_id)
        assert claim.owner != "hung"
        assert [r.run_id for r in store.runs()] == [outcome.run_id]


# --- the command line -----------------------------------------------------------------------


def test_a_batch_profiled_by_a_process_pool_ends_under_the_watcher_s_signal_handlers(
    baseline: Path, tmp_path: Path
) -> None:
    """A batch large enough for the worker pool: the forked workers inherit the watcher's
    SIGTERM handler, which only notes the signal; the pool's terminate must still end them (a
    regression: the watcher waited for ever for its workers)."""
    import subprocess
    import sys

    from visiondrift.demo.samples import make_dataset, real_photos
    from visiondrift.profiler._run import SERIAL_THRESHOLD

    inbox = tmp_path / "inbox"
    make_dataset(inbox / "20261129", SERIAL_THRESHOLD + 16, size=(48, 48), seed=5,
                 photos=real_photos())  # fmt: skip
    store = tmp_path / "history.sqlite"
    done = subprocess.run(
        [sys.executable, "-m", "visiondrift.cli", "watch", str(baseline), "--inbox", str(inbox),
         "--settle", "0", "--once", "--workers", "2", "--store", str(store), "--no-html",
         "--no-alerts", "--out", str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    with HistoryStore(store) as opened:
        (run,) = opened.runs()
        assert run.n_images == SERIAL_THRESHOLD + 16


def test_sigterm_exits_0_and_leaves_nothing_half_done(baseline: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    names = ["20261127", "20261128", "20261129"]
    for i, name in enumerate(names):
        write_batch(inbox / name, seed=20 + i)
    store = tmp_path / "history.sqlite"
    watch = Watch(
        [str(baseline), "--inbox", str(inbox), "--marker", "_SUCCESS", "--poll", "0.2",
         "--store", str(store), "--out", str(tmp_path / "out"), "--workers", "1", "--no-html"],
        cwd=tmp_path,
    )  # fmt: skip
    try:
        watch.wait_for(lambda r: r.get("event") == "batch_done")
        watch.wait_for(lambda r: r.get("event") == "batch_started")  # the second batch
    finally:
        code = watch.stop()
    assert code == 0, "".join(watch.raw)
    last = watch.lines[-1]
    assert last["event"] == "watch_stopped"
    assert last["signal"] == "SIGTERM"
    for record in watch.lines:
        assert {"ts", "level", "logger", "message"} <= set(record)
    with HistoryStore(store) as opened:
        claims = opened.claims.list()
        runs = {r.run_id for r in opened.runs()}
    # Nothing half-done: every claim is done with its recorded run, or gone (given back).
    assert {c.status for c in claims} == {"done"}
    assert {c.run_id for c in claims} == runs
    assert 1 <= len(runs) <= 2
    ended = {r.get("event") for r in watch.lines}
    assert ended & {"batch_abandoned", "batch_done"}


def test_a_cron_schedule_fires_and_runs_the_days_batch_once(baseline: Path, tmp_path: Path) -> None:
    today = datetime.now(UTC).strftime("%Y%m%d")
    write_batch(tmp_path / "prod" / today, seed=30)
    store = tmp_path / "history.sqlite"
    watch = Watch(
        [str(baseline), "--cron", "*/2 * * * * *", "--source", "prod/{date:%Y%m%d}",
         "--store", str(store), "--out", "reports", "--workers", "1", "--no-html"],
        cwd=tmp_path,
    )  # fmt: skip
    try:
        fired = [watch.wait_for(lambda r: r.get("event") == "fired") for _ in range(3)]
    finally:
        code = watch.stop()
    assert code == 0, "".join(watch.raw)
    times = [datetime.fromisoformat(f["fire_time"]) for f in fired]
    assert all(t.second % 2 == 0 and t.microsecond == 0 for t in times)
    assert times == sorted(set(times))
    assert {f["batch"] for f in fired} <= {today, (times[-1]).strftime("%Y%m%d")}
    events = [r.get("event") for r in watch.lines]
    assert events.count("batch_done") == 1
    assert "batch_skipped" in events  # a later firing of the same day's batch
    with HistoryStore(store) as opened:
        (claim,) = opened.claims.list()
        assert claim.batch_key == str((tmp_path / "prod" / today).resolve())
        assert claim.status == "done"
        assert [r.run_id for r in opened.runs()] == [claim.run_id]
    assert (tmp_path / "reports" / today / f"{today}.json").is_file()


def test_a_scheduled_batch_that_is_not_there_waits_for_the_next_firing(
    baseline: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "watch", str(baseline), "--source", str(tmp_path / "prod" / "{date:%Y%m%d}"),
            "--once", "--store", str(tmp_path / "h.sqlite"), "--log-format", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with HistoryStore(tmp_path / "h.sqlite") as store:
        assert store.claims.list() == []  # nothing claimed: the next firing tries again


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Tell watch what to watch: --inbox DIR"),
        (["--inbox", "{tmp}", "--cron", "0 2 * * *", "--source", "x"], "not both"),
        (["--source", "x/{date:%Y}"], "--source without --cron monitors the source once"),
        (["--cron", "0 2 * *", "--source", "x"], "has 4 fields"),
        (["--inbox", "{tmp}/missing"], "does not exist; create it"),
        (["--inbox", "{tmp}", "--settle", "-1"], "Invalid value for '--settle'"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(
    baseline: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(
        cli, ["watch", str(baseline), *args, "--store", str(tmp_path / "h.sqlite")]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_missing_baseline_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["watch", str(tmp_path / "nope.json"), "--inbox", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert "nope.json" in result.output


def test_an_fsspec_inbox_is_watched_like_a_folder(baseline: Path, tmp_path: Path) -> None:
    import fsspec

    write_batch(tmp_path / "local", seed=50)
    fs = fsspec.filesystem("memory")
    root = f"/watch-{os.getpid()}-{time.monotonic_ns()}"
    fs.pipe({f"{root}/20261129/{p.name}": p.read_bytes() for p in (tmp_path / "local").iterdir()})
    try:
        with HistoryStore(tmp_path / "history.sqlite") as store:
            settings = WatchSettings(inbox=f"memory://{root}", marker="_SUCCESS")
            watcher = _watcher(baseline, store, tmp_path, tmp_path / "out", settings=settings)
            (outcome,) = watcher.run_once()
            assert outcome.status == "done"
            (claim,) = store.claims.list()
            assert claim.batch_key == f"memory://{root}/20261129"
            (run,) = store.runs()
            assert run.n_images == len(list((tmp_path / "local").glob("*.jpg")))
            assert (tmp_path / "out" / "20261129" / "20261129.json").is_file()
    finally:
        fs.rm(root, recursive=True)
