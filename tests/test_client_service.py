"""visiondrift.client against the real service (uvicorn on 127.0.0.1, a SQLite store): records
logged in batches land in windows whose verdicts the client reads back; labels join; the
service's refusals come back as ServiceError with the problem details."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")

from _records_helpers import predictions_baseline, probabilities
from _service import running_service, service_settings
from test_service_records import wait_for
from visiondrift.client import AsyncClient, Client
from visiondrift.errors import ServiceError
from visiondrift.store import HistoryStore


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "history.sqlite")


def test_logged_records_make_windows_whose_verdicts_latest_reads(
    tmp_path: Path, history: HistoryStore
) -> None:
    settings = service_settings(tmp_path, window={"count": 150, "seconds": None})
    with running_service(settings, history) as served:
        with Client(served.url, served.tokens["admin"]) as admin:
            answer = admin.upload_baseline("shop", predictions_baseline(), name="v1")
            assert answer["dataset"] == "shop"
            assert admin.latest("shop") is None
        with Client(served.url, served.tokens["write"], batch_size=40, flush_interval=0.2) as c:
            for p in probabilities(150, seed=7):
                c.log("shop", np.asarray(p), metadata={"site": "lyon"})
            calm = wait_for(lambda: c.latest("shop"))
            for p in probabilities(150, seed=8, shift=3.0):
                c.log("shop", p)
            wait_for(lambda: (c.latest("shop") or {}).get("run_id") != calm["run_id"])
            drifted = c.latest("shop")
            assert drifted is not None
            runs = c.runs("shop")
        assert c.pending == 0
        assert c.dropped == 0
    assert calm["drift"] is False
    assert calm["dataset"] == "shop"
    assert calm["window_start"] is not None
    assert drifted["drift"] is True
    assert drifted["severity"] in ("medium", "high")
    assert [r["run_id"] for r in runs] == [drifted["run_id"], calm["run_id"]]
    assert history.windows.count_records("shop") == 300


def test_labels_join_records_logged_before(tmp_path: Path, history: HistoryStore) -> None:
    history.baselines.add("shop", predictions_baseline())
    with (
        running_service(service_settings(tmp_path), history) as served,
        Client(served.url, served.tokens["write"], flush_interval=None) as c,
    ):
        ids = [c.log("shop", p) for p in probabilities(5, seed=3)]
        assert c.label("shop", ids[0], "cat")["buffered"] == 1  # still held: labelled in place
        c.flush()
        assert c.label("shop", ids[1], "dog") == {
            "joined": 1,
            "late": 0,
            "unknown": 0,
            "buffered": 0,
        }
        assert c.label("shop", "no-such-record", "dog")["unknown"] == 1
    labels = {r.record_id: r.label for r in history.windows.records(_open_window(history))}
    assert labels[ids[0]] == "cat"
    assert labels[ids[1]] == "dog"


def _open_window(history: HistoryStore) -> str:
    window = history.windows.open_window("shop")
    assert window is not None
    return window.window_id


def test_the_services_refusals_are_service_errors_with_the_problem(
    tmp_path: Path, history: HistoryStore
) -> None:
    with running_service(service_settings(tmp_path), history) as served:
        # No baseline yet: 409, not retried, the batch dropped, the fix in the message.
        with Client(served.url, served.tokens["write"], flush_interval=None) as c:
            c.log("shop", [0.2, 0.3, 0.5])
            with pytest.raises(ServiceError) as info:
                c.flush()
            assert info.value.status == 409
            assert "shop" in str(info.value)
            assert "baseline" in str(info.value)
            assert info.value.problem["status"] == 409
            assert c.dropped == 1
        history.baselines.add("shop", predictions_baseline())
        # A key that does not exist: 401.
        with Client(served.url, "vd_000000000000_nope", flush_interval=None) as bad:
            bad.log("shop", [0.2, 0.3, 0.5])
            with pytest.raises(ServiceError) as info:
                bad.flush()
            assert info.value.status == 401
        # A read-only key: 403. Probabilities that are not a distribution: 422.
        with Client(served.url, served.tokens["read"], flush_interval=None) as reader:
            reader.log("shop", [0.2, 0.3, 0.5])
            with pytest.raises(ServiceError, match="scope") as info:
                reader.flush()
            assert info.value.status == 403
        with Client(served.url, served.tokens["write"], flush_interval=None) as c:
            c.log("shop", [0.2, 0.3, 0.4])
            with pytest.raises(ServiceError, match="sum to 1") as info:
                c.flush()
            assert info.value.status == 422
    assert history.windows.count_records("shop") == 0


def test_the_async_client_on_the_real_service(tmp_path: Path, history: HistoryStore) -> None:
    history.baselines.add("shop", predictions_baseline())
    settings = service_settings(tmp_path, window={"count": 100, "seconds": None})

    async def main(url: str, token: str) -> dict[str, object] | None:
        async with AsyncClient(url, token, batch_size=30, flush_interval=0.1) as c:
            for p in probabilities(100, seed=5):
                await c.log("shop", p)
            await c.flush()
            for _ in range(300):
                latest = await c.latest("shop")
                if latest is not None:
                    return latest
                await asyncio.sleep(0.05)
        return None

    with running_service(settings, history) as served:
        latest = asyncio.run(main(served.url, served.tokens["write"]))
    assert latest is not None
    assert latest["drift"] is False
    assert history.windows.count_records("shop") == 100
