"""The event stream of a real service: each closed window's verdict as Server-Sent Events,
keep-alive comments, resuming with Last-Event-ID, and windows closed by another process."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

from _records_helpers import predictions_baseline, records
from _service import Served, running_service, service_settings
from test_service_records import wait_for
from visiondrift.store import HistoryStore

EVENTS = "/v1/datasets/shop/events"
RECORDS = "/v1/datasets/shop/records"


class Stream:
    """The lines of an event stream, read by a thread."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.status = 0
        self.headers: dict[str, str] = {}

    def events(self) -> list[dict[str, Any]]:
        """The complete events received so far: id, event and parsed data."""
        out: list[dict[str, Any]] = []
        current: dict[str, Any] = {}
        for line in list(self.lines):
            if not line:
                if "data" in current:
                    out.append(current)
                current = {}
            elif line.startswith(":"):
                continue
            else:
                field, _, value = line.partition(": ")
                current[field] = json.loads(value) if field == "data" else value
        return out


@contextmanager
def streaming(
    served: Served, *, last_event_id: str | None = None, replay: int = 0
) -> Iterator[Stream]:
    """Read ``/events`` in a thread until the block ends (the connection is then closed)."""
    stream = Stream()
    stop = threading.Event()
    failed: list[BaseException] = []
    headers = {"Authorization": f"Bearer {served.tokens['read']}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id

    def read() -> None:
        try:
            with (
                httpx.Client(base_url=served.url, headers=headers, timeout=30) as c,
                c.stream("GET", EVENTS, params={"replay": replay}) as answer,
            ):
                stream.status = answer.status_code
                stream.headers = dict(answer.headers)
                for line in answer.iter_lines():
                    stream.lines.append(line)
                    if stop.is_set():
                        return
        except BaseException as err:  # shown by the test
            failed.append(err)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        wait_for(lambda: stream.lines or failed)
        assert not failed, failed
        yield stream
    finally:
        stop.set()
        thread.join(10)


def test_closed_windows_stream_as_events(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    store.baselines.add("shop", predictions_baseline())
    settings = service_settings(tmp_path, heartbeat=0.3, window={"count": 60, "seconds": None})
    with running_service(settings, store) as served, served.client("write") as c:
        with streaming(served) as stream:
            assert stream.status == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            c.post(RECORDS, json={"records": records(60, seed=1, shift=3.0)})
            (event,) = wait_for(lambda: stream.events())
            wait_for(lambda: ": keep-alive" in stream.lines)
        assert event["event"] == "window"
        data = event["data"]
        window = store.windows.get(data["window_id"])
        assert window is not None
        assert data["run_id"] == window.run_id == window.window_id
        assert data["dataset"] == "shop"
        assert data["status"] == "closed"
        assert data["records"] == 60
        assert data["bad"] == 0
        assert data["drift"] is True
        assert data["severity"] in ("low", "medium", "high")
        assert data["window"]["start"] == window.opened_at.isoformat()
        names = [m["name"] for m in data["headline"]]
        assert "confidence" in names
        assert "class_mix" in names
        confidence = next(m for m in data["headline"] if m["name"] == "confidence")
        assert set(confidence) >= {"label", "family", "p_adjusted", "effect_size", "severity"}
        # Resume after that event: only the next window comes.
        c.post(RECORDS, json={"records": records(60, seed=2, prefix="s")})
        second_id = wait_for(lambda: len(store.windows.finished_after("shop", None)) == 2)
        assert second_id
        with streaming(served, last_event_id=event["id"]) as resumed:
            (again,) = wait_for(lambda: resumed.events())
        assert again["data"]["window_id"] != data["window_id"]
        assert again["data"]["drift"] is False
        # Replay the last two; a fresh stream without either sends nothing old.
        with streaming(served, replay=2) as replayed:
            both = wait_for(lambda: len(replayed.events()) == 2 and replayed.events())
        assert [e["data"]["window_id"] for e in both] == [
            data["window_id"],
            again["data"]["window_id"],
        ]
        with streaming(served) as fresh:
            wait_for(lambda: ": keep-alive" in fresh.lines)
            assert fresh.events() == []


def test_a_window_closed_by_another_process_reaches_the_stream(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    store.baselines.add("shop", predictions_baseline())
    settings = service_settings(tmp_path, heartbeat=5.0, window={"count": 30, "seconds": None})
    other = HistoryStore(tmp_path / "history.sqlite")
    with (
        running_service(settings, store) as served,
        running_service(settings, other) as second,
        streaming(served) as stream,
        second.client("write") as c,
    ):
        answer = c.post(RECORDS, json={"records": records(30, seed=1)}).json()
        (event,) = wait_for(lambda: stream.events(), timeout=30)
    assert event["data"]["window_id"] == answer["closed"][0]
