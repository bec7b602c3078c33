"""The history store on real databases: SQLite files and PostgreSQL schemas.

Real monitor runs on crops of real photos (JPEG files carrying EXIF tags, plus a truncated and a
non-image file) are recorded through ``Monitor(history=store)``; every test runs on both
databases (the ``store`` fixture of conftest).
"""

from __future__ import annotations

import json
import math
import shutil
import zlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from visiondrift import profile
from visiondrift.app import Monitor, Outputs, RunResult
from visiondrift.demo.samples import CameraChange, make_dataset, real_photos
from visiondrift.drift import SEVERITIES, DriftReport, RunValues
from visiondrift.errors import ConfigError, RunNotFoundError, StoreError
from visiondrift.profiles import Profile
from visiondrift.store import ANY_DATASET, HistoryStore, head_revision

#: The latest schema revision.
HEAD = "0008"

#: EXIF text written into every batch image: none of it may reach the store.
EXIF_TEXT = {
    0x010E: "vdprivate patient 4417 left forearm",  # ImageDescription
    0x010F: "VDCAMERA-MAKE-9931",  # Make
    0x0110: "VDCAMERA-MODEL-2208",  # Model
    0x013B: "Dr Secretname Vdtester",  # Artist
}


def _with_exif(folder: Path) -> None:
    for path in sorted(folder.glob("*.jpg")):
        exif = Image.Exif()
        for tag, text in EXIF_TEXT.items():
            exif[tag] = text
        with Image.open(path) as im:
            im.load()
            rgb = im.convert("RGB")
        rgb.save(path, "JPEG", exif=exif, quality=90)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A baseline folder and two batches (same camera, changed camera) of 56x56 crops."""
    photos = real_photos()
    root = tmp_path_factory.mktemp("store_images")
    make_dataset(root / "baseline", 48, size=(56, 56), seed=31, photos=photos)
    make_dataset(root / "same", 28, size=(56, 56), seed=32, photos=photos)
    make_dataset(
        root / "changed", 28, size=(56, 56), seed=33, photos=photos, transform=CameraChange()
    )
    for name in ("same", "changed"):
        _with_exif(root / name)
    whole = next(iter(sorted((root / "changed").glob("*.jpg")))).read_bytes()
    (root / "changed" / "zz_truncated.jpg").write_bytes(whole[: len(whole) // 3])
    (root / "changed" / "zz_notes.jpg").write_text("not an image\n")
    return {name: root / name for name in ("baseline", "same", "changed")}


@pytest.fixture(scope="module")
def baseline(images: dict[str, Path]) -> Profile:
    return profile(images["baseline"], workers=1, labels="none")


@pytest.fixture(scope="module")
def batches(images: dict[str, Path], baseline: Profile) -> dict[str, Profile]:
    """The two batches profiled once with the baseline's settings (a profile is a source)."""
    monitor = Monitor(baseline)
    return {name: monitor.profile(images[name], workers=1) for name in ("same", "changed")}


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _run(
    store: HistoryStore, baseline: Profile, batch: Profile, dataset: str | None = "skin", **kw: Any
) -> RunResult:
    result = Monitor(baseline, history=store, **kw).run(batch, dataset=dataset)
    assert result.failures == ()
    return result


# --- listing and finding runs ------------------------------------------------------------------


