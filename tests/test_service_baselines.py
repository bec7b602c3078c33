"""Baselines over HTTP: a saved profile (201), images or a source (202 and a job), list, show,
profile, activate, delete; one active baseline per dataset; limits."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

from _service import running_service, service_settings
from conftest import write_png_bomb
from visiondrift.profiles import Profile
from visiondrift.store import HistoryStore


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "history.sqlite")


@pytest.fixture(scope="module")
def saved_profile(tmp_path_factory: pytest.TempPathFactory, photo_dir: Path) -> dict[str, Any]:
    import visiondrift

    profile = visiondrift.profile(photo_dir, workers=1, max_images=40)
    path = profile.save(tmp_path_factory.mktemp("profile") / "baseline.json")
    import json

    data: dict[str, Any] = json.loads(path.read_text())
    return data


def wait_job(client: httpx.Client, url: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a job until it ends."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(url).json()
        if body["status"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_saved_profile_lifecycle(
    tmp_path: Path, history: HistoryStore, saved_profile: dict[str, Any]
) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        first = c.post("/v1/baselines", json={"dataset": "shop", "profile": saved_profile})
        assert first.status_code == 201, first.text
        one = first.json()
        assert one["active"] is True
        assert one["dataset"] == "shop"
        assert one["n_images"] == 40
        assert len(one["baseline_id"]) == 32
        second = c.post(
            "/v1/baselines", json={"dataset": "shop", "name": "retrained", "profile": saved_profile}
        ).json()
        assert c.get(f"/v1/baselines/{one['baseline_id']}").json()["active"] is False
        assert c.get(f"/v1/baselines/{second['baseline_id']}").json()["active"] is True
        listed = c.get("/v1/baselines", params={"dataset": "shop"}).json()
        assert [b["baseline_id"] for b in listed] == [second["baseline_id"], one["baseline_id"]]
        assert c.get("/v1/baselines", params={"dataset": "other"}).json() == []
        # the profile comes back whole
        back = c.get(f"/v1/baselines/{one['baseline_id']}/profile").json()
        assert Profile.from_dict(back).n_images == 40
        # activate the first: the second is no longer active (one per dataset)
        again = c.post(f"/v1/baselines/{one['baseline_id']}/activate")
        assert again.status_code == 200
        assert again.json()["active"] is True
        actives = [b for b in c.get("/v1/baselines").json() if b["active"]]
        assert [b["baseline_id"] for b in actives] == [one["baseline_id"]]
        # delete
        assert c.delete(f"/v1/baselines/{second['baseline_id']}").status_code == 204
        gone = c.get(f"/v1/baselines/{second['baseline_id']}")
        assert gone.status_code == 404
        assert gone.headers["content-type"] == "application/problem+json"
        assert c.delete(f"/v1/baselines/{second['baseline_id']}").status_code == 404
        assert c.post(f"/v1/baselines/{second['baseline_id']}/activate").status_code == 404
        assert c.get(f"/v1/baselines/{second['baseline_id']}/profile").status_code == 404


def test_bad_uploads_are_422_problems(
    tmp_path: Path, history: HistoryStore, saved_profile: dict[str, Any]
) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        damaged = c.post("/v1/baselines", json={"dataset": "shop", "profile": {"version": 1}})
        assert damaged.status_code == 422
        assert damaged.headers["content-type"] == "application/problem+json"
        both = c.post(
            "/v1/baselines",
            json={"dataset": "shop", "profile": saved_profile, "source": "x"},
        )
        assert both.status_code == 422
        assert "exactly one" in both.json()["detail"]
        bad_name = c.post("/v1/baselines", json={"dataset": "../etc", "profile": saved_profile})
        assert bad_name.status_code == 422
        assert c.get("/v1/baselines/not-an-id").status_code == 404
        assert history.baselines.list() == []


def test_a_profile_decoding_larger_images_than_allowed_is_refused(
    tmp_path: Path, history: HistoryStore, saved_profile: dict[str, Any]
) -> None:
    from visiondrift.settings import Settings

    settings = Settings(
        service={"data_dir": str(tmp_path / "data")},
        profile={"decode": {"max_pixels": 1000}},
    )
    with running_service(settings, history) as served, served.client() as c:
        refused = c.post("/v1/baselines", json={"dataset": "shop", "profile": saved_profile})
        assert refused.status_code == 422
        assert refused.json()["type"].endswith("/limits")
        assert "1,000" in refused.json()["detail"]


def _files(folder: Path, n: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    paths = sorted(p for p in folder.rglob("*.jpg"))[:n]
    assert len(paths) == n
    return [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in paths]


def test_baseline_from_uploaded_images(
    tmp_path: Path, history: HistoryStore, photo_dir: Path
) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        answer = c.post(
            "/v1/baselines/images",
            data={"dataset": "shop", "name": "uploaded"},
            files=_files(photo_dir, 20),
        )
        assert answer.status_code == 202, answer.text
        job = answer.json()
        assert job["kind"] == "baseline"
        assert job["status"] in ("queued", "running", "done")
        assert answer.headers["location"] == f"/v1/jobs/{job['job_id']}"
        done = wait_job(c, f"/v1/jobs/{job['job_id']}")
        assert done["status"] == "done", done
        assert c.get(f"/v1/runs/{job['job_id']}").status_code == 404  # not a run
        made = c.get(done["links"]["baseline"]).json()
        assert made["n_images"] == 20
        assert made["name"] == "uploaded"
        assert made["active"] is True
        assert made["kind"] == "images"


def test_upload_limits(tmp_path: Path, history: HistoryStore, photo_dir: Path) -> None:
    settings = service_settings(tmp_path, max_images=3)
    with running_service(settings, history) as served, served.client() as c:
        too_many = c.post(
            "/v1/baselines/images", data={"dataset": "shop"}, files=_files(photo_dir, 4)
        )
        assert too_many.status_code == 413
        assert too_many.json()["type"].endswith("/too-many-images")
        none = c.post("/v1/baselines/images", data={"dataset": "shop"})
        assert none.status_code == 422
        assert history.jobs.list() == []


def test_pixel_bomb_is_counted_not_decoded(
    tmp_path: Path, history: HistoryStore, photo_dir: Path
) -> None:
    from visiondrift.settings import Settings

    bomb = tmp_path / "bomb.png"
    write_png_bomb(bomb, 20000, 20000)
    settings = Settings(
        service={"data_dir": str(tmp_path / "data")},
        profile={"decode": {"max_pixels": 1_000_000}},
    )
    files = [*_files(photo_dir, 5), ("files", ("bomb.png", bomb.read_bytes(), "image/png"))]
    with running_service(settings, history) as served, served.client() as c:
        job = c.post("/v1/baselines/images", data={"dataset": "shop"}, files=files).json()
        done = wait_job(c, f"/v1/jobs/{job['job_id']}")
        assert done["status"] == "done", done
        profile = history.baselines.profile(done["baseline_id"])
        assert profile.n_images == 5
        assert profile.n_bad == 1
        assert dict(profile.bad_counts) == {"too_large": 1}


def test_baseline_from_a_source_under_a_root(
    tmp_path: Path, history: HistoryStore, photo_dir: Path
) -> None:
    settings = service_settings(tmp_path, roots=[str(photo_dir.parent)])
    with running_service(settings, history) as served, served.client() as c:
        answer = c.post("/v1/baselines", json={"dataset": "shop", "source": photo_dir.name})
        assert answer.status_code == 202, answer.text
        done = wait_job(c, answer.json()["links"]["self"])
        assert done["status"] == "done", done
        assert history.baselines.active("shop") is not None
        outside = c.post("/v1/baselines", json={"dataset": "shop", "source": "/etc"})
        assert outside.status_code == 422
        missing = c.post("/v1/baselines", json={"dataset": "shop", "source": "no-such-folder"})
        assert missing.status_code == 422


def test_a_failed_job_says_why(tmp_path: Path, history: HistoryStore) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        junk = [
            ("files", (f"{i}.jpg", io.BytesIO(b"not an image").read(), "image/jpeg"))
            for i in range(3)
        ]
        job = c.post("/v1/baselines/images", data={"dataset": "shop"}, files=junk).json()
        done = wait_job(c, f"/v1/jobs/{job['job_id']}")
        assert done["status"] == "failed"
        assert done["error"]
        assert "Traceback" not in done["error"]
        assert history.baselines.list() == []
