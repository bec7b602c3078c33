"""The ``history`` commands and ``baseline --from-history`` on a store of real monitor runs.

The runs are real: small batches of crops of real photos compared with a baseline by
``Monitor(...).run``, some recorded as they happen, some back-dated (recorded with an older
finishing time) so that periods, trends and retention have something to select.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from visiondrift import profile
from visiondrift.app import Monitor, Outputs, RunResult
from visiondrift.cli import run
from visiondrift.cli._history_common import parse_when
from visiondrift.cli._history_view import EXPORT_COLUMNS
from visiondrift.demo.samples import CameraChange, make_dataset
from visiondrift.drift import DriftReport
from visiondrift.profiles import Profile
from visiondrift.store import HistoryStore, head_revision

#: Days back each recorded run of dataset 'shop' finished, and the batch it compared.
SHOP_RUNS = ((100, "same"), (40, "same"), (10, "changed"))
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/test"
WITH_PASSWORD = "postgresql+psycopg://u:hunter2@127.0.0.1:1/x"


@pytest.fixture(scope="module")
def batches(
    photos: list[tuple[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """A baseline folder and two small batches (same camera; a camera change with one file
    that is not an image), 64x64 crops."""
    root = tmp_path_factory.mktemp("history_images")
    make_dataset(root / "base", 40, size=(64, 64), seed=21, photos=photos)
    make_dataset(root / "same", 20, size=(64, 64), seed=22, photos=photos)
    make_dataset(
        root / "changed", 20, size=(64, 64), seed=23, photos=photos, transform=CameraChange()
    )
    (root / "changed" / "broken.jpg").write_text("not an image\n", encoding="utf-8")
    return {name: root / name for name in ("base", "same", "changed")}


@pytest.fixture(scope="module")
def baseline(batches: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history_baseline") / "baseline.json"
    profile(batches["base"], workers=1).with_dataset("shop").save(path)
    return path


def _backdated(result: RunResult, days: int) -> RunResult:
    when = datetime.now(UTC) - timedelta(days=days)
    return replace(result, started_at=when, finished_at=when)


@dataclass(frozen=True)
class Template:
    """The recorded store and the ids of its runs (keys: '100d', '40d', '10d', 'other', 'now')."""

    path: Path
    ids: dict[str, str]


@pytest.fixture(scope="module")
def template(
    batches: dict[str, Path], baseline: Path, tmp_path_factory: pytest.TempPathFactory
) -> Template:
    """A SQLite store: three back-dated runs of 'shop', one of 'other', one recorded now."""
    path = tmp_path_factory.mktemp("history_store") / "history.sqlite"
    ids: dict[str, str] = {}
    with HistoryStore(path) as store:
        monitor = Monitor(baseline)
        for days, batch in SHOP_RUNS:
            end = datetime.now(UTC) - timedelta(days=days)
            result = monitor.run(batches[batch], window=(end - timedelta(days=1), end), workers=1)
            store.record(_backdated(result, days))
            ids[f"{days}d"] = result.run_id
        other = monitor.run(batches["same"], dataset="other", workers=1)
        store.record(_backdated(other, 5))
        ids["other"] = other.run_id
        now = Monitor(baseline, history=store).run(batches["changed"], workers=1)
        assert now.failures == ()
        ids["now"] = now.run_id
    return Template(path, ids)


@pytest.fixture
def store_path(template: Template, tmp_path: Path) -> Path:
    """A fresh copy of the template store for one test (tests may change it)."""
    target = tmp_path / "history.sqlite"
    shutil.copy(template.path, target)
    return target


@pytest.fixture
def ids(template: Template) -> dict[str, str]:
    return dict(template.ids)


@pytest.fixture(autouse=True)
def _no_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No settings file or variable of the repository or the machine leaks into a test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "160")  # a wide terminal, whatever runs the tests
    for name in ("VISIONDRIFT_CONFIG", "VISIONDRIFT_STORE", "VISIONDRIFT_STORE__URL"):
        monkeypatch.delenv(name, raising=False)


def vd(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in this process, as the console script does: (code, out, err)."""
    capsys.readouterr()
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _store(path: Path) -> HistoryStore:
    return HistoryStore(path)


# ------------------------------------------------------------------ list