def test_runs_newest_first_and_filtered(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    assert store.runs() == []
    marks = [datetime.now(UTC)]
    results = []
    for name, dataset in (("same", "skin"), ("changed", "skin"), ("same", "eye"), ("same", None)):
        results.append(_run(store, baseline, batches[name], dataset))
        marks.append(datetime.now(UTC))
    ids = [r.run_id for r in results]
    assert [r.run_id for r in store.runs()] == ids[::-1]
    assert [r.run_id for r in store.runs(newest_first=False)] == ids
    assert [r.run_id for r in store.runs(limit=2)] == [ids[3], ids[2]]
    assert [r.run_id for r in store.runs(dataset="skin")] == [ids[1], ids[0]]
    assert [r.run_id for r in store.runs(dataset="eye")] == [ids[2]]
    assert [r.run_id for r in store.runs(dataset=None)] == [ids[3]]
    assert [r.run_id for r in store.runs(dataset=ANY_DATASET)] == ids[::-1]
    assert store.runs(dataset="nail") == []
    # since is inclusive, until exclusive; each mark lies between two runs.
    assert [r.run_id for r in store.runs(since=marks[1])] == [ids[3], ids[2], ids[1]]
    assert [r.run_id for r in store.runs(until=marks[2])] == [ids[1], ids[0]]
    assert [r.run_id for r in store.runs(since=marks[1], until=marks[3])] == [ids[2], ids[1]]
    assert [r.run_id for r in store.runs(dataset="skin", since=marks[1], limit=5)] == [ids[1]]
    # What a run row says is what the run said.
    for result, stored in zip(results, store.runs(newest_first=False), strict=True):
        report = result.report
        assert stored.dataset == result.dataset
        assert (stored.status, stored.drift, stored.severity) == (
            report.status,
            report.overall_drift_detected,
            report.severity,
        )
        assert (stored.n_tests, stored.n_drifted) == (report.n_tests, report.n_drifted)
        assert (stored.n_files, stored.n_images, stored.n_bad) == (
            report.current.n_files,
            report.current.n_images,
            report.current.n_bad,
        )
        assert stored.alpha == report.alpha
        assert stored.ran_at.tzinfo is not None
        assert marks[0] <= stored.started_at < stored.ran_at <= marks[-1]
        assert stored.started_at == result.started_at
        assert stored.ran_at < result.finished_at  # recorded before the last sink returned
        assert stored.has_report
        assert stored.has_profile
    assert results[1].report.overall_drift_detected  # the changed camera drifts
    assert store.runs(dataset="skin")[0].drift


def test_get_by_prefix_and_its_errors(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    result = _run(store, baseline, batches["same"])
    report = result.report.model_copy(update={"run": None})
    store.record_report(report, run_id="abc12300000000000000000000000001")
    store.record_report(report, run_id="abc12300000000000000000000000002")
    assert store.get(result.run_id).run_id == result.run_id
    assert store.get(result.run_id[:7]).run_id == result.run_id
    assert store.get(result.run_id[:7].upper()).run_id == result.run_id
    assert store.get(f"  {result.run_id[:9]}\n").run_id == result.run_id
    assert store.get("abc12300000000000000000000000001").run_id.endswith("1")
    taken = [r.run_id for r in store.runs()]
    unknown = next(c * 6 for c in "0123456789abcdef" if not any(t.startswith(c * 6) for t in taken))
    with pytest.raises(RunNotFoundError, match=rf"No run .* starting with '{unknown}'"):
        store.get(unknown)
    with pytest.raises(RunNotFoundError, match=r"Several runs .* 'abc123'; give more"):
        store.get("abc123")
    for bad in ("run-42", "xyz", "", "   "):
        with pytest.raises(RunNotFoundError, match="hexadecimal"):
            store.get(bad)
    for bad in ("run-42", "ABC123", "a" * 33, ""):  # every stored id can be looked up
        with pytest.raises(ConfigError, match="1 to 32 lower-case hexadecimal"):
            store.record_report(report, run_id=bad)
    with pytest.raises(KeyError):  # RunNotFoundError is a KeyError and a StoreError
        store.report(unknown)
    with pytest.raises(StoreError):
        store.metrics(unknown)


# --- what a run keeps ---------------------------------------------------------------------------


def test_report_profile_and_metric_rows_round_trip(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    paris = timezone(timedelta(hours=1))
    window = (datetime(2026, 11, 29, 8, tzinfo=paris), datetime(2026, 11, 29, 20, tzinfo=paris))
    result = Monitor(baseline, history=store).run(batches["changed"], dataset="skin", window=window)
    assert result.failures == ()
    assert store.report(result.run_id) == result.report
    assert store.report(result.run_id[:8]).run == result.report.run
    assert store.profile(result.run_id) == result.profile
    stored = store.get(result.run_id)
    assert stored.window == window
    assert stored.window is not None
    assert stored.window[0].utcoffset() == timedelta(0)  # kept and given back in UTC
    assert stored.window[0].hour == 7
    assert store.runs(newest_first=False)[0].window == window
    rows = store.metrics(result.run_id)
    by_name = {m.name: m for m in result.report.metrics}
    assert [r.name for r in rows] != []
    assert {r.name for r in rows} == set(by_name)
    assert len(rows) == len(result.report.metrics)
    # Most severe first.
    ranks = [SEVERITIES.index(r.severity) for r in rows]
    assert ranks == sorted(ranks, reverse=True)
    assert any(r.status == "drift" for r in rows)
    for row in rows:
        m = by_name[row.name]
        assert row.run_id == result.run_id
        assert row.dataset == "skin"
        assert (row.label, row.family, row.status, row.severity) == (
            m.label,
            m.family,
            m.status,
            m.severity,
        )
        assert (row.test, row.effect_unit, row.unit) == (m.test, m.effect_unit, m.unit)
        assert row.statistic == _finite(m.statistic)
        assert row.p_value == _finite(m.p_value)
        assert row.p_adjusted == _finite(m.p_adjusted)
        assert row.effect_size == _finite(m.effect_size)
        assert row.baseline_value == _finite(m.baseline)
        assert row.current_value == _finite(m.current)
        assert row.bands == tuple(m.bands)
        assert (row.n_baseline, row.n_current) == (m.n_baseline, m.n_current)
    assert store.metric_names() == sorted(by_name)


def test_long_texts_are_kept_whole(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    result = _run(store, baseline, batches["changed"])
    longest = max(result.report.metrics, key=lambda m: len(m.test))
    assert len(longest.test) > 80  # VARCHAR(80) before revision 0003
    row = next(r for r in store.metrics(result.run_id) if r.name == longest.name)
    assert row.test == longest.test
    widest = max(result.report.metrics, key=lambda m: len(m.effect_unit))
    assert len(widest.effect_unit) > 80
    series = store.trend(widest.name)
    assert series is not None
    assert series.effect_unit == widest.effect_unit


def test_bad_files_are_counted_by_reason(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    clean = _run(store, baseline, batches["same"])
    broken = _run(store, baseline, batches["changed"])
    expected = {k: v for k, v in broken.report.current.bad_counts.items() if v > 0}
    assert sum(expected.values()) == 2  # the truncated file and the text file
    stored = store.get(broken.run_id)
    assert dict(stored.bad_counts) == expected
    assert stored.n_bad == 2
    assert store.get(clean.run_id).bad_counts == {}
    assert store.get(clean.run_id).n_bad == 0
    listed = {r.run_id: dict(r.bad_counts) for r in store.runs()}
    assert listed == {clean.run_id: {}, broken.run_id: expected}


def test_trends_oldest_first(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    order = ("same", "changed", "same", "changed")
    results = [_run(store, baseline, batches[name]) for name in order]
    other = _run(store, baseline, batches["changed"], "eye")
    names = ["brightness", "sharpness", "no_such_metric"]
    series = store.trends(names, dataset="skin", last_runs=30)
    assert [s.name for s in series] == ["brightness", "sharpness"]
    for s in series:
        assert s.dataset == "skin"
        assert [p.run_id for p in s.points] == [r.run_id for r in results]
        expected = [next(m for m in r.report.metrics if m.name == s.name) for r in results]
        assert [p.value for p in s.points] == [_finite(m.current) for m in expected]
        assert [p.baseline for p in s.points] == [_finite(m.baseline) for m in expected]
        assert [p.status for p in s.points] == [m.status for m in expected]
        assert [p.p_adjusted for p in s.points] == [m.p_adjusted for m in expected]
        assert s.bands == tuple(expected[-1].bands)
        assert [p.ran_at for p in s.points] == sorted(p.ran_at for p in s.points)
    # The brightness of the changed camera is lower than the same camera's, run after run.
    bright = [p.value for p in series[0].points]
    assert None not in bright
    assert bright[1] < bright[0]  # type: ignore[operator]
    assert bright[3] < bright[2]  # type: ignore[operator]
    last_two = store.trend("brightness", dataset="skin", last_runs=2)
    assert last_two is not None
    assert [p.run_id for p in last_two.points] == [results[2].run_id, results[3].run_id]
    everywhere = store.trend("brightness", last_runs=30)
    assert everywhere is not None
    assert [p.run_id for p in everywhere.points][-1] == other.run_id
    assert len(everywhere.points) == 5
    assert store.trend("no_such_metric", dataset="skin") is None
    assert store.trend("brightness", dataset="nail") is None


# --- imported reports ---------------------------------------------------------------------------


def test_record_report_is_idempotent(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile], tmp_path: Path
) -> None:
    result = Monitor(baseline).run(batches["changed"], dataset="skin")  # not recorded
    saved = result.report.save(tmp_path / "report.json")
    report = DriftReport.load(saved)
    run_id = store.record_report(report)
    assert run_id == result.run_id  # the report's own record of its run
    assert store.get(run_id).dataset == "skin"
    assert store.report(run_id) == result.report
    assert not store.get(run_id).has_profile
    with pytest.raises(StoreError, match=rf"run {run_id} is already in the history store"):
        store.record_report(report)
    assert store.record_report(report, replace=True) == run_id
    assert [r.run_id for r in store.runs()] == [run_id]
    assert len(store.metrics(run_id)) == len(report.metrics)

    # A report made outside a monitor: its id comes from its content.
    bare = report.model_copy(update={"run": None})
    bare_id = store.record_report(bare)
    assert len(bare_id) == 32
    assert int(bare_id, 16) >= 0
    assert bare_id != run_id
    assert store.get(bare_id).dataset is None
    with pytest.raises(StoreError, match="already in the history store"):
        store.record_report(DriftReport.from_dict(bare.model_dump(mode="json")))
    other = bare.model_copy(update={"alpha": 0.01})
    assert store.record_report(other) not in (bare_id, run_id)
    assert len(store.runs()) == 3
    # The time recorded is the report's, when no other is given.
    assert store.get(bare_id).ran_at == datetime.fromisoformat(bare.created_at).astimezone(UTC)


# --- forgetting -------------------------------------------------------------------------------


def test_prune_whole_runs_or_documents(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    result = Monitor(baseline).run(batches["changed"], dataset="skin")
    now = datetime.now(UTC)
    ids = {}
    for days in (30, 10, 0):
        ids[days] = store.record_report(
            result.report,
            run_id=f"{days:02d}" + "e" * 30,
            profile=result.profile,
            ran_at=now - timedelta(days=days, minutes=1),
        )
    n_metrics = len(result.report.metrics)
    assert len(store.metric_rows()) == 3 * n_metrics

    kept = store.prune(now - timedelta(days=20))
    assert (kept.runs_deleted, kept.documents_dropped) == (1, 1)
    assert kept.cutoff == now - timedelta(days=20)
    assert {r.run_id for r in store.runs()} == {ids[10], ids[0]}
    assert {r.run_id for r in store.metric_rows()} == {ids[10], ids[0]}
    with pytest.raises(RunNotFoundError):
        store.get(ids[30])

    slim = store.prune(now - timedelta(days=5), keep_metrics=True)
    assert (slim.runs_deleted, slim.documents_dropped) == (0, 1)
    old = store.get(ids[10])
    assert not old.has_report
    assert not old.has_profile
    assert dict(old.bad_counts) == {k: v for k, v in result.report.current.bad_counts.items() if v}
    assert len(store.metrics(ids[10])) == n_metrics
    with pytest.raises(StoreError, match="no longer stored"):
        store.report(ids[10])
    assert store.profile(ids[10]) is None
    assert [r.run_id for r, _ in store.profiles()] == [ids[0]]
    from visiondrift.store import baseline_identity

    recent = store.recent_values(
        dataset="skin", baseline_hash=baseline_identity(result.report), limit=10
    )
    assert [run_id for run_id, _ in recent] == [ids[0]]  # the pruned run's values went too
    with store._engine.connect() as conn:
        left = conn.exec_driver_sql(
            "SELECT count(*) FROM vd_documents WHERE slow_values IS NOT NULL"
        ).scalar_one()
    assert left == 1
    trend = store.trend("brightness", last_runs=10)
    assert trend is not None
    assert [p.run_id for p in trend.points] == [ids[10], ids[0]]
    # Pruning again drops nothing more; the newest run is whole.
    again = store.prune(now - timedelta(days=5), keep_metrics=True)
    assert (again.runs_deleted, again.documents_dropped) == (0, 0)
    assert store.report(ids[0]) == result.report
    assert store.get(ids[0]).has_profile


def test_keep_profile_false(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    kept = _run(store, baseline, batches["same"])
    lean = _run(store, baseline, batches["changed"], keep_profiles=False)
    assert store.get(kept.run_id).has_profile
    assert not store.get(lean.run_id).has_profile
    assert store.get(lean.run_id).has_report
    assert store.profile(lean.run_id) is None
    assert store.report(lean.run_id) == lean.report
    merged = [(run.run_id, p) for run, p in store.profiles(dataset="skin")]
    assert [run_id for run_id, _ in merged] == [kept.run_id]
    assert merged[0][1] == kept.profile


def test_recent_values_are_what_the_slow_drift_check_reads(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    from sqlalchemy import update

    from visiondrift.store import baseline_identity
    from visiondrift.store._schema import DOCUMENTS
    from visiondrift.store._store import stored_slow_metrics

    results = [_run(store, baseline, batches[n]) for n in ("same", "changed", "same")]
    _run(store, baseline, batches["same"], dataset="eye")  # another dataset: not among them
    lean = _run(store, baseline, batches["changed"], keep_profiles=False)  # no profile: skipped
    identity = baseline_identity(results[0].report)
    found = store.recent_values(dataset="skin", baseline_hash=identity, limit=10)
    assert [run_id for run_id, _ in found] == [r.run_id for r in results]
    assert lean.run_id not in dict(found)
    for (_, values), result in zip(found, results, strict=True):
        assert values == RunValues.of(result.profile, stored_slow_metrics())
    latest = store.recent_values(dataset="skin", baseline_hash=identity, limit=2)
    assert [run_id for run_id, _ in latest] == [r.run_id for r in results[1:]]
    assert store.recent_values(dataset="skin", baseline_hash="0" * 64, limit=10) == []
    # A run recorded before the values were kept (or a metric they lack): read from its profile.
    with store._engine.begin() as conn:
        conn.execute(
            update(DOCUMENTS)
            .where(DOCUMENTS.c.run_id == results[0].run_id)
            .values(slow_values=None)
        )
    again = store.recent_values(
        dataset="skin", baseline_hash=identity, limit=10, metrics=["entropy"]
    )
    for (_, values), result in zip(again, results, strict=True):
        assert values == RunValues.of(result.profile, (*stored_slow_metrics(), "entropy"))
        assert values.samples["entropy"].values.size == result.profile.n_images


# --- nothing of the images --------------------------------------------------------------------


def _dump(store: HistoryStore) -> list[tuple[str, str, Any]]:
    """Every value of every column of every table, documents decompressed."""
    from sqlalchemy import MetaData, select

    meta = MetaData(schema=store.pg_schema)
    meta.reflect(bind=store._engine)
    assert {"vd_runs", "vd_metrics", "vd_documents", "vd_bad_counts"} <= {
        t.name for t in meta.tables.values()
    }
    values: list[tuple[str, str, Any]] = []
    with store._engine.connect() as conn:
        for table in meta.tables.values():
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, bytes | memoryview):
                        raw = bytes(value)
                        text = zlib.decompress(raw)
                        if column == "slow_values":
                            # a JSON header, then nothing but float64 values of the metrics
                            head, _, body = text.partition(b"\n")
                            sizes = [m["n"] for m in json.loads(head)["metrics"]]
                            assert len(body) == 8 * sum(sizes)
                            RunValues.from_bytes(raw)
                        else:  # a stored document is compressed JSON only
                            json.loads(text)
                        values.append((table.name, column, text))
                    else:
                        values.append((table.name, column, value))
    return values


def test_nothing_of_the_images_is_stored(
    store: HistoryStore, baseline: Profile, images: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    shutil.copytree(images["changed"], folder)
    with Image.open(next(iter(sorted(folder.glob("*.jpg"))))) as im:
        assert im.getexif()[0x010F] == EXIF_TEXT[0x010F]  # the files do carry the tags
    outputs = Outputs(
        report=tmp_path / "r.json", html=tmp_path / "r.html", image_root=folder, thumbnails=True
    )
    monitor = Monitor(baseline, history=store)
    first = monitor.run(folder, dataset="skin", outputs=outputs, workers=1)
    second = monitor.run(images["same"], dataset="skin", outputs=outputs, workers=1)
    assert first.failures == second.failures == ()
    page = (tmp_path / "r.html").read_text()
    assert "data:image" in page  # thumbnails were on
    assert '<section id="history"' in page  # and the trends of the stored runs drawn
    values = _dump(store)
    assert len({v for t, c, v in values if c == "run_id"}) == 2
    texts = [v for _, _, v in values if isinstance(v, bytes)]
    assert len(texts) == 6  # two reports, two profiles, two runs' slow-drift values
    forbidden_bytes = [
        b"\xff\xd8\xff",  # JPEG start of image
        b"\x89PNG",
        b"Exif\x00",
        b"data:image",
        b"/9j/",  # base64 of a JPEG's first bytes
        b"iVBORw0KGgo",  # base64 of a PNG's
    ] + [t.encode() for t in EXIF_TEXT.values()]
    for table, column, value in values:
        blob = value if isinstance(value, bytes) else str(value).encode()
        for marker in forbidden_bytes:
            assert marker not in blob, f"{marker!r} found in {table}.{column}"
        for text in EXIF_TEXT.values():
            for word in text.split():
                if len(word) >= 8:
                    assert word.lower().encode() not in blob.lower(), (table, column, word)


# --- schema -------------------------------------------------------------------------------------


def test_new_store_is_at_head_and_migrate_is_idempotent(store: HistoryStore) -> None:
    assert store.revision() is None  # opening does not connect nor migrate
    assert store.runs() == []  # the first use migrates
    assert store.revision() == head_revision() == HEAD
    assert store.migrate() == (HEAD, HEAD)
    assert store.migrate() == (HEAD, HEAD)
    assert store.revision() == HEAD


def test_plain_postgresql_has_no_hypertable(pg_schema: str) -> None:
    from visiondrift.store._migrate import make_hypertable

    with HistoryStore(
        "postgresql+psycopg://postgres@127.0.0.1:5432/test", pg_schema=pg_schema
    ) as store:
        store.migrate()
        with store._engine.connect() as conn:
            assert make_hypertable(conn) is False
            assert conn.exec_driver_sql("SELECT current_schema()").scalar() == pg_schema


def test_last_runs_counts_runs_not_instants(
    store: HistoryStore, baseline: Profile, batches: dict[str, Profile]
) -> None:
    report = Monitor(baseline).run(batches["same"], dataset="skin").report
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for run_id in ("a" * 32, "b" * 32, "c" * 32):  # three runs finished at the same instant
        store.record_report(report, run_id=run_id, ran_at=at)
    store.record_report(report, run_id="d" * 32, ran_at=at + timedelta(hours=1))
    rows = store.metric_rows(names=["brightness"], last_runs=3)
    assert [r.run_id for r in rows] == ["a" * 32, "b" * 32, "d" * 32]
    assert store.metric_rows(names=["brightness"], last_runs=0) == []
    assert len(store.metric_rows(last_runs=4)) == 4 * len(report.metrics)
    assert len(store.metric_rows(names=["brightness"], since=at + timedelta(minutes=1))) == 1
