"""Model outputs in profiles and reports: predictions, confidence, class mix, accuracy, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import visiondrift
from visiondrift.compat import DatasetAnalyzer
from visiondrift.demo.model import build_demo_models, load_demo_dataset
from visiondrift.errors import IncompatibleProfilesError
from visiondrift.models import ModelSpec
from visiondrift.profiles import Profile, ProfileConfig
from visiondrift.profiles.model_summary import MODEL_COLUMNS


@dataclass(frozen=True)
class Setup:
    model: Path
    tflite: Path
    class_names: tuple[str, ...]
    base: Path
    batch_a: Path
    batch_b: Path
    batches: Path


def _write(root: Path, per_class: dict[str, int], pool: dict[str, list[int]], images: Any) -> None:
    for name, n in per_class.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in pool[name][:n]:
            Image.fromarray(images[i]).save(root / name / f"{i}.png")
        del pool[name][:n]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    root = tmp_path_factory.mktemp("model_drift")
    models = build_demo_models(root / "model")
    data = load_demo_dataset()
    rng = np.random.default_rng(5)
    held_out = models.test_indices
    names = models.class_names
    pool = {
        name: rng.permutation(held_out[data.labels[held_out] == i]).tolist()
        for i, name in enumerate(names)
    }
    base, batches = root / "base", root / "batches"
    _write(base, dict.fromkeys(names, 24), pool, data.images)
    _write(batches / "a", dict.fromkeys(names, 12), pool, data.images)
    mix = {name: (48 if name == "bear" else 6) for name in names}
    _write(batches / "b", mix, pool, data.images)
    return Setup(models.onnx, models.tflite, names, base, batches / "a", batches / "b", batches)


@pytest.fixture(scope="module")
def baseline(setup: Setup) -> Profile:
    return visiondrift.profile(setup.base, model=setup.model, workers=1)


def _content(p: Profile) -> dict[str, Any]:
    data = p.to_dict()
    for key in ("created_at", "sources", "source_count", "moments"):
        data.pop(key)
    data["reservoir"]["names"] = [n.rsplit("/", 1)[-1] for n in data["reservoir"]["names"]]
    model = data["model"]
    for key in ("confidence", "margin", "entropy"):
        model.pop(key)
    model.pop("class_confidence")
    return data


def _assert_same(a: Profile, b: Profile) -> None:
    assert _content(a) == _content(b)
    assert a.model is not None
    assert b.model is not None
    for key in ("confidence", "margin", "entropy"):
        ma, mb = getattr(a.model, key), getattr(b.model, key)
        assert (ma.count, ma.min, ma.max) == (mb.count, mb.min, mb.max)
        assert ma.mean == pytest.approx(mb.mean, rel=1e-12)
        assert ma.m2 == pytest.approx(mb.m2, rel=1e-9, abs=1e-12)
    assert a.model.class_confidence.keys() == b.model.class_confidence.keys()


def test_profile_records_predictions(setup: Setup, baseline: Profile) -> None:
    model = baseline.model
    assert model is not None
    assert model.class_names == setup.class_names
    assert model.predicted.total == baseline.n_images == 240
    assert int(model.confidence_hist.sum()) == baseline.n_images
    assert 0.5 < model.confidence.mean <= 1.0
    assert 0.0 <= model.low_confidence_share < 0.5
    assert model.description["input_shape"] == [28, 28, 1]
    assert model.description["format"] == "onnx"
    res = baseline.reservoir
    assert set(MODEL_COLUMNS) <= set(res.values)
    probs = res.vectors["probs"]
    assert probs.shape == (len(res), len(setup.class_names))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(res.values["model_class"], probs.argmax(axis=1))
    assert baseline.config.model is not None
    assert baseline.config.model.path == setup.model.absolute()


def test_no_model_means_no_model_columns(setup: Setup) -> None:
    p = visiondrift.profile(setup.batch_a, workers=1)
    assert p.model is None
    assert not set(MODEL_COLUMNS) & set(p.reservoir.values)
    assert not p.reservoir.vectors


def test_merge_is_exact_with_a_model(setup: Setup) -> None:
    spec = ModelSpec(setup.model, embedding="embedding", batch_size=7)
    kw: dict[str, Any] = {"model": spec, "labels": "none"}
    pa = visiondrift.profile(setup.batch_a, workers=1, **kw)
    pb = visiondrift.profile(setup.batch_b, workers=1, **kw)
    both = visiondrift.profile(setup.batches, workers=2, **kw)
    _assert_same(pa.merge(pb), both)
    _assert_same(pb.merge(pa), both)
    assert both.reservoir.vectors["embedding"].shape == (both.n_images, 64)
    assert both.model is not None
    assert both.model.projection is not None
    with pytest.raises(IncompatibleProfilesError):
        pa.merge(visiondrift.profile(setup.batch_b, low_confidence=0.7, workers=1, **kw))


def test_json_round_trip_is_exact(baseline: Profile, tmp_path: Path) -> None:
    path = baseline.save(tmp_path / "b.json")
    again = Profile.load(path)
    assert again.to_dict() == baseline.to_dict()
    assert again.config == baseline.config
    assert isinstance(again.config, ProfileConfig)
    # a loaded baseline still merges with a fresh profile made with its settings
    fresh = visiondrift.profile(again.sources[0].location, config=again.config, workers=1)
    again.merge(fresh)


def test_changed_class_mix_is_flagged_in_words(setup: Setup, baseline: Profile) -> None:
    current = visiondrift.profile(setup.batch_b, config=baseline.config, workers=1)
    report = visiondrift.compare(baseline, current)
    mix = report.metric("class_mix")
    assert mix.status == "drift"
    assert mix.severity in ("medium", "high")
    assert "0/1" in mix.effect_unit
    assert mix.explanation is not None
    assert "'bear' is predicted" in mix.explanation
    assert "x as often" in mix.explanation
    assert report.metric("outputs").status == "drift"
    families = {m.family for m in report.metrics}
    assert {"confidence", "class_mix", "outputs", "accuracy"} <= families
    assert report.n_tests == len(report.metrics)


def test_same_mix_does_not_drift(setup: Setup, baseline: Profile) -> None:
    current = visiondrift.profile(setup.batch_a, config=baseline.config, workers=1)
    report = visiondrift.compare(baseline, current)
    assert not report.overall_drift_detected
    assert report.metric("class_mix").status != "drift"
    assert report.metric("confidence").status != "drift"


def test_accuracy_is_reported_with_labels(setup: Setup, baseline: Profile) -> None:
    current = visiondrift.profile(setup.batch_a, config=baseline.config, workers=1)
    report = visiondrift.compare(baseline, current)
    acc = report.metric("accuracy")
    assert acc.baseline is not None
    assert 0.6 < acc.baseline <= 1.0
    assert acc.test.startswith("Fisher")
    summary = report.current.model
    assert summary is not None
    labels = summary.labels
    assert labels is not None
    assert labels.n == current.n_images
    assert labels.accuracy == pytest.approx(acc.current)
    assert len(labels.confusion_matrix) == len(setup.class_names)
    assert sum(map(sum, labels.confusion_matrix)) == labels.n
    assert set(labels.recall) == set(setup.class_names)
    assert 0.0 <= labels.expected_calibration_error < 0.5
    assert summary.predicted == dict(current.model.predicted.counts)  # type: ignore[union-attr]


def test_dataset_analyzer_runs_a_model(setup: Setup, baseline: Profile) -> None:
    analyzer = DatasetAnalyzer(setup.base, model_path=setup.model, workers=1)
    data = analyzer.analyze()
    assert data["model"]["predicted"] == baseline.to_dict()["model"]["predicted"]
    report = DatasetAnalyzer(setup.batch_b, workers=1).detect_drift(data)
    assert report["overall_drift_detected"] is True
    assert any("'bear'" in line for line in report["alerts"])


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visiondrift.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_baseline_with_model_then_monitor(setup: Setup, tmp_path: Path) -> None:
    done = _cli(
        "baseline",
        str(setup.base),
        "--model",
        str(setup.model),
        "-o",
        "b.json",
        "-q",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Model: 10 classes" in done.stdout
    done = _cli(
        "monitor",
        str(setup.batch_b),
        "--baseline",
        "b.json",
        "-o",
        "r.json",
        "-q",
        "--model",
        str(setup.tflite),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    drifted = {m["name"] for m in report["metrics"] if m["status"] == "drift"}
    assert "class_mix" in drifted
    assert report["current"]["model"]["description"]["format"] == "tflite"
    done = _cli("baseline", str(setup.base), "--scaling", "0-1", cwd=tmp_path)
    assert done.returncode == 2
    assert "--model" in done.stderr


def test_cli_inspect_model_prints_the_input_shape(setup: Setup, tmp_path: Path) -> None:
    done = _cli("inspect-model", str(setup.model), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "28, 28, 1" in done.stdout
    assert "bear" in done.stdout


def test_with_a_model_image_changes_count_as_much_as_the_model_feels_them(
    setup: Setup, baseline: Profile, tmp_path: Path
) -> None:
    """Images stored 1.5x larger: the model resizes them to its input anyway, so its outputs
    stay put. Without the model the size change is high drift; with it, severity follows what
    the model feels (low), and the report says why."""
    bigger = tmp_path / "bigger"
    for path in sorted(setup.batch_a.rglob("*.png")):
        out = bigger / path.relative_to(setup.batch_a)
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.open(path).resize((42, 42), Image.Resampling.BICUBIC).save(out)
    current = visiondrift.profile(bigger, config=baseline.config, workers=1)
    report = visiondrift.compare(baseline, current)
    for name in ("outputs", "confidence", "class_mix"):
        assert report.metric(name).status != "drift", name
    size = next(m for m in report.drifted if m.family == "size")
    assert size.details.band_severity == "high"
    assert size.severity == "low"
    assert report.overall_drift_detected
    assert report.severity == "low"
    assert any("than the model's outputs did" in e for e in report.explanations)
    plain_base = visiondrift.profile(setup.base, workers=1)
    plain = visiondrift.compare(plain_base, visiondrift.profile(bigger, workers=1))
    assert plain.severity == "high"
    assert not any("model's outputs" in e for e in plain.explanations)


def test_a_batch_of_only_unusable_images_with_a_model_is_integrity_drift() -> None:
    """Its profile has a model summary but no per-image model values: compared, not a crash."""
    from _profile_builders import Row, config, image_profile
    from visiondrift.drift import compare

    cfg = config(model=True, reservoir_size=50)
    baseline = image_profile("val", [Row(i, "cat", "JPEG") for i in range(40)], cfg)
    broken = image_profile("prod", [Row(i, None, "JPEG", bad=True) for i in range(12)], cfg)
    assert broken.n_images == 0
    assert broken.model is not None
    report = compare(baseline, broken, mode="monitor")
    assert report.overall_drift_detected
    assert report.status == "drift"
    assert report.explanations[0].startswith("100.0% of files could not be used")