def test_list_prints_runs_newest_first_and_json_matches_the_store(
    store_path: Path, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = vd(capsys, "history", "list", "--store", str(store_path))
    assert code == 0
    positions = [out.index(ids[k][:12]) for k in ("now", "other", "10d", "40d", "100d")]
    assert positions == sorted(positions)  # newest first
    assert "5 runs" in out
    assert str(store_path) in out

    code, out, _ = vd(capsys, "history", "list", "--store", str(store_path), "--json")
    assert code == 0
    listed = json.loads(out)
    with _store(store_path) as store:
        stored = store.runs()
    assert [r["run_id"] for r in listed] == [r.run_id for r in stored]
    for row, run_ in zip(listed, stored, strict=True):
        assert row["dataset"] == run_.dataset
        assert row["n_images"] == run_.n_images
        assert row["severity"] == run_.severity
        assert datetime.fromisoformat(row["ran_at"]) == run_.ran_at
    assert listed[-1]["window_start"] is not None  # the 100-day-old run had a window


def test_list_filters_by_dataset_period_and_limit(
    store_path: Path, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base = ("history", "list", "--store", str(store_path), "--json")
    code, out, _ = vd(capsys, *base, "--dataset", "shop", "--since", "50d")
    assert code == 0
    assert [r["run_id"] for r in json.loads(out)] == [ids["now"], ids["10d"], ids["40d"]]
    code, out, _ = vd(capsys, *base, "--until", "30d")
    assert [r["run_id"] for r in json.loads(out)] == [ids["40d"], ids["100d"]]
    code, out, _ = vd(capsys, *base, "--limit", "2")
    assert [r["run_id"] for r in json.loads(out)] == [ids["now"], ids["other"]]
    code, out, _ = vd(capsys, "history", "list", "--store", str(store_path), "--limit", "2")
    assert "--limit shows more" in out
    code, out, _ = vd(capsys, "history", "list", "--store", str(store_path), "--dataset", "none")
    assert code == 0
    assert "No runs of dataset 'none'" in out


# ------------------------------------------------------------------ show


def test_show_prints_the_record_metrics_drifted_first_and_explanations(
    store_path: Path, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = ids["10d"]
    code, out, _ = vd(capsys, "history", "show", run_id[:8], "--store", str(store_path))
    assert code == 0
    with _store(store_path) as store:
        rows = store.metrics(run_id)
        report = store.report(run_id)
        record = store.get(run_id)
    assert f"Run {run_id}" in out
    assert record.n_drifted > 0
    assert record.n_bad == 1
    ((reason, count),) = record.bad_counts.items()
    assert f"1 unusable ({reason} {count})" in out
    drifted = {r.name for r in rows if r.status == "drift"}
    table = out[out.index("Metrics") :].splitlines()[2 : 2 + len(rows)]
    names = [line.split()[0] for line in table]
    assert sorted(names) == sorted(r.name for r in rows)
    assert set(names[: len(drifted)]) == drifted  # drifted first
    flat = " ".join(out.split())
    for line in report.explanations:
        assert " ".join(line.split())[:40] in flat

    code, out, _ = vd(capsys, "history", "show", run_id[:8], "--store", str(store_path), "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["run"]["run_id"] == run_id
    assert shown["run"]["n_drifted"] == record.n_drifted
    assert shown["run"]["bad_counts"] == dict(record.bad_counts)
    assert shown["explanations"] == list(report.explanations)
    by_name = {m["name"]: m for m in shown["metrics"]}
    assert set(by_name) == {r.name for r in rows}
    for r in rows:
        assert by_name[r.name]["p_adjusted"] == r.p_adjusted
        assert by_name[r.name]["effect_size"] == r.effect_size
        assert by_name[r.name]["severity"] == r.severity


def test_show_unknown_or_bad_run_ids_exit_2(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = vd(capsys, "history", "show", "ffffffff", "--store", str(store_path))
    assert code == 2
    assert "'ffffffff'" in err
    assert "history list" in err
    code, _, err = vd(capsys, "history", "show", "not-an-id", "--store", str(store_path))
    assert code == 2
    assert "hexadecimal" in err


def test_show_rerenders_the_stored_report_with_trends(
    store_path: Path, ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html, md = tmp_path / "run.html", tmp_path / "run.md"
    args = ("history", "show", ids["10d"], "--store", str(store_path))
    code, out, _ = vd(capsys, *args, "--html", str(html), "--markdown", str(md))
    assert code == 0, out
    assert f"Wrote {html}" in out
    assert f"Wrote {md}" in out
    summary = md.read_text(encoding="utf-8")
    assert "History" in summary  # the two earlier runs of 'shop' make trends
    assert "over 3 runs" in summary
    assert "<html" in html.read_text(encoding="utf-8").lower()
    code, _, err = vd(capsys, *args, "--markdown", str(md))
    assert code == 2
    assert "already exists" in err
    code, _, _ = vd(capsys, *args, "--markdown", str(md), "--force")
    assert code == 0


# ------------------------------------------------------------------ trend


def test_trend_charts_a_metric_over_runs_with_its_bands(
    store_path: Path, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("history", "trend", "sharpness", "--dataset", "shop", "--store", str(store_path))
    code, out, _ = vd(capsys, *args)
    assert code == 0
    with _store(store_path) as store:
        series = store.trend("sharpness", dataset="shop")
    assert series is not None
    order = [ids[k][:12] for k in ("100d", "40d", "10d", "now")]
    lines = [next(line for line in out.splitlines() if key in line) for key in order]
    assert [out.index(line) for line in lines] == sorted(out.index(line) for line in lines)
    assert "◀ latest" in lines[-1]
    assert not any("◀ latest" in line for line in lines[:-1])
    low, medium, high = series.bands
    assert f"L low {low:g}, M medium {medium:g}, H high {high:g}" in out
    first, last = series.points[0], series.points[-1]
    assert f"effect size {first.effect_size:.3g} → {last.effect_size:.3g}" in out
    assert "█" in lines[-1]  # the camera change's effect is drawn

    code, out, _ = vd(capsys, *args, "--json", "--last", "2")
    assert code == 0
    data = json.loads(out)
    assert data["metric"] == "sharpness"
    assert data["bands"] == {"low": low, "medium": medium, "high": high}
    assert [p["run_id"] for p in data["points"]] == [ids["10d"], ids["now"]]
    assert [p["effect_size"] for p in data["points"]] == [p.effect_size for p in series.points[-2:]]


def test_trend_fits_a_narrow_terminal(
    store_path: Path,
    ids: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = vd(
        capsys, "history", "trend", "sharpness", "--dataset", "shop", "--store", str(store_path)
    )
    assert code == 0
    rows = [line for line in out.splitlines() if "·" in line or "█" in line]
    assert len(rows) == 4
    assert all(len(line) <= 80 for line in rows)
    assert ids["now"][:12] not in out  # the run ids give way to the chart
    assert "◀ latest" in rows[-1]


def test_trend_of_an_unknown_metric_lists_the_stored_names_closest_first(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = vd(capsys, "history", "trend", "sharpnes", "--store", str(store_path))
    assert code == 2
    assert "'sharpnes'" in err
    assert "Did you mean 'sharpness'?" in err
    listed = err.split("Stored metrics")[1]
    assert listed.index("sharpness") < listed.index("brightness")
    code, _, err = vd(
        capsys, "history", "trend", "sharpness", "--dataset", "nope", "--store", str(store_path)
    )
    assert code == 2
    assert "no metric rows of dataset 'nope'" in err


def test_trend_with_no_run_in_the_period_exits_2(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = vd(
        capsys, "history", "trend", "sharpness", "--since", "2099-01-01", "--store", str(store_path)
    )
    assert code == 2
    assert "No run" in err
    assert "'sharpness'" in err


# ------------------------------------------------------------------ durations


def test_durations_and_dates_are_parsed_into_utc_times() -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert parse_when("90d", now=now) == now - timedelta(days=90)
    assert parse_when("12h", now=now) == now - timedelta(hours=12)
    assert parse_when("30m", now=now) == now - timedelta(minutes=30)
    assert parse_when("2W", now=now) == now - timedelta(weeks=2)
    assert parse_when("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_when("2026-11-01T08:00Z") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert parse_when("2026-11-01T08:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    assert parse_when("2026-11-01T09:00+01:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    for bad in ("5x", "0d", "yesterday", "-3d", ""):
        with pytest.raises(ValueError, match="90d"):
            parse_when(bad)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("history", "list", "--since", "5x"), "--since"),
        (("history", "export", "--until", "last week"), "--until"),
        (("history", "prune", "--older-than", "0d", "--dry-run"), "--older-than"),
        (("baseline", "--from-history", "shop", "--since", "1y"), "--since"),
    ],
)
def test_bad_durations_exit_2_naming_the_option(
    args: tuple[str, ...], option: str, store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = vd(capsys, *args, "--store", str(store_path))
    assert code == 2
    assert option in err
    assert "90d, 12h, 30m, 2w" in err


def test_since_after_until_is_bad_usage(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = vd(
        capsys, "history", "list", "--since", "10d", "--until", "20d", "--store", str(store_path)
    )
    assert code == 2
    assert "--since" in err
    assert "--until" in err


# ------------------------------------------------------------------ export


def _read_export(path: Path, fmt: str) -> list[dict[str, object]]:
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    if fmt == "json":
        return list(json.loads(path.read_text(encoding="utf-8")))
    pq = pytest.importorskip("pyarrow.parquet")
    return list(pq.read_table(path).to_pylist())


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_round_trips_one_row_per_run_and_metric(
    fmt: str, store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"metrics.{fmt}"
    args = ("history", "export", "--format", fmt, "--store", str(store_path))
    code, said, _ = vd(capsys, *args, "-o", str(out))
    assert code == 0
    rows = _read_export(out, fmt)
    with _store(store_path) as store:
        metric_rows = store.metric_rows()
        runs = {r.run_id: r for r in store.runs()}
    assert len(rows) == len(metric_rows) == sum(r.n_tests for r in runs.values())
    assert f"Exported {len(rows)} rows ({len(runs)} runs)" in said
    assert list(rows[0]) == [name for name, _ in EXPORT_COLUMNS]
    for row, metric in zip(rows, metric_rows, strict=True):
        assert (row["run_id"], row["metric"]) == (metric.run_id, metric.name)
        stored = runs[metric.run_id]
        assert row["run_severity"] == stored.severity
        assert str(row["n_drifted"]) == str(stored.n_drifted)
        effect = row["effect_size"]
        assert (None if effect in ("", None) else float(str(effect))) == metric.effect_size
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, renamed

    code, said, _ = vd(capsys, *args, "--dataset", "other", "-o", str(out))
    assert code == 0
    assert len(_read_export(out, fmt)) == runs_of(store_path, "other")


def runs_of(store_path: Path, dataset: str) -> int:
    with _store(store_path) as store:
        return len(store.metric_rows(dataset=dataset))


def test_export_writes_csv_and_json_to_stdout_and_parquet_needs_a_file(
    store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("history", "export", "--store", str(store_path), "--dataset", "shop")
    code, out, _ = vd(capsys, *args, "--since", "50d")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    with _store(store_path) as store:
        expected = store.metric_rows(dataset="shop", since=datetime.now(UTC) - timedelta(days=50))
    assert len(rows) == len(expected)
    code, out, _ = vd(capsys, *args, "--format", "json")
    assert code == 0
    assert len(json.loads(out)) == runs_of(store_path, "shop")
    code, _, err = vd(capsys, *args, "--format", "parquet")
    assert code == 2
    assert "-o FILE" in err


# ------------------------------------------------------------------ prune


def test_prune_dry_run_changes_nothing_and_yes_removes_the_old_runs(
    store_path: Path, ids: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("history", "prune", "--older-than", "30d", "--store", str(store_path))
    code, out, _ = vd(capsys, *args, "--dry-run")
    assert code == 0
    assert "Would remove 2 runs" in out
    assert "nothing changed" in out
    with _store(store_path) as store:
        assert len(store.runs()) == 5
    code, _, err = vd(capsys, *args)  # not a terminal, no --yes: refused
    assert code == 2
    assert "--yes" in err
    with _store(store_path) as store:
        assert len(store.runs()) == 5
    code, out, _ = vd(capsys, *args, "--yes")
    assert code == 0
    assert "Removed 2 runs" in out
    with _store(store_path) as store:
        left = {r.run_id for r in store.runs()}
        assert left == {ids["now"], ids["other"], ids["10d"]}
        assert {m.run_id for m in store.metric_rows()} == left
    code, out, _ = vd(capsys, *args, "--yes")
    assert code == 0
    assert "Nothing to prune" in out
    code, _, err = vd(capsys, *args, "--yes", "--dry-run")
    assert code == 2


def test_prune_keep_metrics_drops_only_the_documents(
    store_path: Path, ids: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("history", "prune", "--older-than", "30d", "--keep-metrics", "--store", str(store_path))
    code, out, _ = vd(capsys, *args, "--dry-run")
    assert "Would remove the stored reports and batch profiles of 2 runs" in out
    with _store(store_path) as store:
        before = len(store.metric_rows())
    code, out, _ = vd(capsys, *args, "-y")
    assert code == 0
    assert "Dropped the stored reports and batch profiles of 2 runs" in out
    with _store(store_path) as store:
        assert len(store.runs()) == 5
        assert len(store.metric_rows()) == before
        old = store.get(ids["40d"])
        assert not old.has_report
        assert not old.has_profile
    code, out, _ = vd(capsys, "history", "show", ids["40d"], "--store", str(store_path))
    assert code == 0
    assert "the report was pruned" in out
    code, _, err = vd(
        capsys,
        "history",
        "show",
        ids["40d"],
        "--html",
        str(tmp_path / "x.html"),
        "--store",
        str(store_path),
    )
    assert code == 2
    assert "pruned" in err


# ------------------------------------------------------------------ import


def test_import_records_a_report_once(
    baseline: Path, batches: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_file, profile_file = tmp_path / "report.json", tmp_path / "batch.json"
    result = Monitor(baseline).run(
        batches["changed"],
        dataset="shop",
        outputs=Outputs(report=report_file, profile=profile_file),
        workers=1,
    )
    store_file = tmp_path / "imported.sqlite"
    args = ("history", "import", str(report_file), "--store", str(store_file))
    code, out, _ = vd(capsys, *args, "--profile", str(profile_file))
    assert code == 0
    assert f"Recorded run {result.run_id} of dataset 'shop'" in out
    assert "with its batch profile" in out
    with _store(store_file) as store:
        stored = store.get(result.run_id)
        assert stored.dataset == "shop"
        assert stored.has_profile
        assert store.profile(result.run_id) == result.profile
        assert len(store.metrics(result.run_id)) == result.report.n_tests

    code, out, _ = vd(capsys, *args)
    assert code == 0
    assert "already in the history store" in out
    assert "nothing changed" in out
    with _store(store_file) as store:
        assert len(store.runs()) == 1

    code, out, _ = vd(capsys, *args, "--replace", "--dataset", "relabelled")
    assert code == 0
    assert "Replaced run" in out
    with _store(store_file) as store:
        assert [r.dataset for r in store.runs()] == ["relabelled"]

    code, _, err = vd(capsys, *args, "--replace", "--profile", str(baseline))
    assert code == 2
    assert "is not the batch of the report" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    code, _, err = vd(capsys, "history", "import", str(bad), "--store", str(store_file))
    assert code == 2
    assert "bad.json" in err
    assert DriftReport.load(report_file).run is not None


# ------------------------------------------------------------------ migrate / where


def test_where_and_migrate_on_a_new_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "new" / "history.sqlite"
    code, out, _ = vd(capsys, "history", "where", "--store", str(path))
    assert code == 0
    assert f"Store: {path}" in out
    assert "From: command line --store" in out
    assert "none yet" in out
    assert not path.exists()  # asking where does not create it
    code, out, _ = vd(capsys, "history", "migrate", "--store", str(path))
    assert code == 0
    assert f"revision (empty) -> {head_revision()}" in out
    code, out, _ = vd(capsys, "history", "migrate", "--store", str(path))
    assert f"already at revision {head_revision()}" in out


def test_a_store_of_a_newer_release_is_refused_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    path = tmp_path / "newer.sqlite"
    assert vd(capsys, "history", "migrate", "--store", str(path))[0] == 0
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE vd_alembic_version SET version_num = '0099'")
    for command in (("list",), ("migrate",)):
        code, _, err = vd(capsys, "history", *command, "--store", str(path))
        assert code == 2, command
        assert "schema revision '0099'" in err
        assert f"up to '{head_revision()}'" in err
        assert "Upgrade visiondrift" in err


def test_the_store_comes_from_the_environment_variable(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VISIONDRIFT_STORE", str(store_path))
    code, out, _ = vd(capsys, "history", "where")
    assert code == 0
    assert f"Store: {store_path}" in out
    assert "VISIONDRIFT_STORE" in out
    assert f"{head_revision()} (the latest)" in out
    code, out, _ = vd(capsys, "history", "list", "--json")
    assert len(json.loads(out)) == 5


def test_the_store_comes_from_a_settings_file(
    store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(f"[store]\nurl = {json.dumps(str(store_path))}\n", encoding="utf-8")
    code, out, _ = vd(capsys, "history", "where", "--config", str(config))
    assert code == 0
    assert f"Store: {store_path}" in out
    assert f"From: {config}" in out
    code, out, _ = vd(capsys, "history", "list", "--json", "--config", str(config))
    assert code == 0
    assert len(json.loads(out)) == 5
    elsewhere = tmp_path / "elsewhere.sqlite"  # the command line wins over the file
    code, out, _ = vd(
        capsys, "history", "where", "--config", str(config), "--store", str(elsewhere)
    )
    assert f"Store: {elsewhere}" in out


# ------------------------------------------------------------------ baseline --from-history


def test_baseline_from_history_merges_the_periods_stored_profiles(
    store_path: Path,
    ids: dict[str, str],
    batches: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "rolling.json"
    code, said, _ = vd(
        capsys,
        "baseline",
        "--from-history",
        "shop",
        "--since",
        "60d",
        "--store",
        str(store_path),
        "-o",
        str(out),
    )
    assert code == 0, said
    rolling = Profile.load(out)
    with _store(store_path) as store:
        since = datetime.now(UTC) - timedelta(days=60)
        stored = list(store.profiles(dataset="shop", since=since))
    assert [r.run_id for r, _ in stored] == [ids["40d"], ids["10d"], ids["now"]]
    merged = Profile.merge_all([p for _, p in stored])
    history = rolling.extra["history"]
    assert history["runs"] == [ids["40d"], ids["10d"], ids["now"]]
    assert history["n_runs"] == 3
    assert history["dataset"] == "shop"
    assert history["store"] == str(store_path)
    assert history["runs_without_profile"] == 0
    without = replace(rolling, extra={k: v for k, v in rolling.extra.items() if k != "history"})
    assert without.equivalent(merged)
    assert rolling.dataset == "shop"
    assert rolling.n_images == 60
    assert rolling.source_count == 3
    assert rolling.window == merged.window is not None
    assert "60 images from 3 runs of dataset 'shop'" in said

    # The rolling baseline works as any baseline: a monitor run against it, recorded.
    result = Monitor(rolling).run(batches["same"], workers=1)
    assert result.dataset == "shop"
    assert result.report.n_tests > 0
    code, said, _ = vd(
        capsys,
        "monitor",
        str(batches["same"]),
        "--baseline",
        str(out),
        "-o",
        str(tmp_path / "report.json"),
        "--store",
        str(store_path),
        "--workers",
        "1",
    )
    assert code in (0, 1), said
    assert "Recorded run" in said
    prefix = said.split("Recorded run ")[1].split()[0]
    with _store(store_path) as store:
        latest = store.runs(limit=1)[0]
    assert latest.run_id.startswith(prefix)
    assert latest.dataset == "shop"  # the rolling baseline's dataset
    assert "history_images" in latest.baseline_name  # the merged runs' sources


def test_baseline_from_history_counts_the_runs_without_a_profile(
    store_path: Path,
    baseline: Path,
    batches: dict[str, Path],
    ids: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _store(store_path) as store:
        bare = Monitor(baseline, history=store, keep_profiles=False).run(batches["same"], workers=1)
    out = tmp_path / "rolling.json"
    code, said, _ = vd(
        capsys,
        "baseline",
        "--from-history",
        "shop",
        "--since",
        "20d",
        "--store",
        str(store_path),
        "-o",
        str(out),
    )
    assert code == 0, said
    history = Profile.load(out).extra["history"]
    assert history["runs"] == [ids["10d"], ids["now"]]
    assert bare.run_id not in history["runs"]
    assert history["runs_without_profile"] == 1
    assert "Note: 1 run of the period had no stored profile" in said


def test_baseline_from_history_bad_usage_exits_2(
    store_path: Path, batches: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "b.json")
    store = ("--store", str(store_path), "-o", out)
    code, _, err = vd(capsys, "baseline", str(batches["same"]), "--from-history", "shop", *store)
    assert code == 2
    assert "DATA_DIR" in err
    assert "--from-history" in err
    code, _, err = vd(
        capsys, "baseline", "--from-history", "shop", "--since", "200d", "--until", "150d", *store
    )
    assert code == 2
    assert "no batch profile of dataset 'shop' between" in err
    assert "history list --dataset shop" in err
    code, _, err = vd(capsys, "baseline", "--from-history", "nope", *store)
    assert code == 2
    assert "'nope'" in err
    code, _, err = vd(capsys, "baseline", "--since", "3d", *store)
    assert code == 2
    assert "--from-history" in err
    code, _, err = vd(capsys, "baseline", "--from-history", "shop", "--seed", "3", *store)
    assert code == 2
    assert "--seed" in err
    assert not Path(out).exists()


def test_baseline_from_history_names_the_run_whose_settings_differ(
    store_path: Path, batches: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other_settings = profile(batches["base"], workers=1, reservoir_size=50).with_dataset("shop")
    with _store(store_path) as store:
        odd = Monitor(other_settings, history=store).run(batches["same"], workers=1)
    code, _, err = vd(
        capsys,
        "baseline",
        "--from-history",
        "shop",
        "--store",
        str(store_path),
        "-o",
        str(tmp_path / "b.json"),
    )
    assert code == 2
    assert odd.run_id in err
    assert "different settings" in err


# ------------------------------------------------------------------ unreachable stores


def _main(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith("VISIONDRIFT_")}
    return subprocess.run(
        [sys.executable, "-m", "visiondrift.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**environ, **(env or {})},
    )


def test_an_unreachable_store_exits_2_naming_it(tmp_path: Path) -> None:
    done = _main("history", "list", "--store", UNREACHABLE)
    assert done.returncode == 2, done.stderr
    assert "Cannot reach the history store" in done.stderr
    assert "postgres@127.0.0.1:1/test" in done.stderr
    done = _main("history", "trend", "sharpness", env={"VISIONDRIFT_STORE": UNREACHABLE})
    assert done.returncode == 2
    assert "postgres@127.0.0.1:1/test" in done.stderr
    done = _main(
        "baseline", "--from-history", "shop", "--store", UNREACHABLE, "-o", str(tmp_path / "b.json")
    )
    assert done.returncode == 2
    assert "Cannot reach the history store" in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("history", "list"),
        ("history", "where"),
        ("history", "migrate"),
        ("history", "prune", "--older-than", "1d", "-y"),
    ],
)
def test_a_password_in_the_store_url_is_never_printed(command: tuple[str, ...]) -> None:
    done = _main(*command, "--store", WITH_PASSWORD)
    assert done.returncode == 2
    assert "hunter2" not in done.stdout + done.stderr
    assert "u:***@127.0.0.1:1/x" in done.stdout + done.stderr


# ------------------------------------------------------------------ PostgreSQL

#: The PostgreSQL server of the store tests (CI runs one: trust authentication, database test).
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_copy(template: Template, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The template's runs recorded again in a fresh PostgreSQL schema (dropped afterwards);
    the commands find the schema through the settings' environment variable."""
    import uuid

    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=5, autocommit=True
        )
    except psycopg.OperationalError as err:
        pytest.fail(
            "PostgreSQL is not reachable on 127.0.0.1:5432 (trust authentication for user "
            f"postgres, database 'test'); the history store's tests need it: {err}"
        )
    schema = f"vd_cli_{uuid.uuid4().hex[:12]}"
    try:
        with HistoryStore(template.path) as source, HistoryStore(PG_URL, pg_schema=schema) as pg:
            for stored in reversed(source.runs()):
                pg.record_report(
                    source.report(stored.run_id),
                    run_id=stored.run_id,
                    dataset=stored.dataset,
                    window=stored.window,
                    profile=source.profile(stored.run_id),
                    ran_at=stored.ran_at,
                    started_at=stored.started_at,
                )
        monkeypatch.setenv("VISIONDRIFT_STORE__PG_SCHEMA", schema)
        yield schema
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def test_the_commands_on_a_postgresql_store(
    pg_copy: str,
    template: Template,
    ids: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = ("--store", PG_URL)
    code, out, _ = vd(capsys, "history", "list", "--json", *store)
    assert code == 0
    assert [r["run_id"] for r in json.loads(out)] == [
        ids[k] for k in ("now", "other", "10d", "40d", "100d")
    ]
    code, out, _ = vd(capsys, "history", "where", *store)
    assert f"Schema revision: {head_revision()} (the latest)" in out
    code, out, _ = vd(
        capsys, "history", "trend", "sharpness", "--dataset", "shop", "--json", *store
    )
    assert code == 0
    with HistoryStore(template.path) as sqlite:
        expected = sqlite.trend("sharpness", dataset="shop")
        n_rows = len(sqlite.metric_rows())
        since = datetime.now(UTC) - timedelta(days=60)
        merged = Profile.merge_all([p for _, p in sqlite.profiles(dataset="shop", since=since)])
    assert expected is not None
    assert [p["effect_size"] for p in json.loads(out)["points"]] == [
        p.effect_size for p in expected.points
    ]
    code, out, _ = vd(capsys, "history", "export", "--format", "json", *store)
    assert len(json.loads(out)) == n_rows
    rolling = tmp_path / "rolling.json"
    code, out, _ = vd(
        capsys, "baseline", "--from-history", "shop", "--since", "60d", "-o", str(rolling), *store
    )
    assert code == 0, out
    loaded = Profile.load(rolling)
    assert loaded.extra["history"]["runs"] == [ids["40d"], ids["10d"], ids["now"]]
    assert loaded.extra["history"]["store"] == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    without = replace(loaded, extra={k: v for k, v in loaded.extra.items() if k != "history"})
    assert without.equivalent(merged)
    code, out, _ = vd(capsys, "history", "prune", "--older-than", "30d", "--yes", *store)
    assert code == 0
    assert "Removed 2 runs" in out
    code, out, _ = vd(capsys, "history", "list", "--json", *store)
    assert len(json.loads(out)) == 3


def test_monitor_records_its_run_and_says_where(
    batches: dict[str, Path], baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "runs.sqlite"
    report = tmp_path / "r.json"
    code, out, _ = vd(
        capsys, "monitor", str(batches["changed"]), "--baseline", str(baseline),
        "-o", str(report), "--store", str(store), "--dataset", "shop", "--workers", "1",
        "--window", "2026-11-29T00:00Z/2026-11-30T00:00Z",
    )  # fmt: skip
    assert code == 1  # the camera change
    saved = DriftReport.load(report)
    assert saved.run is not None
    with HistoryStore(store) as history:
        (run,) = history.runs()
    assert run.run_id == saved.run.run_id
    assert run.dataset == "shop"
    assert run.window == (
        datetime(2026, 11, 29, tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
    )
    assert f"Recorded run {run.run_id[:12]} of dataset 'shop' in the history store {store}" in out
    # --no-store: the same run, nothing recorded.
    code, out, _ = vd(
        capsys, "monitor", str(batches["changed"]), "--baseline", str(baseline),
        "-o", str(tmp_path / "r2.json"), "--store", str(store), "--no-store", "--workers", "1",
    )  # fmt: skip
    assert code == 1
    assert "Recorded run" not in out
    with HistoryStore(store) as history:
        assert len(history.runs()) == 1


def test_monitor_with_an_unreachable_store_keeps_its_verdict_and_files(
    batches: dict[str, Path], baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    code, out, err = vd(
        capsys, "monitor", str(batches["changed"]), "--baseline", str(baseline),
        "-o", str(report), "--store", WITH_PASSWORD, "--workers", "1",
        "--summary-md", str(tmp_path / "r.md"),
    )  # fmt: skip
    assert code == 1  # the drift, not a store error (2) nor a crash (3)
    assert report.is_file()
    assert (tmp_path / "r.md").is_file()
    assert "Warning: the history run was not recorded:" in err
    assert "Cannot reach the history store postgresql+psycopg://u:***@127.0.0.1:1/x" in err
    assert f"visiondrift history import {report}" in err
    assert "hunter2" not in out + err
    # The run is re-sent later, once the store is there.
    store = tmp_path / "later.sqlite"
    code, out, _ = vd(capsys, "history", "import", str(report), "--store", str(store))
    assert code == 0
    with HistoryStore(store) as history:
        (run,) = history.runs()
    saved = DriftReport.load(report)
    assert saved.run is not None
    assert run.run_id == saved.run.run_id
