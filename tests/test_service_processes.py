"""The service's own processes: the record writer and the window closers run beside the server
process; one that dies loses nothing acknowledged and is replaced; the collector settings of a
server process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from _records_helpers import predictions_baseline, records
from _service import running_service, service_settings
from test_service_records import wait_for
from visiondrift.store import HistoryStore

RECORDS = "/v1/datasets/shop/records"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_writer_fails_its_waiting_requests_and_is_replaced(
    tmp_path: Path, store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visiondrift.service import _writer

    monkeypatch.setattr(_writer, "RESTART_AFTER", 0.0)  # a writer of any age is replaced
    store.baselines.add("shop", predictions_baseline())
    with running_service(service_settings(tmp_path), store) as served, served.client() as c:
        assert c.post(RECORDS, json={"records": records(5, seed=1)}).status_code == 202
        writer = served.app.state.vd.windows._writer
        first = writer.pid
        assert first is not None
        assert first != os.getpid()
        assert _alive(first)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: writer.pid != first and writer.alive())
        assert not _alive(first) or first != writer.pid
        assert c.get("/readyz").status_code == 200
        again = c.post(RECORDS, json={"records": records(3, seed=2, prefix="s")})
        assert again.status_code == 202
        assert again.json()["window"]["records"] == 8  # the same open window, nothing lost
    assert store.windows.count_records("shop") == 8


def test_a_writer_that_dies_young_stays_down_and_the_service_says_so(
    tmp_path: Path, store: HistoryStore
) -> None:
    store.baselines.add("shop", predictions_baseline())
    with running_service(service_settings(tmp_path), store) as served, served.client() as c:
        assert c.post(RECORDS, json=records(1, seed=1)[0]).status_code == 202
        writer = served.app.state.vd.windows._writer
        first = writer.pid
        os.kill(first, signal.SIGKILL)  # within RESTART_AFTER of its start: not restarted
        wait_for(lambda: not writer.alive())
        answer = c.post(RECORDS, json=records(1, seed=2)[0])
        assert answer.status_code == 503
        assert answer.json()["type"].endswith("/writer-stopped")
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert "writer" in ready.json()["detail"]
        assert writer.pid == first
    assert store.windows.count_records("shop") == 1


@pytest.mark.parametrize("processes", [1, 0])
def test_windows_close_in_processes_of_their_own_at_a_lower_priority(
    tmp_path: Path, store: HistoryStore, processes: int
) -> None:
    store.baselines.add("shop", predictions_baseline())
    settings = service_settings(
        tmp_path, window={"count": 100, "seconds": None}, close_processes=processes
    )
    with running_service(settings, store) as served, served.client() as c:
        closed = c.post(RECORDS, json={"records": records(100, seed=3)}).json()["closed"]
        assert len(closed) == 1
        first = wait_for(lambda: (w := store.windows.get(closed[0])) and w.run_id and w)
        assert store.get(first.run_id).n_images == 100
        closers = served.app.state.vd.closers
        pids = [] if closers._executor is None else list(closers._executor._processes)
        if processes == 0:
            assert pids == []
            return
        assert len(pids) == 1
        assert pids[0] != os.getpid()
        assert os.getpriority(os.PRIO_PROCESS, pids[0]) > os.getpriority(os.PRIO_PROCESS, 0)
        # A closing process killed: the next window is closed by a new one.
        os.kill(pids[0], signal.SIGKILL)
        wait_for(lambda: not _alive(pids[0]) or closers._executor is None)
        closed = c.post(RECORDS, json={"records": records(100, seed=4, prefix="s")}).json()
        second = wait_for(
            lambda: (w := store.windows.get(closed["closed"][0])) and w.run_id and w, timeout=60
        )
        assert store.get(second.run_id).n_images == 100
        assert set(closers._executor._processes).isdisjoint(pids)


def test_a_server_process_freezes_its_start_up_and_spaces_collections() -> None:
    code = (
        "import gc; from visiondrift.service._gc import YOUNG, settle; "
        "before = gc.get_threshold(); settle(); "
        "print(gc.get_freeze_count() > 1000, gc.get_threshold()[0] == YOUNG, before[0] < YOUNG)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["True", "True", "True"]


def test_a_window_claimed_while_the_closers_stop_is_given_back(
    tmp_path: Path, store: HistoryStore
) -> None:
    from visiondrift.service._close_process import Closers
    from visiondrift.store._windows import NewRecord, encode_probs

    settings = service_settings(tmp_path)
    row = NewRecord(record_id="r0", probs=encode_probs([0.2, 0.3, 0.5]))
    store.windows.append("shop", "b" * 32, [row], count_limit=None, seconds_limit=None)
    assert store.windows.close_now("shop") is not None
    window = store.windows.claim_closing("me:1:x", lease=60)
    assert window is not None
    closers = Closers(settings, store)
    closers.stop()
    closed = closers.close(window, "me:1:x", lambda _: predictions_baseline())
    assert closed.outcome == "retry"
    assert closed.reason == "the service stopped before it was closed"
    # Given back at once: another closer takes it without waiting for the lease.
    again = store.windows.claim_closing("other:2:y", lease=60)
    assert again is not None
    assert again.window_id == window.window_id
