"""ModelSpec: config files, round trips, validation; describe_model; the demo model."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")

from _model_builders import CLASS_NAMES, write_dense, write_dynamic_size_onnx
from visiondrift.errors import ConfigError
from visiondrift.models import ModelSpec, Preprocessing, describe_model, detect_format


def test_spec_round_trip_and_pickle(tmp_path: Path) -> None:
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(CLASS_NAMES), encoding="utf-8")
    spec = ModelSpec(
        tmp_path / "m.onnx",
        preprocessing=Preprocessing(scaling="imagenet", resize="shorter-side-crop"),
        labels_file=labels,
        output="probabilities",
        batch_size=8,
    )
    assert spec.labels == CLASS_NAMES
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert json.loads(json.dumps(spec.to_dict()))["preprocessing"]["scaling"] == "imagenet"
    assert ModelSpec(str(tmp_path / "m.onnx"), labels=["a", "b"]).labels == ("a", "b")


def test_from_toml_config_resolves_relative_paths(tmp_path: Path) -> None:
    model = write_dense(tmp_path, "tflite", name="clf.tflite", hidden_names=["features"])
    (tmp_path / "labels.txt").write_text("\n".join(CLASS_NAMES), encoding="utf-8")
    config = tmp_path / "model.toml"
    config.write_text(
        """
[model]
path = "clf.tflite"
labels_file = "labels.txt"
embedding = "features"
batch_size = 4

[model.preprocessing]
resize = "shorter-side-crop"
interpolation = "area"
scaling = "-1-1"
""",
        encoding="utf-8",
    )
    spec = ModelSpec.from_config(config)
    assert spec.path == model
    assert spec.preprocessing.interpolation == "area"
    loaded = spec.load()
    assert loaded.info.class_names == CLASS_NAMES
    assert loaded.info.embedding == "features"


def test_from_json_config(tmp_path: Path) -> None:
    write_dense(tmp_path, "onnx", name="clf.onnx")
    config = tmp_path / "model.json"
    config.write_text(
        json.dumps({"path": "clf.onnx", "preprocessing": {"size": [8, 8], "scaling": "raw"}}),
        encoding="utf-8",
    )
    spec = ModelSpec.from_config(config)
    assert spec.preprocessing.size == (8, 8)
    assert spec.load().info.preprocessing.scaling == "raw"


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ('path = "m.onnx"\nbatchsize = 3\n', ".toml", "Unknown model option.*'batchsize'"),
        ('path = "m.onnx"\n[preprocessing]\nscale = "0-1"\n', ".toml", "preprocessing option"),
        ("{not json", ".json", "not valid json"),
        ("path: m.onnx", ".yaml", "must end in .json or .toml"),
        ("batch_size = 3\n", ".toml", "needs a 'path'"),
    ],
)
def test_bad_configs(tmp_path: Path, content: str, suffix: str, message: str) -> None:
    config = tmp_path / f"model{suffix}"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        ModelSpec.from_config(config)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "'batch_size'"),
        ({"num_threads": 1.5}, "'num_threads'"),
        ({"activation": "relu"}, "'activation'"),
        ({"format": "pt"}, "'format'"),
        ({"labels": "not-a-file.txt"}, "does not exist"),
        ({"labels": [1, 2]}, "'labels' option must be a sequence of class names"),
    ],
)
def test_invalid_spec_options(tmp_path: Path, options: dict[str, object], message: str) -> None:
    from visiondrift.errors import VisionDriftError

    with pytest.raises(VisionDriftError, match=message):
        ModelSpec(tmp_path / "m.onnx", **options)  # type: ignore[arg-type]


def test_detect_format(tmp_path: Path) -> None:
    tflite = write_dense(tmp_path, "tflite")
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(tflite.read_bytes())
    assert detect_format(renamed) == "tflite"
    assert ModelSpec(renamed).load().info.format == "tflite"
    assert detect_format(tmp_path / "x.onnx") == "onnx"


def test_describe_model(tmp_path: Path) -> None:
    path = write_dense(
        tmp_path,
        "tflite",
        input_dtype="uint8",
        input_quantization=(1 / 255, 0),
        output_quantization=(1 / 256, 0),
        labels=list(CLASS_NAMES),
    )
    text = describe_model(path)
    assert "image  [?, 8, 8, 3]  uint8  quantised: scale=0.00392157 zero_point=0" in text
    assert "layout NHWC" in text
    assert "probabilities  [?, 5]  uint8" in text
    assert "<- class scores" in text
    assert "names from model metadata: apple, banana" in text
    assert "real values 0..1" in text
    assert "How to pick the right preprocessing" in text


def test_describe_model_that_needs_options(tmp_path: Path) -> None:
    path = write_dynamic_size_onnx(tmp_path / "dyn.onnx")
    text = describe_model(path)
    assert "image  [?, 3, ?, ?]  float32" in text
    assert "cannot run this model with these options yet" in text
    assert "'size' preprocessing option" in text
    fixed = describe_model(path, size=(64, 64), scaling="imagenet")
    assert "64x64" in fixed
    assert "(0.485, 0.456, 0.406)" in fixed.split("How to pick")[0]
    with pytest.raises(ConfigError, match="Unknown option"):
        describe_model(path, colour="red")


def test_demo_model(tmp_path: Path) -> None:
    from visiondrift.demo.model import build_demo_models, load_demo_dataset

    pytest.importorskip("animal_mnist", reason="needs the demo extra")
    demo = build_demo_models(tmp_path, epochs=4)  # the script trains longer
    assert demo.test_accuracy > 0.7
    data = load_demo_dataset()
    idx = demo.test_indices[:150]
    images = [np.repeat(data.images[i][:, :, None], 3, axis=2) for i in idx]
    outs = {}
    for path in (demo.onnx, demo.tflite, demo.tflite_uint8):
        model = ModelSpec(path, embedding="embedding").load()  # no preprocessing options
        assert model.info.class_names[:3] == ("bear", "bird", "cat")
        outs[path.name] = model.predict(images)
    accuracy = np.mean(outs["demo.onnx"].probabilities.argmax(axis=1) == data.labels[idx])
    assert accuracy > 0.65
    np.testing.assert_allclose(
        outs["demo.tflite"].probabilities, outs["demo.onnx"].probabilities, atol=1e-5
    )
    np.testing.assert_allclose(
        outs["demo_uint8.tflite"].probabilities, outs["demo.onnx"].probabilities, atol=0.03
    )
    emb = outs["demo.onnx"].embedding
    assert emb is not None
    assert emb.shape == (150, 64)
    assert demo.labels.read_text(encoding="utf-8").splitlines()[0] == "bear"


def test_replace_keeps_the_labels_read_from_the_file(tmp_path: Path) -> None:
    import dataclasses

    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(CLASS_NAMES), encoding="utf-8")
    spec = ModelSpec(tmp_path / "m.onnx", labels_file=labels)
    labels.unlink()  # a worker on another machine does not need the file
    changed = dataclasses.replace(spec, batch_size=4)
    assert changed.labels == CLASS_NAMES
    assert changed.labels_file == labels
