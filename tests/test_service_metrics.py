"""GET /metrics: the store's verdicts, the process counters, bounded labels, multi-process sums."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

from prometheus_client.parser import text_string_to_metric_families

from _metric_runs import record_windows
from _service import running_service, service_settings
from visiondrift.settings import Settings
from visiondrift.store import HistoryStore

ROOT = Path(__file__).resolve().parent.parent

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def series(found: Samples, prefix: str = "visiondrift_") -> set[tuple[str, tuple]]:
    """The series' identities (no _created companions)."""
    return {k for k in found if k[0].startswith(prefix) and not k[0].endswith("_created")}


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "history.sqlite")


def test_metrics_export_the_store_verdicts_and_the_counters(
    tmp_path: Path, history: HistoryStore
) -> None:
    drifted = record_windows(history, "skin", shift=0.5, bad=10, seed=10)[-1]
    clean = record_windows(history, "xray", seed=20)[-1]
    assert drifted.report.severity == "high"
    assert clean.report.severity == "none"
    with running_service(service_settings(tmp_path), history) as served:
        metrics = served.app.state.vd.metrics
        metrics.records("skin", 7, images=3)
        metrics.bad("skin", "truncated", 2)
        with served.client(None) as c:
            assert c.get("/healthz").status_code == 200
            answer = c.get("/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        found = samples(answer.text)
    assert value(found, "visiondrift_window_severity", dataset="skin") == 3
    assert value(found, "visiondrift_window_severity", dataset="xray") == 0
    assert value(found, "visiondrift_window_drift", dataset="skin") == 1
    assert value(found, "visiondrift_window_drift", dataset="xray") == 0
    assert value(found, "visiondrift_window_images", dataset="skin") == 120
    assert value(found, "visiondrift_window_bad_files", dataset="skin") == 10
    assert value(
        found, "visiondrift_window_last_run_timestamp_seconds", dataset="skin"
    ) == pytest.approx(history.get(drifted.run_id).ran_at.timestamp(), abs=1e-3)
    by_name = {m.name: m for m in drifted.report.metrics}
    for name, family in (
        ("brightness", "pixel_mean"),
        ("sharpness", "texture"),
        ("confidence", "confidence"),
        ("class_mix", "class_mix"),
        ("bad_files", "integrity"),
    ):
        m = by_name[name]
        assert m.family == family
        key = {"dataset": "skin", "family": family, "metric": name}
        assert value(found, "visiondrift_metric_p_value", **key) == pytest.approx(m.p_adjusted)
        assert value(found, "visiondrift_metric_effect_size", **key) == pytest.approx(m.effect_size)
        assert value(found, "visiondrift_metric_severity", **key) == (
            ["none", "low", "medium", "high"].index(m.severity)
        )
        assert value(found, "visiondrift_metric_band", severity="medium", **key) > 0
    # only headline metrics: no "outputs", "domain"...
    exported = {dict(k[1]).get("metric") for k in found if k[0] == "visiondrift_metric_p_value"}
    assert exported <= {"brightness", "sharpness", "confidence", "class_mix", "bad_files"}
    assert value(found, "visiondrift_records_received_total", dataset="skin") == 7
    assert value(found, "visiondrift_images_received_total", dataset="skin") == 3
    assert value(found, "visiondrift_bad_files_total", dataset="skin", reason="truncated") == 2
    assert value(found, "visiondrift_store_up") == 1
    assert (
        value(
            found,
            "visiondrift_http_request_duration_seconds_count",
            method="GET",
            route="/healthz",
            status="200",
        )
        == 1
    )


def test_openmetrics_when_asked(tmp_path: Path, history: HistoryStore) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client(None) as c:
        answer = c.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")


def test_metrics_need_a_read_key_only_when_metrics_auth(
    tmp_path: Path, history: HistoryStore
) -> None:
    with running_service(service_settings(tmp_path), history) as served, served.client(None) as c:
        assert c.get("/metrics").status_code == 200
    settings = service_settings(tmp_path, metrics_auth=True)
    with running_service(settings, history) as served:
        with served.client(None) as c:
            refused = c.get("/metrics")
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["www-authenticate"].startswith("Bearer")
            wrong = c.get(
                "/metrics", headers={"Authorization": "Bearer vd_0123456789ab_" + "x" * 43}
            )
            assert wrong.status_code == 401
        with served.client("read") as c:
            assert c.get("/metrics").status_code == 200


def test_label_sets_do_not_grow_with_paths_ids_or_datasets(
    tmp_path: Path, history: HistoryStore
) -> None:
    from _records_helpers import predictions_baseline, records
    from visiondrift.service._metrics_store import MAX_DATASETS

    record_windows(history, "skin", seed=30, runs=1)
    history.baselines.add("shop", predictions_baseline())

    def traffic(served: object, start: int, n: int) -> Samples:
        metrics = served.app.state.vd.metrics  # type: ignore[attr-defined]
        with served.client() as c:  # type: ignore[attr-defined]
            c.get("/metrics")  # so that the scrape's own series exist in both
            for i in range(start, start + n, 25):
                # records with distinct ids, metadata and paths in their metadata
                batch = records(25, seed=i, prefix=f"req-{i}-")
                for j, record in enumerate(batch):
                    record["metadata"] = {"path": f"/data/{i + j}.jpg", "device": f"d{i + j}"}
                answer = c.post("/v1/datasets/shop/records", json={"records": batch})
                assert answer.status_code == 202, answer.text
                # datasets that do not exist (409), raw paths, ids and query strings
                assert c.post(f"/v1/datasets/ds-{i}/records", json=batch[0]).status_code == 409
                c.get(f"/v1/no-such/{i:032x}", params={"id": f"r{i}", "path": f"/data/{i}.jpg"})
                c.get(f"/healthz?image=/srv/{i}.png")
                metrics.bad("skin", f"strange reason {i}")
            return samples(c.get("/metrics").text)

    settings = service_settings(tmp_path, window={"count": 100_000, "seconds": 3600})
    with running_service(settings, history) as served:
        few = traffic(served, 0, 25)
        many = traffic(served, 25, 500)
    assert series(many) == series(few)
    assert value(many, "visiondrift_records_received_total", dataset="shop") == 525
    assert value(many, "visiondrift_bad_files_total", dataset="skin", reason="_other") == 21
    routes = {
        dict(k[1])["route"]
        for k in many
        if k[0] == "visiondrift_http_request_duration_seconds_count"
    }
    assert routes == {"unmatched", "/healthz", "/metrics", "/v1/datasets/{dataset}/records"}
    datasets = {dict(k[1]).get("dataset") for k in many} - {None}
    assert datasets == {"skin", "shop"}
    # datasets: at most MAX_DATASETS per process, the rest under _other
    from visiondrift.service._metrics import ServiceMetrics

    metrics = ServiceMetrics(Settings(), history)
    for i in range(MAX_DATASETS + 50):
        metrics.records(f"ds{i}", 1)
    body, _ = metrics.render()
    counted = samples(body.decode())
    names = {dict(k[1])["dataset"] for k in counted if k[0] == "visiondrift_records_received_total"}
    assert len(names) == MAX_DATASETS + 1
    assert value(counted, "visiondrift_records_received_total", dataset="_other") == 50


def test_a_scrape_reads_the_store_once_per_ttl_and_anew_after_a_run(
    history: HistoryStore,
) -> None:
    from visiondrift.service._metrics import ServiceMetrics

    metrics = ServiceMetrics(Settings(), history, cache_seconds=3600)
    first = samples(metrics.render()[0].decode())
    assert ("visiondrift_window_severity", (("dataset", "skin"),)) not in first
    result = record_windows(history, "skin", shift=0.5, seed=40, runs=1)[-1]
    cached = samples(metrics.render()[0].decode())
    assert ("visiondrift_window_severity", (("dataset", "skin"),)) not in cached
    metrics.run_recorded(result, kind="window")
    fresh = samples(metrics.render()[0].decode())
    assert value(fresh, "visiondrift_window_severity", dataset="skin") == 3
    assert value(fresh, "visiondrift_runs_recorded_total", dataset="skin", kind="window") == 1
    # a window's images were counted as its records arrived; a batch's are counted with its run
    assert ("visiondrift_images_received_total", (("dataset", "skin"),)) not in fresh
    metrics.run_recorded(result, kind="batch")
    batch = samples(metrics.render()[0].decode())
    assert value(batch, "visiondrift_runs_recorded_total", dataset="skin", kind="batch") == 1
    assert value(batch, "visiondrift_images_received_total", dataset="skin") == 120


def test_an_unreachable_store_is_a_gauge_not_a_failed_scrape() -> None:
    from visiondrift.service._metrics import ServiceMetrics

    store = HistoryStore("postgresql+psycopg://postgres@127.0.0.1:1/test", timeout=1.0)
    metrics = ServiceMetrics(Settings(), store)
    metrics.records("skin", 1)
    found = samples(metrics.render()[0].decode())
    assert value(found, "visiondrift_store_up") == 0
    assert value(found, "visiondrift_records_received_total", dataset="skin") == 1


_WORKER = textwrap.dedent(
    """
    import sys
    from visiondrift.service._metrics import ServiceMetrics
    from visiondrift.settings import Settings
    from visiondrift.store import HistoryStore

    store = HistoryStore(sys.argv[1])
    metrics = ServiceMetrics(Settings(), store)
    n = int(sys.argv[2])
    metrics.records("skin", n, images=n // 2)
    metrics.bad("skin", "truncated", 1)
    metrics.observe_request("POST", "/v1/datasets/{dataset}/records", 202, 0.004)
    metrics.queue_depth("pool", n)
    """
)


def test_two_processes_sum_in_multiprocess_mode(
    tmp_path: Path, history: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visiondrift.errors import ConfigError
    from visiondrift.service._metrics import MULTIPROC_ENV, ServiceMetrics, prepare_multiprocess_dir

    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="not a folder"):
        ServiceMetrics(Settings(), history)
    monkeypatch.delenv(MULTIPROC_ENV)
    shared = prepare_multiprocess_dir(tmp_path / "prometheus")
    (shared / "counter_999999.db").write_bytes(b"left by an earlier run")
    shared = prepare_multiprocess_dir(shared)
    assert list(shared.iterdir()) == []
    record_windows(history, "skin", seed=50, runs=1)
    env = {**os.environ, MULTIPROC_ENV: str(shared), "PYTHONPATH": str(ROOT / "src")}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(tmp_path / "history.sqlite"), str(n)], env=env
        )
        for n in (10, 32)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    assert len(list(shared.glob("*.db"))) >= 2  # each process wrote its own files
    monkeypatch.setenv(MULTIPROC_ENV, str(shared))
    metrics = ServiceMetrics(Settings(), history)
    assert metrics.multiprocess_dir == str(shared)
    found = samples(metrics.render()[0].decode())
    assert value(found, "visiondrift_records_received_total", dataset="skin") == 42
    assert value(found, "visiondrift_images_received_total", dataset="skin") == 5 + 16
    assert value(found, "visiondrift_bad_files_total", dataset="skin", reason="truncated") == 2
    key = {"method": "POST", "route": "/v1/datasets/{dataset}/records", "status": "202"}
    assert value(found, "visiondrift_http_request_duration_seconds_count", **key) == 2
    # the store's figures are read once, not once per process
    assert value(found, "visiondrift_window_severity", dataset="skin") == 0
    assert sum(1 for k in found if k[0] == "visiondrift_window_severity") == 1
    # without the variable, a process keeps its values in memory again
    monkeypatch.delenv(MULTIPROC_ENV)
    alone = ServiceMetrics(Settings(), history)
    assert alone.multiprocess_dir is None
    alone.records("skin", 3)
    found = samples(alone.render()[0].decode())
    assert value(found, "visiondrift_records_received_total", dataset="skin") == 3


