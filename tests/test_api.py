"""The public API: __all__ is complete, the original names work as a thin layer."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

import visiondrift
from visiondrift import DatasetAnalyzer, DriftDetector, InputDistributionMonitor


def test_all_is_complete_and_importable() -> None:
    for name in visiondrift.__all__:
        assert getattr(visiondrift, name) is not None, name
    public = {n for n in dir(visiondrift) if not n.startswith("_")}
    assert public <= set(visiondrift.__all__) | {"annotations", "importlib"}
    assert isinstance(visiondrift.profile, types.FunctionType)


def test_importing_the_cli_is_light() -> None:
    import subprocess
    import sys

    code = "import sys, visiondrift.cli; print('numpy' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"


def test_original_names(photo_dir: Path, changed_dir: Path, tmp_path: Path) -> None:
    analyzer = DatasetAnalyzer(photo_dir, max_images=60)
    baseline = analyzer.analyze()
    assert baseline["format"] == "visiondrift.profile"
    report = DatasetAnalyzer(changed_dir).detect_drift(baseline)
    assert report["overall_drift_detected"] is True
    assert report["severity"] == "high"
    assert report["pixel_drift"]["detected"] is True
    assert report["alerts"]
    stats = InputDistributionMonitor(photo_dir, max_images=30).analyze()
    assert stats["num_images"] == 30
    assert 0 < stats["pixel_stats"]["l"]["mean"] < 1
    detector = DriftDetector(alpha=0.01)
    again = detector.detect(baseline, visiondrift.profile(changed_dir))
    assert again["overall_drift_detected"] is True
    path = visiondrift.Profile.from_dict(baseline).save(tmp_path / "b.json")
    assert (
        DatasetAnalyzer(photo_dir, max_images=60).detect_drift(str(path))["overall_drift_detected"]
        is False
    )


def test_model_path_must_exist(photo_dir: Path) -> None:
    with pytest.raises(visiondrift.ModelError, match="does not exist"):
        DatasetAnalyzer(photo_dir, model_path="missing_model.onnx").analyze()
