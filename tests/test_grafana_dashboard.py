"""The Grafana dashboard: generated from code, and every query it holds answers.

A real Prometheus (Debian's package, installed by scripts/install-system-deps.sh) scrapes a
running service every second; every PromQL expression of dashboards/visiondrift.json is run
against Prometheus's HTTP API and must return the series its panel expects, with the labels its
legend names and plausible values. Every SQL query runs against the real PostgreSQL store the
service writes, with Grafana's macros expanded, and must return rows with the expected columns.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("prometheus_client")

import httpx

from _metric_runs import (
    record_alerts,
    record_windows,
)
from _service import running_service, service_settings
from conftest import PG_URL, pg_connect
from visiondrift.store import HistoryStore

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "dashboards" / "visiondrift.json"
DATASETS = ("skin", "xray")
#: What $__rate_interval is here (Grafana makes it at least four scrape intervals): wide
#: enough that the test's traffic falls within it on a slow machine too.
RATE_INTERVAL = "5m"


def _targets(kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    out = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            key = "expr" if kind == "prometheus" else "rawSql"
            if key in target:
                out.append((panel, target))
    return out


def test_the_dashboard_file_is_current() -> None:
    pytest.importorskip("grafana_foundation_sdk")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "grafana_dashboard.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert result.returncode == 0, result.stderr


def test_the_dashboard_has_both_panel_sets_and_valid_structure() -> None:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert board["uid"] == "visiondrift"
    assert board["schemaVersion"] >= 39
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["postgres"]["query"] == "grafana-postgresql-datasource"
    assert variables["dataset"]["multi"]
    assert variables["dataset"]["includeAll"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    used = {"${datasource}", "${postgres}"}
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= 24
        assert grid["h"] > 0
        if panel["type"] == "row":
            continue
        assert panel["title"]
        assert panel.get("description")
        assert panel["datasource"]["uid"] in used
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
    prom, sql = _targets("prometheus"), _targets("sql")
    assert len(prom) >= 15
    assert len(sql) >= 6
    # headline metrics over time, their severity bands as thresholds
    from visiondrift.drift import DEFAULT_BANDS

    for panel in board["panels"]:
        match = re.fullmatch(r"(\w+): effect size", panel.get("title", ""))
        if match:
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            values = [s["value"] for s in steps[1:]]
            assert values in [list(b) for b in DEFAULT_BANDS.values()], panel["title"]
            style = panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"]
            assert style != "off"
    titles = {p.get("title") for p in board["panels"]}
    for name in ("brightness", "sharpness", "confidence", "class_mix", "bad_files"):
        assert f"{name}: effect size" in titles


# ------------------------------------------------------------------ a real Prometheus
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prometheus_binary() -> str:
    found = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None
    )
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus is not installed: run scripts/install-system-deps.sh as root")
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    return found


@pytest.fixture
def pg_store(pg_schema: str) -> Iterator[HistoryStore]:
    with HistoryStore(PG_URL, pg_schema=pg_schema) as store:
        store.migrate()
        yield store


def _until(what: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


class Prometheus:
    """A Prometheus server scraping ``target`` every second."""

    def __init__(self, tmp: Path, target: str) -> None:
        self.port = _free_port()
        config = tmp / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: visiondrift\n"
            "    metrics_path: /metrics\n"
            "    static_configs:\n"
            f"      - targets: ['{target}']\n",
            encoding="utf-8",
        )
        self.log = (tmp / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                _prometheus_binary(),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10.0)
        _until("Prometheus to be ready", self._ready)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.process.returncode}")
        try:
            return self.http.get("/-/ready").status_code == 200
        except httpx.TransportError:
            return False

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = self.http.get("/api/v1/query", params={"query": expr})
        body = answer.json()
        assert answer.status_code == 200, (expr, body)
        assert body["status"] == "success", (expr, body)
        assert body["data"]["resultType"] == "vector", expr
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _grafana_promql(expr: str) -> str:
    """``expr`` as Grafana sends it: variables substituted (all datasets selected)."""
    return expr.replace("$dataset", "|".join(DATASETS)).replace("$__rate_interval", RATE_INTERVAL)


def _in(low: float, high: float) -> Callable[[float], bool]:
    return lambda v: low <= v <= high


#: (panel title, refId) -> what each series' value must be; every target must be listed.
PLAUSIBLE: dict[tuple[str, str], Callable[[float], bool]] = {
    ("Severity of the latest window", "A"): _in(0, 3),
    ("Drift", "A"): _in(0, 1),
    ("Since the latest run", "A"): _in(0, 3600),
    ("Severity over time", "A"): _in(0, 3),
    ("brightness: effect size", "A"): _in(0, 1),
    ("sharpness: effect size", "A"): _in(0, 100),
    ("confidence: effect size", "A"): _in(0, 1),
    ("class_mix: effect size", "A"): _in(0, 1),
    ("bad_files: effect size", "A"): _in(0, 1),
    ("Headline metrics: adjusted p-values", "A"): _in(0, 1),
    ("Records per second", "A"): lambda v: v > 0,
    ("Records per second", "B"): lambda v: v > 0,
    ("Bad-file share", "A"): _in(1e-6, 1),
    ("Bad-file share", "B"): _in(0, 1),
    ("Unusable files by reason", "A"): lambda v: v > 0,
    ("Windows closed", "A"): lambda v: v >= 0,
    ("Records in the open window", "A"): lambda v: v >= 0,
    ("Verdicts waiting", "A"): lambda v: v >= 0,
    ("Alert deliveries", "A"): lambda v: v >= 0,
    ("Alert deliveries", "B"): lambda v: v >= 0,
    ("Alert delivery failures", "A"): lambda v: v >= 0,
    ("Alert delivery failures", "B"): lambda v: v >= 0,
    ("Request latency", "A"): _in(1e-6, 30),
    ("Request latency", "B"): _in(1e-6, 30),
    ("Requests per second", "A"): lambda v: v > 0,
    ("Queues and the store", "A"): lambda v: v >= 0,
    ("Queues and the store", "B"): lambda v: v == 1,
}

#: (panel title) -> the columns its SQL returns; every SQL panel must be listed.
SQL_COLUMNS: dict[str, list[str]] = {
    "Runs": [
        "time",
        "dataset",
        "severity",
        "drift",
        "n_drifted",
        "n_tests",
        "n_images",
        "n_bad",
        "mode",
        "run_id",
    ],
    "Severity per run": ["time", "metric", "severity"],
    "Headline metrics per run: effect size": ["time", "metric", "effect_size"],
    "Drifted metrics": [
        "time",
        "dataset",
        "name",
        "family",
        "severity",
        "p_adjusted",
        "effect_size",
        "effect_unit",
        "run_id",
    ],
    "Unusable files per run, by reason": ["time", "metric", "files"],
    "Alert outbox": [
        "time",
        "dataset",
        "channel",
        "event",
        "severity",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    ],
}


def _image_records(n: int, *, seed: int, bad: int) -> list[dict[str, Any]]:
    """``n`` records with a real PNG (distinct ids, metadata and names), ``bad`` of them an
    image that does not decode."""
    import base64

    import numpy as np

    from _records_helpers import png_base64, probabilities

    rng = np.random.default_rng(seed)
    out = []
    for i, p in enumerate(probabilities(n, seed=seed, shift=2.0)):
        if i < bad:
            image = base64.b64encode(b"not an image, record %d" % i).decode()
        else:
            image = png_base64(rng.integers(0, 255, size=(48, 48, 3), dtype=np.uint8))
        out.append(
            {
                "id": f"img-{seed}-{i}",
                "probabilities": p,
                "image": image,
                "metadata": {"path": f"/cameras/{seed}/{i}.png", "device": f"cam-{i}"},
            }
        )
    return out


def test_every_promql_expression_answers_from_a_real_prometheus(
    tmp_path: Path, pg_store: HistoryStore
) -> None:
    from _metric_runs import window_profile
    from _records_helpers import predictions_baseline, records

    # skin: a baseline of images with a model; its records carry an image (some unusable)
    # and drift. xray: a baseline of predictions; its records are of the same model.
    pg_store.baselines.add("skin", window_profile(60, 200))
    pg_store.baselines.add("xray", predictions_baseline())
    record_alerts(pg_store, "skin", "ops", ["sent", "rejected", "pending"])
    targets = _targets("prometheus")
    assert {(p["title"], t["refId"]) for p, t in targets} == set(PLAUSIBLE)
    settings = service_settings(
        tmp_path,
        window={"count": 60, "seconds": 3600},
        datasets={"skin": {"count": 30, "seconds": 3600}},
    )
    with running_service(settings, pg_store) as served:
        prometheus = Prometheus(tmp_path, served.url.removeprefix("http://"))
        try:
            _until(
                "two scrapes",
                lambda: bool(prometheus.query('count_over_time(up{job="visiondrift"}[1m]) >= 2')),
            )
            assert prometheus.query('up{job="visiondrift"}')[0]["value"][1] == "1"
            # records posted while Prometheus scrapes: two windows of each dataset close, and
            # a few records wait in the open ones
            with served.client("write") as c:
                for k in range(2):
                    posted = c.post(
                        "/v1/datasets/skin/records",
                        json={"records": _image_records(30, seed=k, bad=4)},
                    )
                    assert posted.status_code == 202, posted.text
                    posted = c.post(
                        "/v1/datasets/xray/records",
                        json={"records": records(60, seed=10 + k, prefix=f"x{k}-")},
                    )
                    assert posted.status_code == 202, posted.text
                    # Prometheus sees each round's windows closed before the next round: the
                    # closed-window counters then move within the range of a rate
                    closed = 2 * (k + 1)
                    _until(
                        f"{closed} windows closed, in Prometheus",
                        lambda n=closed: bool(
                            prometheus.query(
                                f'sum(visiondrift_windows_closed_total{{status="closed"}}) == {n}'
                            )
                        ),
                    )
                assert c.post(
                    "/v1/datasets/skin/records", json={"records": _image_records(7, seed=9, bad=1)}
                ).is_success
                assert c.post(
                    "/v1/datasets/xray/records", json={"records": records(5, seed=19)}
                ).is_success
            _until(
                "eight scrapes",
                lambda: bool(prometheus.query('count_over_time(up{job="visiondrift"}[1m]) >= 8')),
            )
            # The store's figures are read at most every two seconds: a scrape just after the
            # last posts may still show no open window.
            _until(
                "the records waiting in the open windows, in Prometheus",
                lambda: bool(prometheus.query("sum(visiondrift_window_open_records) == 12")),
            )
            answered = {}
            for panel, target in targets:
                expr = _grafana_promql(target["expr"])
                result = prometheus.query(expr)
                key = (panel["title"], target["refId"])
                assert result, f"{key}: {expr} returned no series"
                wanted = set(re.findall(r"\{\{(\w+)\}\}", target.get("legendFormat", "")))
                for s in result:
                    assert wanted <= set(s["metric"]), (key, s["metric"])
                    if "dataset" in s["metric"]:
                        assert s["metric"]["dataset"] in DATASETS, (key, s["metric"])
                    number = float(s["value"][1])
                    assert math.isfinite(number), (key, s)
                    assert PLAUSIBLE[key](number), (key, s)
                answered[key] = result
        finally:
            prometheus.close()

    def by_dataset(key: tuple[str, str]) -> dict[str, float]:
        return {s["metric"]["dataset"]: float(s["value"][1]) for s in answered[key]}

    assert by_dataset(("Severity of the latest window", "A")) == {"skin": 3.0, "xray": 0.0}
    assert by_dataset(("Drift", "A")) == {"skin": 1.0, "xray": 0.0}
    assert set(by_dataset(("Records per second", "A"))) == set(DATASETS)
    assert set(by_dataset(("Bad-file share", "A"))) == {"skin"}
    assert set(by_dataset(("class_mix: effect size", "A"))) == set(DATASETS)
    # only the dataset of images has image metrics
    assert set(by_dataset(("sharpness: effect size", "A"))) == {"skin"}
    assert set(by_dataset(("bad_files: effect size", "A"))) == {"skin"}
    assert by_dataset(("Records in the open window", "A")) == {"skin": 7.0, "xray": 5.0}
    assert by_dataset(("Verdicts waiting", "A")) == {"skin": 0.0, "xray": 0.0}
    closed = {
        (s["metric"]["dataset"], s["metric"]["status"]): float(s["value"][1])
        for s in answered[("Windows closed", "A")]
    }
    assert closed[("skin", "closed")] > 0  # the windows closed during the test
    assert closed[("xray", "closed")] > 0
    deliveries = {
        (s["metric"]["channel"], s["metric"]["status"]): float(s["value"][1])
        for s in answered[("Alert deliveries", "A")]
    }
    assert deliveries[("ops", "sent")] == 1
    assert deliveries[("ops", "rejected")] == 1
    failures = {float(s["value"][1]) for s in answered[("Alert delivery failures", "A")]}
    assert failures == {3.0}  # attempts 2 (sent) + 1 (rejected) + 1 (pending), less 1 sent
    routes = {s["metric"]["route"] for s in answered[("Requests per second", "A")]}
    assert routes == {"/v1/datasets/{dataset}/records", "/metrics"}  # templates, not paths


# ------------------------------------------------------------------ PostgreSQL panels
def _grafana_sql(sql: str, start: datetime, end: datetime) -> str:
    """``sql`` as Grafana's PostgreSQL data source runs it: macros and variables expanded."""

    def time_filter(match: re.Match[str]) -> str:
        return (
            f"{match.group(1)} BETWEEN '{start.isoformat().replace('+00:00', 'Z')}' AND "
            f"'{end.isoformat().replace('+00:00', 'Z')}'"
        )

    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", time_filter, sql)
    sql = sql.replace("$dataset", ", ".join(f"'{d}'" for d in DATASETS))
    assert "$" not in sql, sql
    return sql


