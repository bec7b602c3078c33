"""Predictions without images: CSV, JSON Lines and Parquet files of per-image probabilities."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from visiondrift.cli import cli
from visiondrift.drift import DriftReport, compare
from visiondrift.errors import (
    ConfigError,
    MissingExtraError,
    NoReadableImagesError,
    SourceError,
)
from visiondrift.profiles import Profile
from visiondrift.profiles.model_summary import MODEL_COLUMNS
from visiondrift.profiles.predictions import is_predictions_file, profile_predictions

NAMES = ("cat", "dog", "bird")
HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None


def _rows(
    n: int, mix: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3), sharp: float = 4.0, seed: int = 0
) -> list[tuple[str, str, list[float]]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        y = int(rng.choice(3, p=mix))
        z = rng.normal(0.0, 1.0, 3)
        z[y] += sharp
        p = np.exp(z) / np.exp(z).sum()
        out.append((f"img{i:04d}.jpg", NAMES[y], [round(float(v), 6) for v in p]))
    return out


def _fix(p: list[float]) -> list[float]:
    """Rounded probabilities that still sum to 1 within the default tolerance."""
    return [*p[:-1], round(1.0 - sum(p[:-1]), 6)]


def write_csv(path: Path, rows: list[tuple[str, str, list[float]]], extra: str = "") -> Path:
    lines = ["image_id,label," + ",".join(f"prob_{c}" for c in NAMES)]
    lines += [f"{i},{y}," + ",".join(f"{v:.6f}" for v in _fix(p)) for i, y, p in rows]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[tuple[str, str, list[float]]], extra: str = "") -> Path:
    lines = [json.dumps({"name": i, "label": NAMES.index(y), "probs": _fix(p)}) for i, y, p in rows]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def test_csv_columns_per_class(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "val.csv", _rows(200))
    prof = profile_predictions(path)
    assert prof.n_images == 200
    assert prof.n_bad == 0
    assert prof.model is not None
    assert prof.model.class_names == NAMES
    assert prof.model.n == 200
    assert sum(prof.model.predicted.counts.values()) == 200
    assert set(prof.reservoir.values) == {
        "model_class",
        "model_confidence",
        "model_margin",
        "model_entropy",
    }
    assert prof.reservoir.vectors["probs"].shape == (200, 3)
    assert prof.labels.total == 200
    assert prof.sources[0].kind == "predictions"
    assert prof.values("brightness").size == 0  # no images, no image properties
    assert "img0000.jpg" in prof.reservoir.names


def test_jsonl_list_column_and_integer_labels(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "val.jsonl", _rows(120))
    prof = profile_predictions(path, class_names=NAMES)
    assert prof.n_images == 120
    assert prof.model is not None
    assert prof.model.class_names == NAMES
    assert set(prof.labels.counts) <= set(NAMES)  # label indices became class names
    # Without class names, a 'probs' list gives classes "0", "1", "2".
    unnamed = profile_predictions(path)
    assert unnamed.model is not None
    assert unnamed.model.class_names == ("0", "1", "2")


def test_columns_named_after_the_classes(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("cat,dog,bird\n0.7,0.2,0.1\n0.1,0.1,0.8\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no probability columns"):
        profile_predictions(path)
    prof = profile_predictions(path, class_names=["cat", "dog", "bird"])
    assert prof.model is not None
    assert prof.model.predicted.counts == {"bird": 1, "cat": 1}
    with pytest.raises(ConfigError, match="no column for class 'cow'"):
        profile_predictions(path, class_names=["cat", "cow", "bird"])


def test_logits_need_softmax(tmp_path: Path) -> None:
    path = tmp_path / "logits.jsonl"
    path.write_text('{"probs": [2.0, -1.0, 0.5]}\n{"probs": [0.0, 3.0, 1.0]}\n', encoding="utf-8")
    with pytest.raises(NoReadableImagesError, match="activation='softmax'"):
        profile_predictions(path)
    prof = profile_predictions(path, activation="softmax")
    assert prof.n_images == 2
    conf = prof.reservoir.values["model_confidence"]
    expected = np.exp(2.0) / (np.exp(2.0) + np.exp(-1.0) + np.exp(0.5))
    assert np.isclose(sorted(conf)[-1], max(expected, np.exp(3.0) / (1 + np.exp(3.0) + np.e)))


def test_bad_rows_are_counted_and_listed(tmp_path: Path) -> None:
    bad = (
        "bad_sum,cat,0.5,0.6,0.1\n"
        "bad_neg,cat,-0.1,0.6,0.5\n"
        "bad_text,cat,abc,0.5,0.5\n"
        "bad_fields,cat,0.5\n"
    )
    path = write_csv(tmp_path / "val.csv", _rows(50), extra=bad)
    prof = profile_predictions(path)
    assert prof.n_images == 50
    assert prof.n_files == 54
    assert prof.bad_counts == {"bad_row": 4}
    details = {b.name: b.detail for b in prof.bad_files}
    assert all(b.reason == "bad_row" for b in prof.bad_files)
    assert str(path) in details["bad_neg"]
    assert "line 53" in details["bad_neg"]
    assert "field 'prob_cat'" in details["bad_neg"]
    assert "negative probability" in details["bad_neg"]
    assert "sum to 1.2" in details["bad_sum"]
    assert "line 52" in details["bad_sum"]
    assert "not a number" in details["bad_text"]
    assert "field 'prob_cat'" in details["bad_text"]
    assert "line 55" in details["line 55"]  # no image_id: the line names the row
    assert "3 fields where the header has 5" in details["line 55"]


def test_bad_jsonl_lines(tmp_path: Path) -> None:
    extra = '{"name": "short", "probs": [0.5, 0.5]}\nnot json\n[1, 2, 3]\n'
    path = write_jsonl(tmp_path / "b.jsonl", _rows(30), extra=extra)
    prof = profile_predictions(path, class_names=NAMES)
    assert prof.n_images == 30
    assert prof.bad_counts == {"bad_row": 3}
    details = {b.name: b.detail for b in prof.bad_files}
    assert "2 values where 3 classes were expected" in details["short"]
    assert "field 'probs'" in details["short"]
    assert "line 31" in details["short"]
    assert "not valid JSON" in details["line 32"]
    assert "not a JSON object" in details["line 33"]


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        profile_predictions(tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="CSV, JSON Lines or Parquet"):
        profile_predictions(tmp_path / "x.txt")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(SourceError, match="empty"):
        profile_predictions(empty)
    only_bad = tmp_path / "bad.csv"
    only_bad.write_text("prob_a,prob_b\n0.9,0.9\n", encoding="utf-8")
    with pytest.raises(NoReadableImagesError, match=r"No usable row.*line 2"):
        profile_predictions(only_bad)


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes the import fail, as if pyarrow were not installed.
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    path = tmp_path / "p.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(MissingExtraError, match=r"visiondrift\[parquet\]"):
        profile_predictions(path)


@pytest.mark.skipif(not HAS_PYARROW, reason="needs pyarrow (the 'parquet' extra)")
def test_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(40)
    table = pa.table(
        {
            "image_id": [r[0] for r in rows],
            "label": [r[1] for r in rows],
            "probs": [_fix(r[2]) for r in rows],
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    prof = profile_predictions(tmp_path / "p.parquet", class_names=NAMES)
    assert prof.n_images == 40
    assert prof.labels.total == 40


def test_compare_detects_class_mix_and_confidence(tmp_path: Path) -> None:
    base = profile_predictions(write_csv(tmp_path / "a.csv", _rows(600, seed=1)))
    same = profile_predictions(
        write_csv(tmp_path / "b.csv", _rows(300, seed=2)), config=base.config
    )
    moved = profile_predictions(
        write_csv(tmp_path / "c.csv", _rows(300, mix=(0.7, 0.15, 0.15), sharp=2.0, seed=3)),
        config=base.config,
    )
    quiet = compare(base, same)
    assert not quiet.overall_drift_detected
    report = compare(base, moved)
    drifted = {m.name for m in report.drifted}
    assert {"class_mix", "confidence"} <= drifted
    assert not any(m.family.startswith("pixel") for m in report.metrics)
    assert any("'cat'" in line for line in report.explanations)
    # Round trip through JSON, and a profile of images against one of predictions.
    base.save(tmp_path / "base.json")
    again = Profile.load(tmp_path / "base.json")
    assert not compare(again, base).overall_drift_detected


def test_image_profile_against_predictions(tmp_path: Path, photo_dir: Path) -> None:
    import visiondrift

    images = visiondrift.profile(photo_dir, workers=1)
    preds = profile_predictions(write_csv(tmp_path / "a.csv", _rows(100)))
    report = compare(images, preds)  # no model on one side: only integrity metrics remain
    assert all(m.family not in ("pixel_mean", "pixel_std") for m in report.metrics)


def test_is_predictions_file(tmp_path: Path) -> None:
    listing = tmp_path / "images.csv"
    listing.write_text("a.jpg\nb.jpg\n", encoding="utf-8")
    assert not is_predictions_file(listing)
    assert is_predictions_file(write_csv(tmp_path / "p.csv", _rows(3)))
    assert is_predictions_file(write_jsonl(tmp_path / "p.jsonl", _rows(3)))
    assert not is_predictions_file(tmp_path / "missing.jsonl")


def test_cli_baseline_and_monitor(tmp_path: Path) -> None:
    runner = CliRunner()
    write_csv(tmp_path / "val.csv", _rows(500, seed=4))
    write_csv(tmp_path / "same.csv", _rows(300, seed=5))
    write_jsonl(tmp_path / "moved.jsonl", _rows(300, mix=(0.7, 0.15, 0.15), seed=6), extra="oops\n")
    base = tmp_path / "base.json"
    res = runner.invoke(
        cli, ["baseline", "--predictions", str(tmp_path / "val.csv"), "-o", str(base)]
    )
    assert res.exit_code == 0, res.output
    assert "500 predictions read" in res.output
    assert "Model: 3 classes" in res.output
    res = runner.invoke(
        cli,
        [
            "monitor",
            "--predictions",
            str(tmp_path / "same.csv"),
            "--baseline",
            str(base),
            "-o",
            str(tmp_path / "r1.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "NO DRIFT" in res.output
    # A .jsonl file given as DATA_DIR is read as predictions; class names come from the baseline.
    res = runner.invoke(
        cli,
        [
            "monitor",
            str(tmp_path / "moved.jsonl"),
            "--baseline",
            str(base),
            "-o",
            str(tmp_path / "r2.json"),
        ],
    )
    assert res.exit_code == 1, res.output
    assert "DRIFT DETECTED" in res.output
    assert "'cat'" in res.output
    assert "{'bad_row': 1}" in res.output
    report = DriftReport.load(tmp_path / "r2.json")
    assert "class_mix" in {m.name for m in report.drifted}
    # Compare two prediction files directly.
    res = runner.invoke(
        cli,
        [
            "compare",
            str(tmp_path / "val.csv"),
            str(tmp_path / "same.csv"),
            "-o",
            str(tmp_path / "r3.json"),
        ],
    )
    assert res.exit_code == 0, res.output


def test_cli_predictions_usage_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    path = write_csv(tmp_path / "val.csv", _rows(20))
    res = runner.invoke(cli, ["baseline"])
    assert res.exit_code == 2
    assert "--predictions" in res.output
    res = runner.invoke(cli, ["baseline", str(tmp_path), "--predictions", str(path)])
    assert res.exit_code == 2
    assert "not both" in res.output
    res = runner.invoke(cli, ["baseline", "--predictions", str(path), "--max-images", "5"])
    assert res.exit_code == 2
    assert "--max-images" in res.output
    logits = tmp_path / "l.jsonl"
    logits.write_text('{"probs": [2.0, 1.0]}\n', encoding="utf-8")
    res = runner.invoke(cli, ["baseline", "--predictions", str(logits), "-o", str(tmp_path / "b")])
    assert res.exit_code == 2
    assert "softmax" in res.output
    res = runner.invoke(
        cli,
        [
            "baseline",
            "--predictions",
            str(logits),
            "--activation",
            "softmax",
            "--class-names",
            "yes,no",
            "-o",
            str(tmp_path / "b.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert Profile.load(tmp_path / "b.json").model.class_names == ("yes", "no")  # type: ignore[union-attr]


def test_predictions_file_profile_equals_the_model_part_of_the_image_pass(
    tmp_path: Path,
) -> None:
    """Run the real ONNX demo model on images, write its probabilities to a file, read it back.

    Both profiles come out of the one ProfileBuilder. Counts, predicted classes, histograms,
    labels and sampled records must be equal; floating values within 1e-6 relative, because a
    predictions file's rows are renormalised to sum to 1 (the float32 outputs of the model sum
    to 1 only within float32 rounding).
    """
    pytest.importorskip("onnxruntime")
    from PIL import Image

    import visiondrift
    from visiondrift.demo.model import build_demo_models, load_demo_dataset

    models = build_demo_models(tmp_path / "model", epochs=5)
    data = load_demo_dataset()
    folder = tmp_path / "images"
    for i in models.test_indices[:60]:
        name = models.class_names[int(data.labels[i])]
        (folder / name).mkdir(parents=True, exist_ok=True)
        Image.fromarray(data.images[i]).save(folder / name / f"{i}.png")
    images = visiondrift.profile(
        folder, model=models.onnx, workers=1, reservoir_size=100, labels="imagefolder"
    )
    assert images.model is not None
    assert images.n_images == 60
    assert images.labels.total == 60
    res = images.reservoir
    names = images.model.class_names
    lines = ["image_id,label," + ",".join(f"prob_{c}" for c in names)]
    for name, label, probs in zip(res.names, res.labels, res.vectors["probs"], strict=True):
        lines.append(f"{name},{label}," + ",".join(repr(float(v)) for v in probs))
    (tmp_path / "preds.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    preds = profile_predictions(tmp_path / "preds.csv", class_names=names, config=images.config)

    assert (preds.n_images, preds.n_files, preds.n_bad) == (60, 60, 0)
    assert preds.labels == images.labels
    a, b = preds.model, images.model
    assert a is not None
    assert a.class_names == b.class_names
    assert a.predicted == b.predicted
    np.testing.assert_array_equal(a.confidence_hist, b.confidence_hist)
    assert a.n_low_confidence == b.n_low_confidence
    pairs = [(a.confidence, b.confidence), (a.margin, b.margin), (a.entropy, b.entropy)]
    assert a.class_confidence.keys() == b.class_confidence.keys()
    pairs += [(a.class_confidence[k], b.class_confidence[k]) for k in a.class_confidence]
    for x, y in pairs:
        assert x.count == y.count
        for field in ("mean", "min", "max"):
            assert getattr(x, field) == pytest.approx(getattr(y, field), rel=1e-6, abs=1e-7)
        assert x.m2 == pytest.approx(y.m2, rel=1e-5, abs=1e-7)
    # The same records in the reservoir, with the same model columns and probabilities.
    pa, pb = preds.reservoir, images.reservoir
    assert sorted(pa.names) == sorted(pb.names)
    at = {n: i for i, n in enumerate(pa.names)}
    order = np.array([at[n] for n in pb.names])
    assert [pa.labels[i] for i in order] == list(pb.labels)
    np.testing.assert_allclose(
        pa.vectors["probs"][order], pb.vectors["probs"], rtol=1e-6, atol=1e-7
    )
    for column in MODEL_COLUMNS:
        np.testing.assert_allclose(
            pa.values[column][order], pb.values[column], rtol=1e-6, atol=1e-7
        )