def test_docs_list_every_metric_and_only_those(history: HistoryStore) -> None:
    import re

    from _metric_runs import record_alerts, record_window_rows
    from visiondrift.service._metrics import ServiceMetrics

    result = record_windows(history, "skin", shift=0.5, bad=10, seed=110, runs=1)[-1]
    record_window_rows(
        history,
        "skin",
        closed=1,
        open_records=3,
        closing=[datetime.now(UTC) - timedelta(minutes=1)],
    )
    record_alerts(history, "skin", "ops", ["sent", "pending"])
    metrics = ServiceMetrics(Settings(), history)
    metrics.records("skin", 2, images=1)
    metrics.bad("skin", "truncated")
    metrics.observe_request("GET", "/healthz", 200, 0.001)
    metrics.queue_depth("pool", 1)
    metrics.run_recorded(result, kind="window")
    exported = set()
    for family in text_string_to_metric_families(metrics.render()[0].decode()):
        if family.name.endswith("_created"):  # the counters' start times
            continue
        assert family.samples, family.name
        exported.add(family.name + ("_total" if family.type == "counter" else ""))
    docs = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(visiondrift_\w+)` \|", docs, flags=re.MULTILINE))
    assert exported == documented


def test_windows_waiting_for_their_verdicts_and_how_far_behind(history: HistoryStore) -> None:
    """The verdict backlog per dataset: how many windows are closing, and when the oldest of
    them ended (a window closed and recorded, or still open, is not in it)."""
    from _metric_runs import record_window_rows
    from visiondrift.service._metrics import ServiceMetrics

    now = datetime.now(UTC).replace(microsecond=0)
    ends = [now - timedelta(minutes=3), now - timedelta(seconds=20), now]
    record_window_rows(history, "skin", closed=2, open_records=5, closing=ends)
    record_window_rows(history, "xray", closed=1, open_records=2)
    metrics = ServiceMetrics(Settings(), history)
    found = samples(metrics.render()[0].decode())
    assert value(found, "visiondrift_windows_closing", dataset="skin") == 3
    oldest = "visiondrift_windows_closing_oldest_end_timestamp_seconds"
    assert value(found, oldest, dataset="skin") == pytest.approx(ends[0].timestamp(), abs=1e-3)
    # No backlog: 0 waiting, and no oldest end (a dataset whose verdicts are all in is not
    # reported as behind).
    assert value(found, "visiondrift_windows_closing", dataset="xray") == 0
    assert (oldest, (("dataset", "xray"),)) not in found
    assert value(found, "visiondrift_windows_closed_total", dataset="skin", status="closed") == 2


def test_serve_with_two_workers_sums_their_counters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``visiondrift serve --workers 2`` as a real process: whichever worker answers a scrape,
    it renders the records and requests of both."""
    import httpx

    from _records_helpers import predictions_baseline, records
    from test_cli_serve import serving
    from visiondrift.service._metrics import MULTIPROC_ENV

    with HistoryStore(tmp_path / "history.sqlite") as store:
        store.baselines.add("shop", predictions_baseline())
        token = store.keys.create("loader", ["write"])[1]
    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "counter_999999.db").write_bytes(b"left by an earlier run")
    monkeypatch.setenv(MULTIPROC_ENV, str(shared))
    posts = 24
    with serving(tmp_path, "--workers", "2") as server:
        headers = {"Authorization": f"Bearer {token}"}
        for i in range(posts):  # a connection per request: the kernel hands them to either
            answer = httpx.post(
                server.url + "/v1/datasets/shop/records",
                json={"records": records(5, seed=i, prefix=f"p{i}-")},
                headers=headers,
                timeout=30,
            )
            assert answer.status_code == 202, answer.text
        # serve emptied the folder of an earlier run's values before the workers started
        assert not (shared / "counter_999999.db").exists()
        for _ in range(6):
            found = samples(httpx.get(server.url + "/metrics", timeout=30).text)
            assert value(found, "visiondrift_records_received_total", dataset="shop") == 5 * posts
            key = {"method": "POST", "route": "/v1/datasets/{dataset}/records", "status": "202"}
            assert value(found, "visiondrift_http_request_duration_seconds_count", **key) == posts
            assert value(found, "visiondrift_window_open_records", dataset="shop") == 5 * posts
