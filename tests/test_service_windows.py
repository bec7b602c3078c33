"""Windows of a real service: closed by count, by time and by hand, compared and recorded once
(also after a closer died), on SQLite and PostgreSQL; old records pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

from _records_helpers import predictions_baseline, records
from _service import running_service, service_settings
from test_service_records import wait_for
from visiondrift.service._metrics import ServiceMetrics
from visiondrift.service._windows import WindowService
from visiondrift.store import HistoryStore

RECORDS = "/v1/datasets/shop/records"


def _closed(store: HistoryStore, window_id: str) -> Any:
    found = store.windows.get(window_id)
    return found if found is not None and found.status == "closed" else None


def test_windows_close_by_count_and_record_their_runs(
    tmp_path: Path, store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[str] = []
    monkeypatch.setattr(
        ServiceMetrics, "window_recorded", lambda self, dataset: recorded.append(dataset)
    )
    store.baselines.add("shop", predictions_baseline())
    settings = service_settings(tmp_path, window={"count": 150, "seconds": None})
    with running_service(settings, store) as served, served.client("write") as c:
        same = c.post(RECORDS, json={"records": records(150, seed=7)}).json()
        shifted = c.post(RECORDS, json={"records": records(150, seed=8, shift=3.0)}).json()
        assert len(same["closed"]) == 1
        assert len(shifted["closed"]) == 1
        first = wait_for(lambda: _closed(store, same["closed"][0]))
        second = wait_for(lambda: _closed(store, shifted["closed"][0]))
    assert first.run_id == first.window_id
    calm, drifted = store.get(first.run_id), store.get(second.run_id)
    assert calm.n_images == 150
    assert not calm.drift
    assert drifted.drift
    assert drifted.severity in ("medium", "high")
    assert calm.window == (first.opened_at, first.end)
    assert calm.dataset == "shop"
    assert recorded == ["shop", "shop"]  # each window counted once, by the process that ran it
    assert len(store.runs(dataset="shop")) == 2


def test_a_window_closes_by_time(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    store.baselines.add("shop", predictions_baseline())
    settings = service_settings(tmp_path, window={"count": None, "seconds": 1.0})
    with running_service(settings, store) as served, served.client("write") as c:
        answer = c.post(RECORDS, json={"records": records(40, seed=7)}).json()
        assert answer["closed"] == []
        window_id = answer["window"]["window_id"]
        closed = wait_for(lambda: _closed(store, window_id))
        assert closed.end == closed.opened_at + timedelta(seconds=1)
        after = c.get("/v1/datasets/shop/window").json()
        assert after["window"] is None
    assert store.get(window_id).n_images == 40


def test_close_by_hand_and_a_new_baseline_closes_the_open_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WindowService, "baseline_ttl", 0.0)
    store = HistoryStore(tmp_path / "history.sqlite")
    store.baselines.add("shop", predictions_baseline())
    with running_service(service_settings(tmp_path), store) as served, served.client() as c:
        first = c.post(RECORDS, json={"records": records(30, seed=7)}).json()
        closing = c.post("/v1/datasets/shop/window/close")
        assert closing.status_code == 202
        assert closing.json()["window"]["window_id"] == first["window"]["window_id"]
        assert closing.json()["window"]["status"] == "closing"
        assert c.post("/v1/datasets/shop/window/close").json() == {"window": None}
        wait_for(lambda: _closed(store, first["window"]["window_id"]))
        second = c.post(RECORDS, json={"records": records(30, seed=9)}).json()
        store.baselines.add("shop", predictions_baseline(seed=2), name="retrained")
        third = c.post(RECORDS, json={"records": records(5, seed=10)}).json()
        assert third["closed"] == [second["window"]["window_id"]]
        wait_for(lambda: _closed(store, second["window"]["window_id"]))
    assert len(store.runs(dataset="shop")) == 2


def test_a_window_whose_closer_died_is_closed_once_after_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from visiondrift.store._schema import WINDOWS

    monkeypatch.setattr(WindowService, "lease", 2.0)
    store = HistoryStore(tmp_path / "history.sqlite")
    store.baselines.add("shop", predictions_baseline())
    settings = service_settings(tmp_path, window={"count": 50, "seconds": None})
    with running_service(settings, store) as served, served.client() as c:
        done = c.post(RECORDS, json={"records": records(50, seed=7)}).json()["closed"][0]
        wait_for(lambda: _closed(store, done))
    # The first closer recorded its run and died before marking the window closed; a second
    # window's closer died before its run. Both are 'closing', held by a dead process.
    baseline = store.baselines.active("shop")
    assert baseline is not None
    rows = store.windows.append(
        "shop",
        baseline.baseline_id,
        [_row(r) for r in records(50, seed=11)],
        count_limit=50,
        seconds_limit=None,
    )
    held = store.windows.claim_closing("dead:1:000000", lease=1.5)
    assert held is not None
    assert held.window_id == rows.windows[0]
    now = datetime.now(UTC)
    with store._write("faking a dead closer") as conn:
        conn.execute(
            update(WINDOWS)
            .where(WINDOWS.c.window_id == done)
            .values(
                status="closing",
                run_id=None,
                closed_at=None,
                claimed_by="dead:1:000000",
                claimed_until=now - timedelta(seconds=1),
            )
        )
    with running_service(settings, store):
        wait_for(lambda: _closed(store, done))
        again = wait_for(lambda: _closed(store, rows.windows[0]))
    assert store.windows.get(done).run_id == done  # type: ignore[union-attr]
    assert again.run_id == rows.windows[0]
    runs = store.runs(dataset="shop")
    assert sorted(r.run_id for r in runs) == sorted([done, rows.windows[0]])
    assert store.get(again.run_id).n_images == 50


def _row(record: dict[str, Any]) -> Any:
    from visiondrift.store._windows import NewRecord, encode_probs

    return NewRecord(record_id=record["id"], probs=encode_probs(record["probabilities"]))


def test_records_of_old_closed_windows_are_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WindowService, "prune_every", 0.0)
    store = HistoryStore(tmp_path / "history.sqlite")
    store.baselines.add("shop", predictions_baseline())
    settings = service_settings(tmp_path, window={"count": 20, "seconds": None}, keep_records=0.5)
    with running_service(settings, store) as served, served.client() as c:
        answer = c.post(RECORDS, json={"records": records(25, seed=7)}).json()
        closed = answer["closed"][0]
        wait_for(lambda: _closed(store, closed))
        wait_for(lambda: store.windows.count_records("shop", window_id=closed) == 0)
        # The open window's records stay.
        assert store.windows.count_records("shop") == 5
    assert store.get(closed).n_images == 20


def test_several_server_processes_share_a_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import httpx

    from test_cli_serve import serving

    store = HistoryStore(tmp_path / "history.sqlite")
    store.baselines.add("shop", predictions_baseline())
    _, token = store.keys.create("writer", ["write"])
    monkeypatch.setenv("VISIONDRIFT_SERVICE__WINDOW__COUNT", "100")
    monkeypatch.setenv("VISIONDRIFT_SERVICE__WINDOW__SECONDS", "3600")
    codes: list[int] = []

    def post(url: str, k: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            for j in range(8):
                batch = records(25, seed=100 * k + j, prefix=f"t{k}-{j}-")
                codes.append(c.post(RECORDS, json={"records": batch}).status_code)

    with serving(tmp_path, "--workers", "2") as server:
        threads = [threading.Thread(target=post, args=(server.url, k)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert codes == [202] * 48

        seen: list[Any] = []

        def settled() -> bool:
            found = store.windows.list("shop", limit=None)
            seen[:] = [(w.status, w.claimed_by, w.claimed_until) for w in found]
            return all(w.status in ("open", "closed", "failed") for w in found)

        try:
            wait_for(settled, timeout=120)
        except BaseException:
            print("windows:", seen, "\nserver log:", "".join(server.stderr)[-3000:])
            raise
    windows = store.windows.list("shop", limit=None)
    assert [w.reason for w in windows if w.status == "failed"] == []
    assert store.windows.count_records("shop") == 6 * 8 * 25
    assert [w.status for w in windows].count("open") == 0  # 1200 records: 12 full windows
    assert len(windows) == 12
    for w in windows:
        assert w.n_records == 100
        assert [r.seq for r in store.windows.records(w.window_id)] == list(range(100))
    runs = store.runs(dataset="shop")
    assert sorted(r.run_id for r in runs) == sorted(w.window_id for w in windows)
