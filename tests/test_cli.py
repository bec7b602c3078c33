"""The command line through a real subprocess: both spellings, every exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visiondrift.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def baseline_file(photo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "baseline.json"
    result = run("baseline", str(photo_dir), "-o", str(out), "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "160 images profiled" in result.stdout
    return out


def test_monitor_exit_codes(
    baseline_file: Path, same_dir: Path, changed_dir: Path, tmp_path: Path
) -> None:
    same = run(
        "monitor",
        str(same_dir),
        "--baseline",
        str(baseline_file),
        "-o",
        str(tmp_path / "same.json"),
    )
    assert same.returncode == 0, same.stdout + same.stderr
    assert "NO DRIFT" in same.stdout or "not enough evidence" in same.stdout
    changed = run(
        "monitor",
        str(changed_dir),
        "--baseline",
        str(baseline_file),
        "-o",
        str(tmp_path / "changed.json"),
    )
    assert changed.returncode == 1, changed.stdout + changed.stderr
    assert "DRIFT DETECTED (severity: high)" in changed.stdout
    assert "darker" in changed.stdout
    report = json.loads((tmp_path / "changed.json").read_text())
    assert report["overall_drift_detected"] is True
    assert report["severity"] == "high"
    never = run(
        "monitor",
        str(changed_dir),
        "--baseline",
        str(baseline_file),
        "-o",
        str(tmp_path / "never.json"),
        "--fail-on",
        "never",
    )
    assert never.returncode == 0


def test_piped_progress_is_plain_lines_and_quiet_is_silent(
    baseline_file: Path, same_dir: Path, tmp_path: Path
) -> None:
    loud = run(
        "monitor", str(same_dir), "--baseline", str(baseline_file), "-o", str(tmp_path / "a.json")
    )
    assert "profiling batch: 80/80 files" in loud.stderr
    assert "\x1b[" not in loud.stderr
    quiet = run(
        "monitor",
        str(same_dir),
        "--baseline",
        str(baseline_file),
        "-o",
        str(tmp_path / "b.json"),
        "--quiet",
    )
    assert quiet.stderr == ""


def test_original_spelling(photo_dir: Path, changed_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "legacy_baseline.json"
    made = run("--mode", "baseline", "--data-dir", str(photo_dir), "--output", str(base))
    assert made.returncode == 0, made.stderr
    assert json.loads(base.read_text())["format"] == "visiondrift.profile"
    mon = run(
        "--mode",
        "monitor",
        "--data-dir",
        str(changed_dir),
        "--baseline",
        str(base),
        "--output",
        str(tmp_path / "legacy_report.json"),
    )
    assert mon.returncode == 1, mon.stderr
    assert json.loads((tmp_path / "legacy_report.json").read_text())["overall_drift_detected"]
    bad = run("--mode", "train", "--data-dir", str(photo_dir))
    assert bad.returncode == 2
    assert "--mode must be one of baseline, monitor, compare" in bad.stderr


def test_default_output_names(photo_dir: Path, same_dir: Path, tmp_path: Path) -> None:
    made = run("baseline", str(photo_dir), "--max-images", "40", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "baseline_metrics.json").is_file()
    mon = run("monitor", str(same_dir), "--baseline", "baseline_metrics.json", cwd=tmp_path)
    assert mon.returncode in (0, 1), mon.stderr
    assert len(list(tmp_path.glob("monitor_report_*.json"))) == 1


def test_compare_folders_and_profiles(
    baseline_file: Path, photo_dir: Path, changed_dir: Path, tmp_path: Path
) -> None:
    folders = run("compare", str(photo_dir), str(changed_dir), "-o", str(tmp_path / "c1.json"))
    assert folders.returncode == 1, folders.stderr
    mixed = run("compare", str(baseline_file), str(photo_dir), "-o", str(tmp_path / "c2.json"))
    assert mixed.returncode == 0, mixed.stderr
    assert json.loads((tmp_path / "c2.json").read_text())["mode"] == "compare"


def test_bad_input_exits_2_with_a_clear_message(
    baseline_file: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    missing = run("baseline", str(tmp_path / "nope"), "-o", str(tmp_path / "x.json"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    unreadable = run("baseline", str(corpus_dir / "bad"), "-o", str(tmp_path / "x.json"))
    assert unreadable.returncode == 2
    assert "could be read as an image" in unreadable.stderr
    assert not (tmp_path / "x.json").exists()
    damaged = tmp_path / "damaged.json"
    damaged.write_text('{"format": "visiondrift.profile", "format_version": 1')
    bad_profile = run("monitor", str(corpus_dir / "good"), "--baseline", str(damaged))
    assert bad_profile.returncode == 2
    assert "damaged or truncated" in bad_profile.stderr
    usage = run("monitor", str(corpus_dir / "good"))
    assert usage.returncode == 2
    assert "--baseline" in usage.stderr


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("visiondrift, version")
    out = run("--help").stdout
    for command in ("baseline", "monitor", "compare"):
        assert command in out


def test_html_summary_and_report_command(
    baseline_file: Path, changed_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    result = run(
        "monitor",
        str(changed_dir),
        "--baseline",
        str(baseline_file),
        "-o",
        str(out),
        "--summary-md",
        str(tmp_path / "summary.md"),
        "--html",
    )
    assert result.returncode == 1, result.stderr
    page = (tmp_path / "r.html").read_text()
    assert "<html" in page
    assert "data:image/jpeg;base64," in page  # thumbnails of the current images
    summary = (tmp_path / "summary.md").read_text()
    assert "High drift" in summary or "high" in summary.lower()
    private = run(
        "monitor",
        str(changed_dir),
        "--baseline",
        str(baseline_file),
        "-o",
        str(out),
        "--html",
        str(tmp_path / "private.html"),
        "--no-thumbnails",
    )
    assert private.returncode == 1
    assert "data:image/jpeg" not in (tmp_path / "private.html").read_text()
    again = run("report", str(out), "-o", str(tmp_path / "again.html"))
    assert again.returncode == 0, again.stderr
    assert "data:image/jpeg" not in (tmp_path / "again.html").read_text()
    missing = run("report", str(tmp_path / "nope.json"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