def test_every_sql_panel_answers_from_the_postgresql_store(
    pg_store: HistoryStore, pg_schema: str
) -> None:
    record_windows(pg_store, "skin", shift=0.5, bad=10, seed=90)
    record_windows(pg_store, "xray", seed=100)
    record_alerts(pg_store, "skin", "ops", ["sent", "expired"])
    targets = _targets("sql")
    assert {p["title"] for p, _ in targets} == set(SQL_COLUMNS)
    end = datetime.now(UTC) + timedelta(minutes=1)
    start = end - timedelta(hours=6)
    conn = pg_connect()
    try:
        conn.execute(f'SET search_path TO "{pg_schema}"')
        for panel, target in targets:
            sql = _grafana_sql(target["rawSql"], start, end)
            cursor = conn.execute(sql)
            columns = [d.name for d in cursor.description]
            rows = cursor.fetchall()
            title = panel["title"]
            assert columns == SQL_COLUMNS[title], title
            assert rows, f"{title}: no rows"
            for row in rows:
                assert isinstance(row[0], datetime), title
                assert start <= row[0] <= end, title
            if target["format"] == "time_series":
                # Grafana's long format: time, the series' name, its numbers
                assert all(isinstance(r[1], str) for r in rows), title
                assert all(isinstance(r[2], int | float) for r in rows), title
                assert {r[1].split(" ")[0] for r in rows} <= set(DATASETS), title
        # the window outside the period filters everything out
        empty = _grafana_sql(targets[0][1]["rawSql"], start - timedelta(days=2), start)
        assert conn.execute(empty).fetchall() == []
    finally:
        conn.close()
