"""The service's frame: health, readiness, problem details, keys and scopes, the size limit."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from _service import running_service, service_settings
from visiondrift.store import HistoryStore


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "history.sqlite")


def test_health_and_readiness_need_no_key(tmp_path: Path, history: HistoryStore) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client(None) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"store": True, "pool": True, "writer": True}


def test_unknown_route_is_problem_details(tmp_path: Path, history: HistoryStore) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        answer = c.get("/v1/no-such-thing")
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["status"] == 404
        assert body["title"] == "Not found"
        assert body["instance"] == "/v1/no-such-thing"


def test_body_over_the_limit_is_413_before_it_is_read(
    tmp_path: Path, history: HistoryStore
) -> None:
    settings = service_settings(tmp_path, max_request_bytes=2048)
    with running_service(settings, history) as served, served.client() as c:
        answer = c.post("/healthz", content=b"x" * 5000)
        assert answer.status_code == 413
        assert answer.json()["type"].endswith("/too-large")
        assert "2048 bytes" in answer.json()["detail"]


def test_keys_are_hashed_at_rest(tmp_path: Path, history: HistoryStore) -> None:
    import sqlite3

    key, token = history.keys.create("model-server", ["write"])
    secret = token.split("_", 2)[2]
    raw = (tmp_path / "history.sqlite").read_bytes()
    assert secret.encode() not in raw
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        (stored,) = db.execute(
            "SELECT secret_hash FROM vd_api_keys WHERE key_id = ?", (key.key_id,)
        ).fetchone()
    assert stored != secret
    assert len(stored) == 64
    assert history.keys.verify(token) == key
    assert history.keys.verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
