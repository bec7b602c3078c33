"""The application core: Monitor, its sinks, and the front ends that go through it.

Real photo crops written as real JPEG files (conftest); the CLI runs in this process through
``visiondrift.cli.run`` so that a sink registered here is seen by it, as a plugin's would be.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from visiondrift import profile
from visiondrift.app import (
    CallbackSink,
    Monitor,
    Outputs,
    RunResult,
    build_sinks,
    register_sink_factory,
)
from visiondrift.app._sinks import unregister_sink_factory
from visiondrift.cli import run as run_cli
from visiondrift.drift import DriftReport
from visiondrift.errors import ConfigError
from visiondrift.profiles import Profile


@pytest.fixture(scope="module")
def baseline(photo_dir: Path) -> Profile:
    return profile(photo_dir, workers=1, labels="none")


class _Boom:
    """A sink that always fails, like an unreachable store."""

    name = "boom"

    def handle(self, result: RunResult) -> None:
        raise ConnectionError("store at 127.0.0.1:9 refused the connection")


def test_run_profiles_compares_writes_and_notifies(
    baseline: Profile, changed_dir: Path, tmp_path: Path
) -> None:
    seen: list[RunResult] = []
    monitor = Monitor(baseline, sinks=[CallbackSink("collect", seen.append)])
    start = datetime(2026, 11, 29, tzinfo=UTC)
    outputs = Outputs(
        report=tmp_path / "r.json",
        html=tmp_path / "r.html",
        markdown=tmp_path / "r.md",
        profile=tmp_path / "batch.json",
        image_root=changed_dir,
    )
    result = monitor.run(
        changed_dir,
        dataset="skin",
        window=(start, start + timedelta(days=1)),
        outputs=outputs,
        workers=1,
    )
    assert result.drift
    assert result.ok
    assert result.dataset == "skin"
    assert result.window == (start, start + timedelta(days=1))
    assert result.files == (outputs.report, outputs.profile, outputs.html, outputs.markdown)
    assert all(p.is_file() and p.stat().st_size > 0 for p in result.files)
    # The saved files are the run's: the same report and the same batch profile.
    assert DriftReport.load(outputs.report) == result.report
    saved = Profile.load(outputs.profile)
    assert saved.n_images == result.profile.n_images == 80
    assert saved.dataset == "skin"
    assert saved.window is not None
    assert (saved.window.start, saved.window.end) == (start, start + timedelta(days=1))
    assert {"brightness", "sharpness"} <= {m.name for m in result.report.drifted}
    # The sink saw the finished run, with the files already written.
    assert len(seen) == 1
    assert seen[0].run_id == result.run_id
    assert seen[0].files == result.files
    assert seen[0].report is result.report
    assert result.started_at <= result.finished_at


def test_a_failing_sink_loses_nothing(
    baseline: Profile, same_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    after: list[RunResult] = []
    monitor = Monitor(baseline, sinks=[_Boom(), CallbackSink("after", after.append)])
    with caplog.at_level(logging.WARNING, logger="visiondrift.app"):
        result = monitor.run(same_dir, outputs=Outputs(report=tmp_path / "r.json"), workers=1)
    assert not result.ok
    assert [f.sink for f in result.failures] == ["boom"]
    assert "ConnectionError" in result.failures[0].error
    assert "refused" in result.failures[0].error
    # The run is whole: report written, later sinks called (and told of the failure).
    assert DriftReport.load(tmp_path / "r.json") == result.report
    assert len(after) == 1
    assert [f.sink for f in after[0].failures] == ["boom"]
    assert any("boom" in r.getMessage() and result.run_id in r.getMessage() for r in caplog.records)


def test_a_profile_is_a_source_and_the_api_matches_compare(
    baseline: Profile, changed_dir: Path
) -> None:
    from visiondrift import compare

    current = profile(changed_dir, config=baseline.config, workers=1)
    result = Monitor(baseline, alpha=0.01).run(current)
    assert result.profile is current
    direct = compare(baseline, current, alpha=0.01)
    assert [(m.name, m.status, m.severity) for m in result.report.metrics] == [
        (m.name, m.status, m.severity) for m in direct.metrics
    ]
    assert result.report.alpha == 0.01


def test_bad_arguments_are_named(baseline: Profile) -> None:
    with pytest.raises(ConfigError, match="'name' and a 'handle"):
        Monitor(baseline, sinks=[object()])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="'mode'"):
        Monitor(baseline, mode="batch")  # type: ignore[arg-type]
    monitor = Monitor(baseline)
    naive = datetime(2026, 11, 29)
    with pytest.raises(ConfigError, match="timezone-aware"):
        monitor.run(baseline, window=(naive, naive))
    start = datetime(2026, 11, 29, tzinfo=UTC)
    with pytest.raises(ConfigError, match=r"starts .* after it ends"):
        monitor.run(baseline, window=(start, start - timedelta(hours=1)))


@pytest.mark.parametrize(
    ("severity", "drift", "expected"),
    [
        ("high", True, {"none": True, "low": True, "medium": True, "high": True}),
        ("medium", True, {"none": True, "low": True, "medium": True, "high": False}),
        ("low", True, {"none": True, "low": True, "medium": False, "high": False}),
        ("none", False, {"none": False, "low": False, "medium": False, "high": False}),
    ],
)
def test_reaches_orders_severities(severity: str, drift: bool, expected: dict[str, bool]) -> None:
    report = DriftReport.model_construct(overall_drift_detected=drift, severity=severity)
    assert {level: report.reaches(level) for level in expected} == expected  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown severity 'severe'"):
        report.reaches("severe")  # type: ignore[arg-type]


def test_a_registered_sink_reaches_the_cli_without_touching_it(
    tmp_path: Path, photo_dir: Path, changed_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sink factory registered from outside (as the history store will be) is used by
    ``visiondrift monitor``; a failing one is reported and the exit code still says drift."""
    base = tmp_path / "base.json"
    assert run_cli(["baseline", str(photo_dir), "-o", str(base), "--labels", "none"]) == 0
    seen: list[RunResult] = []
    register_sink_factory("test-collect", lambda settings: CallbackSink("collect", seen.append))
    register_sink_factory("test-boom", lambda settings: _Boom())
    try:
        assert [s.name for s in build_sinks()][-2:] == ["collect", "boom"]
        out = tmp_path / "r.json"
        code = run_cli(["monitor", str(changed_dir), "--baseline", str(base), "-o", str(out)])
    finally:
        unregister_sink_factory("test-collect")
        unregister_sink_factory("test-boom")
    assert code == 1  # drift, not a crash: the failed sink does not change the verdict
    assert len(seen) == 1
    assert seen[0].report.overall_drift_detected
    assert seen[0].files[0] == out
    assert json.loads(out.read_text())["overall_drift_detected"] is True
    err = capsys.readouterr().err
    assert "the boom sink failed: ConnectionError" in err
    register_sink_factory("x", lambda s: None)
    try:
        with pytest.raises(ConfigError, match="already registered"):
            register_sink_factory("x", lambda s: None)
    finally:
        unregister_sink_factory("x")


