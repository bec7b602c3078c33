"""A real server process killed with SIGKILL while records are posted loses no acknowledged
record, and the windows it left are recorded exactly once after a restart (SQLite and
PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")

from _records_helpers import predictions_baseline, records
from test_service_records import wait_for
from visiondrift.store import HistoryStore

#: The server: uvicorn running create_app on 127.0.0.1, a free port written to a file. A short
#: lease, so that the windows a killed closer held are taken over soon after the restart.
SERVER = """
import os, sys, threading, time
import uvicorn
from visiondrift.service import create_app
from visiondrift.service._windows import WindowService
from visiondrift.settings import Settings
from visiondrift.store import HistoryStore

WindowService.lease = 2.0
url, schema, port_file, data_dir = sys.argv[1:5]
store = HistoryStore(url, pg_schema=schema or None)
settings = Settings(
    service={"data_dir": data_dir, "window": {"count": 400, "seconds": 3.0}, "pool_workers": 2}
)
server = uvicorn.Server(
    uvicorn.Config(
        create_app(settings, store=store), host="127.0.0.1", port=0, log_level="warning",
        access_log=False,
    )
)

def announce():
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(port_file + ".tmp", port_file)

threading.Thread(target=announce, daemon=True).start()
server.run()
"""


@contextmanager
def server_process(
    location: str, schema: str | None, tmp_path: Path, name: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A server process on the store; yields it and its URL; killed at the end if alive."""
    port_file = tmp_path / f"{name}.port"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER,
            location,
            schema or "",
            str(port_file),
            str(tmp_path / "data"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        wait_for(lambda: port_file.exists() or process.poll() is not None, timeout=60)
        assert process.poll() is None, (tmp_path / f"{name}.log").read_text()
        yield process, f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(30)
        log.close()


def test_sigkill_loses_no_acknowledged_record(
    tmp_path: Path, store_location: tuple[str, str | None]
) -> None:
    location, schema = store_location
    with HistoryStore(location, pg_schema=schema) as store:
        _kill_and_restart(store, location, schema, tmp_path)


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux's /proc)."""
    return [
        int(child)
        for task in Path(f"/proc/{pid}/task").glob("*/children")
        for child in task.read_text().split()
    ]


def _kill_and_restart(
    store: HistoryStore, location: str, schema: str | None, tmp_path: Path
) -> None:
    store.baselines.add("shop", predictions_baseline())
    _, token = store.keys.create("kill-test", ["write"])
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    failures: list[BaseException] = []

    def post(url: str, k: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            j = 0
            while not stop.is_set():
                batch = records(40, seed=1000 * k + j, prefix=f"t{k}-b{j}-")
                j += 1
                try:
                    answer = client.post("/v1/datasets/shop/records", json={"records": batch})
                except httpx.TransportError:  # the server was killed: not acknowledged
                    return
                if answer.status_code == 202:
                    with lock:
                        acknowledged.extend(r["id"] for r in batch)
                elif answer.status_code != 429:
                    failures.append(AssertionError(f"{answer.status_code}: {answer.text}"))
                    return

    with server_process(location, schema, tmp_path, "first") as (process, url):
        threads = [threading.Thread(target=post, args=(url, k)) for k in range(6)]
        for t in threads:
            t.start()
        # Mid-stream: some windows closed (or closing), records still pouring in.
        wait_for(lambda: len(acknowledged) >= 2000 and store.windows.list("shop", status="closed"))
        # Its record writer and closing process (and multiprocessing's resource tracker).
        children = _children(process.pid)
        assert len(children) >= 2, children
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        # None of them outlives the server.
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children))
        for t in threads:
            t.join(30)
        stop.set()
    assert not failures, failures
    killed_at = len(acknowledged)
    assert killed_at >= 2000
    left = [w.window_id for w in store.windows.list("shop", limit=None) if w.status != "closed"]
    assert left, "the kill left no window to close after the restart"
    with server_process(location, schema, tmp_path, "second"):
        # Every window ends closed: the open one by time, those left closing by the new closer.
        def settled() -> bool:
            windows = store.windows.list("shop", limit=None)
            return bool(windows) and all(w.status == "closed" for w in windows)

        wait_for(settled, timeout=180)
    windows = {w.window_id: w for w in store.windows.list("shop", limit=None)}
    stored: dict[str, str] = {}
    for window_id in windows:
        for r in store.windows.records(window_id):
            assert r.record_id is not None
            stored[r.record_id] = window_id
    missing = [rid for rid in acknowledged if rid not in stored]
    assert missing == [], f"{len(missing)} acknowledged records lost of {killed_at}"
    # Each window's run was recorded once, and counts every record of the window.
    runs = store.runs(dataset="shop")
    assert sorted(r.run_id for r in runs) == sorted(w.run_id for w in windows.values())
    by_window = {(r.window[0], r.window[1]) for r in runs if r.window is not None}
    assert len(by_window) == len(runs)
    for run in runs:
        window = windows[run.run_id]
        assert run.n_images == window.n_records
        assert store.windows.count_records("shop", window_id=window.window_id) == window.n_records
    assert sum(w.n_records for w in windows.values()) == len(stored)
    assert all(windows[w].run_id == w for w in left)
    print(
        f"kill test ({store.url}): {killed_at} records acknowledged before SIGKILL, "
        f"{len(stored)} stored, {len(windows)} windows ({len(left)} closed after the restart)"
    )
