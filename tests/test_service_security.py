"""Security of the service: a key on every /v1 route (401 / 403, enumerated from the OpenAPI
document), sources kept under the configured roots (traversal, encodings, symlinks, NUL), no
stack trace in a 500, CORS off by default, tokens never in responses or logs."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

from _service import running_service, service_settings
from visiondrift.service._problems import ServiceProblem
from visiondrift.service._sources import resolve_source
from visiondrift.settings import ServiceSettings, Settings
from visiondrift.store import HistoryStore

#: Routes a write key may not use (the admin scope's).
ADMIN_ONLY = {
    ("POST", "/v1/baselines"),
    ("POST", "/v1/baselines/images"),
    ("POST", "/v1/baselines/{baseline_id}/activate"),
    ("DELETE", "/v1/baselines/{baseline_id}"),
    ("POST", "/v1/datasets/{dataset}/window/close"),
}


def _status(client: httpx.Client, method: str, url: str, **kwargs: Any) -> int:
    """The status of a request, without reading the body (an event stream never ends)."""
    with client.stream(method, url, **kwargs) as answer:
        return answer.status_code


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "history.sqlite")


def _operations(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        if path.startswith("/v1/")
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def _concrete(path: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return "shop" if name == "dataset" else "0123456789abcdef" * 2

    return re.sub(r"\{([^}]+)\}", fill, path)


def test_every_v1_route_needs_a_key_with_its_scope(tmp_path: Path, history: HistoryStore) -> None:
    with running_service(service_settings(tmp_path), history) as served:
        with served.client(None) as anonymous:
            doc = anonymous.get("/openapi.json").json()
            operations = _operations(doc)
            assert len(operations) >= 15
            for method, path in operations:
                # (documented too: the records route checks its key itself, and says so)
                assert doc["paths"][path][method.lower()]["security"] == [{"HTTPBearer": []}]
                url = _concrete(path)
                answer = anonymous.request(method, url)
                assert answer.status_code == 401, (method, path, answer.text)
                assert answer.headers["www-authenticate"].startswith("Bearer")
                assert answer.headers["content-type"] == "application/problem+json"
                forged = anonymous.request(
                    method, url, headers={"Authorization": "Bearer vd_0123456789ab_" + "x" * 43}
                )
                assert forged.status_code == 401, (method, path)
                basic = anonymous.request(method, url, headers={"Authorization": "Basic eDp5"})
                assert basic.status_code == 401, (method, path)
        with served.client("read") as reader, served.client("write") as writer:
            for method, path in operations:
                url = _concrete(path)
                if method != "GET":
                    answer = reader.request(method, url)
                    assert answer.status_code == 403, (method, path, answer.text)
                    assert "needs" in answer.json()["detail"]
                if (method, path) in ADMIN_ONLY:
                    assert _status(writer, method, url) == 403, (method, path)
                else:
                    assert _status(writer, method, url) not in (401, 403), (method, path)


def test_a_revoked_key_stops_working(tmp_path: Path, history: HistoryStore) -> None:
    key, token = history.keys.create("soon-revoked", ["admin"])
    with running_service(service_settings(tmp_path), history) as served:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=served.url, headers=headers) as c:
            assert c.get("/v1/baselines").status_code == 200
            (used,) = [k for k in history.keys.list() if k.key_id == key.key_id]
            assert used.last_used_at is not None  # keys list shows it
            history.keys.revoke(key.key_id)
            served.app.state.vd.keys._seen.clear()  # the cache's TTL, skipped
            assert c.get("/v1/baselines").status_code == 401


# ------------------------------------------------------------------ sources


@pytest.fixture
def roots(tmp_path: Path) -> tuple[ServiceSettings, Path, Path]:
    root = tmp_path / "root"
    (root / "batch").mkdir(parents=True)
    (root / "batch" / "a.png").write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"x")
    config = ServiceSettings(roots=(root,), url_prefixes=("s3://bucket/prod/", "memory://ok"))
    return config, root, outside


def _refused(source: str, config: ServiceSettings) -> str:
    with pytest.raises(ServiceProblem) as caught:
        resolve_source(source, config)
    assert caught.value.status == 422
    assert caught.value.type.endswith("/source-not-allowed")
    return caught.value.detail or ""


def test_sources_under_a_root_are_allowed(roots: tuple[ServiceSettings, Path, Path]) -> None:
    config, root, _ = roots
    real = os.path.realpath(root / "batch")
    assert resolve_source("batch", config) == real
    assert resolve_source(str(root / "batch"), config) == real
    assert resolve_source("batch/", config) == real
    assert resolve_source("s3://bucket/prod/20261129", config) == "s3://bucket/prod/20261129"
    assert resolve_source("memory://ok/x", config) == "memory://ok/x"


@pytest.mark.parametrize(
    "source",
    [
        "../outside",
        "batch/../../outside",
        "%2e%2e%2foutside",
        "%2E%2E/outside",
        "..%2foutside",
        "%252e%252e%252foutside",
        "%25252e%25252e%25252foutside",
        "batch/..",
        "..\\outside",
        "batch\x00.png",
        "batch%00",
        "batch\n",
        "",
        "   ",
        "x" * 3000,
        "s3://bucket/prod/../secret",
        "s3://bucket/prod/%2e%2e/secret",
        "s3://bucket/production/x",
        "s3://bucket/other/x",
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data",
        "memory://okay/x",
    ],
)
def test_sources_that_leave_the_roots_are_refused(
    source: str, roots: tuple[ServiceSettings, Path, Path]
) -> None:
    _refused(source, roots[0])


def test_absolute_paths_and_symlinks_out_are_refused(
    roots: tuple[ServiceSettings, Path, Path],
) -> None:
    config, root, outside = roots
    assert "not under one of the service's roots" in _refused(str(outside), config)
    _refused("/etc", config)
    _refused(str(root) + "/../outside", config)
    (root / "link-out").symlink_to(outside)
    _refused("link-out", config)
    (root / "batch" / "leak.png").symlink_to(outside / "secret.png")
    assert "symbolic link" in _refused("batch", config)
    (root / "batch" / "leak.png").unlink()
    (root / "inner").mkdir()
    (root / "inner" / "deeper").symlink_to(outside)
    (root / "batch" / "hop").symlink_to(root / "inner")  # in, then out
    assert "symbolic link" in _refused("batch", config)
    (root / "batch" / "hop").unlink()
    (root / "batch" / "loop").symlink_to(root / "batch")  # a loop inside is fine
    assert resolve_source("batch", config) == os.path.realpath(root / "batch")


def test_list_files_and_other_files_are_refused(
    roots: tuple[ServiceSettings, Path, Path],
) -> None:
    config, root, _ = roots
    (root / "list.txt").write_text("/etc/passwd\n")
    assert "not a predictions file" in _refused("list.txt", config)


def test_no_roots_no_sources() -> None:
    assert "service.roots is empty" in _refused("batch", ServiceSettings())
    assert "service.url_prefixes is empty" in _refused("s3://b/x", ServiceSettings())


def test_traversal_over_http(tmp_path: Path, history: HistoryStore) -> None:
    root = tmp_path / "root"
    root.mkdir()
    settings = service_settings(tmp_path, roots=[str(root)])
    with running_service(settings, history) as served, served.client() as c:
        for source in ("../", "%2e%2e%2f", "%252e%252e%252f", "/etc", "a\x00b"):
            answer = c.post("/v1/baselines", json={"dataset": "shop", "source": source})
            assert answer.status_code == 422, source
            assert answer.headers["content-type"] == "application/problem+json"
        for path in ("/v1/datasets/..%2Fetc/runs", "/v1/datasets/%2e%2e/runs", "/v1/runs/..%2F"):
            assert c.get(path).status_code in (404, 422), path
        assert c.get("/v1/datasets/-bad/runs").status_code == 422
        assert c.get("/v1/datasets/" + "a" * 201 + "/runs").status_code == 422
        assert history.jobs.list() == []


# ------------------------------------------------------------------ errors, CORS, secrets


def test_a_500_has_no_stack_trace(
    tmp_path: Path, history: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("SECRET-DETAIL at /srv/private/path.py line 42")

    monkeypatch.setattr(HistoryStore, "runs", broken)
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        answer = c.get("/v1/datasets/shop/runs")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"].endswith("/internal")
    text = answer.text
    for leak in ("SECRET-DETAIL", "Traceback", "RuntimeError", "/srv/private", 'File "'):
        assert leak not in text


def test_cors_is_off_by_default(tmp_path: Path, history: HistoryStore) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client() as c:
        origin = {"Origin": "https://evil.example"}
        simple = c.get("/v1/baselines", headers=origin)
        assert "access-control-allow-origin" not in simple.headers
        preflight = c.options(
            "/v1/baselines",
            headers={**origin, "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in preflight.headers


def test_cors_when_configured_allows_only_its_origins(
    tmp_path: Path, history: HistoryStore
) -> None:
    settings = service_settings(tmp_path, cors_origins=["https://grafana.example"])
    with running_service(settings, history) as served, served.client() as c:
        good = c.get("/v1/baselines", headers={"Origin": "https://grafana.example"})
        assert good.headers["access-control-allow-origin"] == "https://grafana.example"
        bad = c.get("/v1/baselines", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers


def test_tokens_are_never_logged_nor_answered(
    tmp_path: Path, history: HistoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with running_service(service_settings(tmp_path), history) as served:
        token = served.tokens["admin"]
        secret = token.split("_", 2)[2]
        with served.client() as c:
            bodies = [
                c.get("/v1/baselines").text,
                c.get("/v1/jobs/" + "0" * 32).text,
                c.post("/v1/baselines", json={"dataset": "x", "profile": {}}).text,
            ]
        with served.client("read") as c:
            bodies.append(c.post("/v1/baselines", json={}).text)
        with httpx.Client(base_url=served.url) as c:
            bodies.append(c.get("/v1/baselines", headers={"Authorization": token + "x"}).text)
    for text in [*bodies, caplog.text]:
        assert secret not in text


def test_upload_over_the_request_limit_is_413(tmp_path: Path, history: HistoryStore) -> None:
    settings = Settings(service={"data_dir": str(tmp_path / "d"), "max_request_bytes": 4096})
    with running_service(settings, history) as served, served.client() as c:
        files = [("files", ("big.png", b"\x89PNG" + b"0" * 10_000, "image/png"))]
        answer = c.post("/v1/baselines/images", data={"dataset": "shop"}, files=files)
        assert answer.status_code == 413
        assert answer.json()["type"].endswith("/too-large")
    assert history.jobs.list() == []
