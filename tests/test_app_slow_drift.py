"""The monitor's slow-drift check over the history: which runs it pools, what it says, where it
goes (report, store, Markdown, exit code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from visiondrift import profile
from visiondrift.app import Monitor, Outputs, RunResult
from visiondrift.cli._support import EXIT_DRIFT, EXIT_OK, _exit_code
from visiondrift.demo.samples import CameraChange, make_dataset
from visiondrift.drift.slow import SlowDriftConfig, detect_slow_drift
from visiondrift.profiles import Profile
from visiondrift.report import render_html
from visiondrift.report.markdown import render_markdown
from visiondrift.store import HistoryStore

#: Gain of each darkening run: 3% darker per run.
GAINS = (0.97, 0.94, 0.91, 0.88, 0.85, 0.82)
SIZE = (48, 48)


@pytest.fixture(scope="module")
def folders(photos: list[tuple[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("slow_runs")
    make_dataset(root / "base", 200, size=SIZE, seed=31, photos=photos)
    for i, gain in enumerate(GAINS):
        change = CameraChange(gain=gain, blur=0.0, noise=0.0)
        make_dataset(root / f"dark{i}", 60, size=SIZE, seed=40 + i, photos=photos, transform=change)
    for i in range(3):
        make_dataset(root / f"clean{i}", 60, size=SIZE, seed=60 + i, photos=photos)
    return {p.name: p for p in root.iterdir()}


@pytest.fixture(scope="module")
def baseline(folders: dict[str, Path]) -> Profile:
    return profile(folders["base"], workers=1)


@pytest.fixture(scope="module")
def darkening(
    folders: dict[str, Path], baseline: Profile, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[RunResult]]:
    path = tmp_path_factory.mktemp("slow_store") / "history.sqlite"
    with HistoryStore(path) as store:
        monitor = Monitor(baseline, history=store)
        results = [
            monitor.run(folders[f"dark{i}"], dataset="shop", workers=1) for i in range(len(GAINS))
        ]
    return path, results


def test_each_run_pools_the_runs_before_it_and_says_what_the_check_says(
    darkening: tuple[Path, list[RunResult]], baseline: Profile
) -> None:
    path, results = darkening
    with HistoryStore(path) as store:
        stored = {r.run_id: store.profile(r.run_id) for r in results}
    for k, result in enumerate(results, start=1):
        assert result.failures == ()
        slow = result.report.slow_drift
        assert slow is not None
        assert slow.run_ids == [r.run_id for r in results[:k]]
        runs = [stored[rid] for rid in slow.run_ids]
        assert all(p is not None for p in runs)
        # The same check made from the stored profiles, independently of the monitor.
        expected = detect_slow_drift(
            baseline.with_dataset(None),
            [p.with_dataset(None) for p in runs if p is not None],
            SlowDriftConfig(),
        )
        assert slow.drift_detected == expected.drift_detected
        assert slow.explanation == expected.explanation
        assert (slow.metric, slow.window) == (expected.metric, expected.window)
        assert (slow.alpha, slow.horizon, slow.test) == (0.05, 30, "ks")
    last = results[-1].report.slow_drift
    assert last is not None
    assert last.drift_detected  # 18% darker by the sixth run, 360 images pooled
    assert last.p_value is not None
    assert last.threshold is not None
    assert last.p_value <= last.threshold
    assert "darker" in last.explanation


def test_the_store_keeps_each_runs_slow_drift_verdict(
    darkening: tuple[Path, list[RunResult]],
) -> None:
    path, results = darkening
    with HistoryStore(path) as store:
        for result in results:
            slow = result.report.slow_drift
            assert slow is not None
            assert store.get(result.run_id).slow_drift is slow.drift_detected
            assert store.report(result.run_id).slow_drift == slow


def test_the_markdown_summary_and_the_exit_code_carry_an_alarm(
    darkening: tuple[Path, list[RunResult]],
) -> None:
    report = darkening[1][-1].report
    slow = report.slow_drift
    assert slow is not None
    assert slow.drift_detected
    assert f"**Slow drift across runs:** {slow.explanation}" in render_markdown(report)
    page = render_html(report)
    assert f"<strong>Slow drift across runs:</strong> {escape(slow.explanation)}" in page
    # An alarm of the history alone (the batch itself not flagged) still exits 1 at --fail-on
    # low, and 0 at a higher bar or never.
    quiet_batch = report.model_copy(
        update={"overall_drift_detected": False, "severity": "none", "status": "no_drift"}
    )
    assert _exit_code(quiet_batch, "low") == EXIT_DRIFT
    assert _exit_code(quiet_batch, "medium") == EXIT_OK
    assert _exit_code(quiet_batch, "never") == EXIT_OK
    calm = quiet_batch.model_copy(
        update={"slow_drift": slow.model_copy(update={"drift_detected": False})}
    )
    assert _exit_code(calm, "low") == EXIT_OK
    assert "Slow drift" not in render_markdown(calm)
    assert "Slow drift across runs" not in render_html(calm)


def test_clean_runs_raise_no_alarm_and_other_baselines_are_not_pooled(
    folders: dict[str, Path], baseline: Profile, tmp_path: Path
) -> None:
    with HistoryStore(tmp_path / "history.sqlite") as store:
        monitor = Monitor(baseline, history=store)
        clean = [monitor.run(folders[f"clean{i}"], dataset="shop", workers=1) for i in range(3)]
        for result in clean:
            slow = result.report.slow_drift
            assert slow is not None
            assert not slow.drift_detected
            assert "no " in slow.explanation.lower() or "not" in slow.explanation.lower()
        # Another baseline: the runs compared with the first one are not its history.
        other = profile(folders["clean0"], workers=1)
        alone = Monitor(other, history=store).run(folders["clean1"], dataset="shop", workers=1)
        assert alone.report.slow_drift is not None
        assert alone.report.slow_drift.run_ids == [alone.run_id]
        # Another dataset is not pooled either.
        apart = monitor.run(folders["clean2"], dataset="elsewhere", workers=1)
        assert apart.report.slow_drift is not None
        assert apart.report.slow_drift.run_ids == [apart.run_id]


def test_without_a_history_or_with_the_check_off_there_is_no_verdict(
    folders: dict[str, Path], baseline: Profile, tmp_path: Path
) -> None:
    plain = Monitor(baseline).run(folders["clean0"], workers=1)
    assert plain.report.slow_drift is None
    with HistoryStore(tmp_path / "history.sqlite") as store:
        off = Monitor(baseline, history=store, slow_drift=False).run(
            folders["clean0"], workers=1, outputs=Outputs(report=tmp_path / "r.json")
        )
        assert off.report.slow_drift is None
        assert store.get(off.run_id).slow_drift is None
