"""Batch runs over HTTP: 202 with the run id at once, the work in the pool through the Monitor
with the history and the settings' sinks, the report as JSON / HTML / Markdown for any stored
run, history and trends as JSON, 429 when the pool is full, interrupted jobs failed at start."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

from _service import running_service, service_settings
from visiondrift.app import RunResult
from visiondrift.store import HistoryStore


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "history.sqlite")


@pytest.fixture(scope="module")
def baseline_json(tmp_path_factory: pytest.TempPathFactory, photo_dir: Path) -> dict[str, Any]:
    import visiondrift

    profile = visiondrift.profile(photo_dir, workers=1, max_images=60)
    path = profile.save(tmp_path_factory.mktemp("profile") / "baseline.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture
def seen_runs() -> Iterator[list[RunResult]]:
    """Runs handed to a registered sink: the service builds its sinks from the settings."""
    from visiondrift.app import CallbackSink, register_sink_factory
    from visiondrift.app._sinks import unregister_sink_factory

    seen: list[RunResult] = []
    register_sink_factory("test-seen", lambda _: CallbackSink("test-seen", seen.append))
    try:
        yield seen
    finally:
        unregister_sink_factory("test-seen")


def _files(folder: Path, n: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    paths = sorted(folder.rglob("*.jpg"))[:n]
    return [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in paths]


def wait_run(client: httpx.Client, run_id: str, timeout: float = 90.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_batch_of_uploaded_images_end_to_end(
    tmp_path: Path,
    history: HistoryStore,
    baseline_json: dict[str, Any],
    changed_dir: Path,
    seen_runs: list[RunResult],
) -> None:
    settings = service_settings(tmp_path)
    with running_service(settings, history) as served, served.client() as c:
        assert c.post(
            "/v1/baselines", json={"dataset": "shop", "profile": baseline_json}
        ).is_success
        posted = c.post("/v1/datasets/shop/runs/images", files=_files(changed_dir, 40))
        assert posted.status_code == 202, posted.text
        run_id = posted.json()["job_id"]
        assert posted.json()["links"]["self"] == f"/v1/runs/{run_id}"
        done = wait_run(c, run_id)
        assert done["status"] == "done", done
        assert done["run"]["run_id"] == run_id
        assert done["run"]["dataset"] == "shop"
        assert done["run"]["n_images"] == 40
        # recorded in the store under the announced id, handed to the settings' sinks
        assert history.get(run_id).dataset == "shop"
        assert [r.run_id for r in seen_runs] == [run_id]
        report = c.get(f"/v1/runs/{run_id}/report")
        assert report.status_code == 200
        assert report.json()["run"]["run_id"] == run_id
        assert report.json()["overall_drift_detected"] is True  # a camera change
        page = c.get(f"/v1/runs/{run_id}/report.html")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<html" in page.text.lower()
        summary = c.get(f"/v1/runs/{run_id}/summary.md")
        assert summary.status_code == 200
        assert summary.headers["content-type"].startswith("text/markdown")
        cached = tmp_path / "service-data" / "reports"
        assert sorted(p.name for p in cached.iterdir()) == [f"{run_id}.html", f"{run_id}.md"]
        assert c.get(f"/v1/runs/{run_id}/summary.md").text == summary.text
        # history and trends as JSON
        datasets = c.get("/v1/datasets").json()
        assert [(d["dataset"], d["runs"], d["baselines"]) for d in datasets] == [("shop", 1, 1)]
        assert datasets[0]["last_run"]["run_id"] == run_id
        runs = c.get("/v1/datasets/shop/runs").json()
        assert [r["run_id"] for r in runs] == [run_id]
        metrics = c.get(f"/v1/runs/{run_id}/metrics").json()
        assert metrics
        assert metrics[0]["severity"] in ("low", "medium", "high")
        name = metrics[0]["name"]
        trend = c.get("/v1/datasets/shop/trends", params={"metric": name}).json()
        assert [(t["metric"], len(t["points"])) for t in trend] == [(name, 1)]
        unknown = c.get("/v1/datasets/shop/trends", params={"metric": "no_such_metric"})
        assert unknown.status_code == 404
        assert c.get("/v1/datasets/other/runs").json() == []


def test_batch_from_a_source_and_no_baseline(
    tmp_path: Path, history: HistoryStore, baseline_json: dict[str, Any], same_dir: Path
) -> None:
    settings = service_settings(tmp_path, roots=[str(same_dir.parent)])
    with running_service(settings, history) as served, served.client("write") as c:
        refused = c.post("/v1/datasets/shop/runs", json={"source": same_dir.name})
        assert refused.status_code == 409
        assert refused.json()["type"].endswith("/no-baseline")
        assert "POST /v1/baselines" in refused.json()["detail"]
        with served.client("admin") as admin:
            admin.post("/v1/baselines", json={"dataset": "shop", "profile": baseline_json})
        posted = c.post("/v1/datasets/shop/runs", json={"source": same_dir.name})
        assert posted.status_code == 202, posted.text
        done = wait_run(c, posted.json()["job_id"])
        assert done["status"] == "done", done
        assert done["run"]["n_images"] == 80
        outside = c.post("/v1/datasets/shop/runs", json={"source": "../" + same_dir.name})
        assert outside.status_code == 422


def test_any_stored_run_renders(
    tmp_path: Path, history: HistoryStore, baseline_json: dict[str, Any], same_dir: Path
) -> None:
    """A run recorded by another front end (the CLI, a window) is a run of the service."""
    from visiondrift.app import Monitor
    from visiondrift.profiles import Profile

    result = Monitor(Profile.from_dict(baseline_json), history=history).run(
        same_dir, dataset="cli", workers=1, max_images=20
    )
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        found = c.get(f"/v1/runs/{result.run_id}").json()
        assert found["status"] == "done"
        assert found["run"]["dataset"] == "cli"
        page = c.get(f"/v1/runs/{result.run_id}/report.html")
        assert page.status_code == 200
        assert c.get(f"/v1/runs/{'0' * 32}").status_code == 404
        assert c.get(f"/v1/runs/{'0' * 32}/report.html").status_code == 404


def test_full_pool_is_429_with_retry_after(
    tmp_path: Path, history: HistoryStore, baseline_json: dict[str, Any], same_dir: Path
) -> None:
    settings = service_settings(tmp_path, pool_workers=1, queue_size=1, retry_after=3)
    release = threading.Event()
    with running_service(settings, history) as served, served.client() as c:
        c.post("/v1/baselines", json={"dataset": "shop", "profile": baseline_json})
        pool = served.app.state.vd.pool
        held = [pool.submit(release.wait, 30) for _ in range(2)]
        try:
            busy = c.post("/v1/datasets/shop/runs/images", files=_files(same_dir, 3))
            assert busy.status_code == 429
            assert busy.headers["retry-after"] == "3"
            assert busy.json()["type"].endswith("/busy")
            assert history.jobs.list() == []  # a refused job is not left queued
        finally:
            release.set()
        for future in held:
            future.result(10)
        posted = c.post("/v1/datasets/shop/runs/images", files=_files(same_dir, 3))
        assert posted.status_code == 202


def test_report_of_an_unfinished_run_is_409(
    tmp_path: Path, history: HistoryStore, baseline_json: dict[str, Any], same_dir: Path
) -> None:
    settings = service_settings(tmp_path, pool_workers=1, queue_size=4)
    release = threading.Event()
    with running_service(settings, history) as served, served.client() as c:
        c.post("/v1/baselines", json={"dataset": "shop", "profile": baseline_json})
        held = served.app.state.vd.pool.submit(release.wait, 30)
        try:
            run_id = c.post("/v1/datasets/shop/runs/images", files=_files(same_dir, 3)).json()[
                "job_id"
            ]
            assert c.get(f"/v1/runs/{run_id}").json()["status"] == "queued"
            early = c.get(f"/v1/runs/{run_id}/report")
            assert early.status_code == 409
            assert early.json()["type"].endswith("/run-not-done")
        finally:
            release.set()
        held.result(10)
        assert wait_run(c, run_id)["status"] == "done"
        assert c.get(f"/v1/runs/{run_id}/report").status_code == 200


def test_jobs_of_a_stopped_process_are_failed_at_start(
    tmp_path: Path, history: HistoryStore
) -> None:
    host = socket.gethostname()[:80]
    dead_pid = _dead_pid()
    history.jobs.create("a" * 32, "shop", "run", owner=f"{host}:{dead_pid}:abcdef")
    history.jobs.create("b" * 32, "shop", "baseline", owner=f"{host}:{dead_pid}:abcdef")
    history.jobs.start("b" * 32)
    history.jobs.create("c" * 32, "shop", "run", owner="another-host:1:abcdef")
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        first = c.get(f"/v1/runs/{'a' * 32}").json()
        assert first["status"] == "failed"
        assert first["error"].startswith("interrupted")
        assert c.get(f"/v1/jobs/{'b' * 32}").json()["status"] == "failed"
        assert c.get(f"/v1/jobs/{'c' * 32}").json()["status"] == "queued"  # cannot tell


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    try:
        os.kill(child.pid, 0)
    except ProcessLookupError:
        return child.pid
    pytest.skip("the finished child's pid is in use again")


def test_a_batch_run_on_each_store(
    tmp_path: Path, store: HistoryStore, baseline_json: dict[str, Any], same_dir: Path
) -> None:
    """The same flow on SQLite and PostgreSQL: jobs, baselines and runs in either store."""
    with running_service(service_settings(tmp_path), store) as served, served.client() as c:
        assert c.post(
            "/v1/baselines", json={"dataset": "shop", "profile": baseline_json}
        ).is_success
        run_id = c.post("/v1/datasets/shop/runs/images", files=_files(same_dir, 10)).json()[
            "job_id"
        ]
        assert wait_run(c, run_id)["status"] == "done"
        assert c.get(f"/v1/runs/{run_id}/summary.md").status_code == 200
        assert [d["dataset"] for d in c.get("/v1/datasets").json()] == ["shop"]