def test_an_installed_package_adds_a_sink_through_its_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package installed with an entry point in ``visiondrift.sinks`` (a real dist-info on
    the path, read by importlib.metadata) turns its sink on from the settings; the lookup is
    made once per process (the service builds the sinks for every window it closes) and made
    again after ``installed_sink_factories.cache_clear()``."""
    from visiondrift.app._sinks import installed_sink_factories

    (tmp_path / "vd_test_plugin.py").write_text(
        "from visiondrift.app import CallbackSink\n"
        "def factory(settings):\n"
        "    if not settings.get('plugin_on'):\n"
        "        return None\n"
        "    return CallbackSink('plugin', lambda result: None)\n",
        encoding="utf-8",
    )
    info = tmp_path / "vd_test_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: vd-test-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[visiondrift.sinks]\nvd-test-plugin = vd_test_plugin:factory\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    installed_sink_factories.cache_clear()
    try:
        assert "plugin" not in [s.name for s in build_sinks({})]
        assert [s.name for s in build_sinks({"plugin_on": True})][-1] == "plugin"
        # Uninstalled while the process runs: the process keeps what it looked up...
        (info / "entry_points.txt").unlink()
        assert [s.name for s in build_sinks({"plugin_on": True})][-1] == "plugin"
        # ...until it looks again.
        installed_sink_factories.cache_clear()
        assert "plugin" not in [s.name for s in build_sinks({"plugin_on": True})]
    finally:
        installed_sink_factories.cache_clear()


def test_fail_on_uses_reaches(tmp_path: Path, photo_dir: Path, changed_dir: Path) -> None:
    base = tmp_path / "base.json"
    assert run_cli(["baseline", str(photo_dir), "-o", str(base), "--labels", "none"]) == 0
    out = tmp_path / "r.json"
    code = run_cli(["monitor", str(changed_dir), "--baseline", str(base), "-o", str(out)])
    report = DriftReport.load(out)
    assert code == 1
    assert report.reaches("low")
    for level in ("low", "medium", "high"):
        code = run_cli(
            [
                "monitor",
                str(changed_dir),
                "--baseline",
                str(base),
                "-o",
                str(out),
                "--fail-on",
                level,
                "--quiet",
            ]
        )
        assert code == (1 if report.reaches(level) else 0), level
    never = ["--fail-on", "never", "--quiet"]
    args = ["monitor", str(changed_dir), "--baseline", str(base), "-o", str(out)]
    assert run_cli(args + never) == 0
