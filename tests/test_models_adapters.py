"""ONNX and TFLite adapters on real small models: same weights, same predictions."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")
skdata = pytest.importorskip("skimage.data")

from _model_builders import (  # noqa: E402
    CLASS_NAMES,
    CLASSES,
    HEIGHT,
    HIDDEN,
    WIDTH,
    make_layers,
    reference_forward,
    write_dense,
)
from visiondrift.models import Model, ModelOutput, ModelSpec, Preprocessing  # noqa: E402
from visiondrift.models.preprocessing import InputTarget, resize_images  # noqa: E402

FORMATS = ("onnx", "tflite")


@pytest.fixture(scope="module")
def images() -> list[NDArray[np.uint8]]:
    """Real photographs of different sizes and aspect ratios, plus a grayscale one as RGB."""
    camera = skdata.camera()
    return [
        skdata.astronaut(),
        skdata.chelsea(),
        skdata.coffee(),
        skdata.rocket(),
        np.repeat(camera[:, :, None], 3, axis=2),
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def _reference(images: list[NDArray[np.uint8]], pre: Preprocessing) -> NDArray[np.float32]:
    target = InputTarget(HEIGHT, WIDTH, 3, "NHWC", "float32")
    pixels = resize_images(images, pre, target).astype(np.float32) / np.float32(255.0)
    return reference_forward(pixels, make_layers())[0]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_float_model_matches_numpy_reference(
    folder: Path, images: list[NDArray[np.uint8]], fmt: str, layout: str
) -> None:
    path = write_dense(folder, fmt, layout, name=f"float_{layout}.{fmt}")
    model = ModelSpec(path).load()
    assert isinstance(model, Model)
    info = model.info
    assert (info.format, info.layout, info.height, info.width, info.channels) == (
        fmt,
        layout,
        HEIGHT,
        WIDTH,
        3,
    )
    assert info.input_dtype == "float32"
    assert info.fixed_batch_size is None
    out = model.predict(images)
    assert isinstance(out, ModelOutput)
    assert out.probabilities.shape == (len(images), CLASSES)
    assert out.probabilities.dtype == np.float32
    np.testing.assert_allclose(out.probabilities.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(out.probabilities, _reference(images, Preprocessing()), atol=1e-5)


def test_same_weights_same_predictions_across_formats_and_layouts(
    folder: Path, images: list[NDArray[np.uint8]]
) -> None:
    pre = Preprocessing(resize="shorter-side-crop", interpolation="bicubic", scaling="imagenet")
    results = {}
    for fmt in FORMATS:
        for layout in ("NCHW", "NHWC"):
            path = write_dense(folder, fmt, layout, name=f"same_{layout}.{fmt}")
            results[(fmt, layout)] = ModelSpec(path, preprocessing=pre).load().predict(images)
    base = results[("onnx", "NCHW")].probabilities
    assert len({int(i) for i in base.argmax(axis=1)}) > 1  # the images are told apart
    for out in results.values():
        np.testing.assert_allclose(out.probabilities, base, atol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_uint8_quantised_model_matches_float_model(
    folder: Path, images: list[NDArray[np.uint8]], fmt: str
) -> None:
    float_path = write_dense(folder, fmt, name=f"q_float.{fmt}")
    q_path = write_dense(
        folder,
        fmt,
        name=f"q_uint8.{fmt}",
        input_dtype="uint8",
        input_quantization=(1.0 / 255.0, 0),
        output_quantization=(1.0 / 256.0, 0),
    )
    model = ModelSpec(q_path).load()
    info = model.info
    assert info.input_dtype == "uint8"
    assert info.input_quantization is not None
    assert info.input_quantization.scale == pytest.approx(1.0 / 255.0)
    chosen = info.outputs[info.output_names.index(info.output)]
    assert chosen.dtype == "uint8"
    assert chosen.quantization is not None
    assert chosen.quantization.scale == pytest.approx(1.0 / 256.0)
    quantised = model.predict(images).probabilities
    reference = ModelSpec(float_path).load().predict(images).probabilities
    np.testing.assert_allclose(quantised.sum(axis=1), 1.0, atol=1e-6)
    # one output step (1/256) per class, plus renormalisation
    np.testing.assert_allclose(quantised, reference, atol=0.02)
    np.testing.assert_array_equal(quantised.argmax(axis=1), reference.argmax(axis=1))


def test_int8_quantised_tflite_input(folder: Path, images: list[NDArray[np.uint8]]) -> None:
    float_path = write_dense(folder, "tflite", name="i8_float.tflite")
    q_path = write_dense(
        folder, "tflite", name="i8.tflite", input_dtype="int8", input_quantization=(1 / 255, -128)
    )
    model = ModelSpec(q_path).load()
    assert model.info.input_dtype == "int8"
    np.testing.assert_allclose(
        model.predict(images).probabilities,
        ModelSpec(float_path).load().predict(images).probabilities,
        atol=1e-5,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_uint8_input_without_quantisation_takes_raw_pixels(
    folder: Path, images: list[NDArray[np.uint8]], fmt: str
) -> None:
    """Preprocessing built into the model: the /255 is folded into the weights."""
    layers = make_layers()
    folded = [
        type(layers[0])(layers[0].weights / np.float32(255.0), layers[0].bias, relu=True),
        layers[1],
    ]
    path = write_dense(folder, fmt, name=f"raw.{fmt}", layers=folded, input_dtype="uint8")
    model = ModelSpec(path).load()  # no options at all
    assert model.info.input_quantization is None
    np.testing.assert_allclose(
        model.predict(images).probabilities, _reference(images, Preprocessing()), atol=1e-5
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_fixed_batch_of_one(folder: Path, images: list[NDArray[np.uint8]], fmt: str) -> None:
    fixed = write_dense(folder, fmt, name=f"fixed.{fmt}", dynamic_batch=False)
    dynamic = write_dense(folder, fmt, name=f"dynamic.{fmt}")
    model = ModelSpec(fixed, batch_size=4).load()
    assert model.info.fixed_batch_size == 1
    np.testing.assert_allclose(
        model.predict(images).probabilities,
        ModelSpec(dynamic, batch_size=2).load().predict(images).probabilities,
        atol=1e-6,
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_batching_does_not_change_results(
    folder: Path, images: list[NDArray[np.uint8]], fmt: str
) -> None:
    path = write_dense(folder, fmt, name=f"batching.{fmt}")
    one = ModelSpec(path, batch_size=1).load().predict(images).probabilities
    many = ModelSpec(path, batch_size=32).load().predict(images).probabilities
    odd = ModelSpec(path, batch_size=2).load().predict(images).probabilities
    np.testing.assert_allclose(one, many, atol=1e-6)
    np.testing.assert_allclose(odd, many, atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_outputs_chosen_by_name(
    folder: Path, images: list[NDArray[np.uint8]], fmt: str
) -> None:
    path = write_dense(
        folder, fmt, name=f"two.{fmt}", hidden_names=["features"], extra_outputs=["features"]
    )
    from visiondrift.errors import ModelError

    with pytest.raises(ModelError, match=r"2 outputs: probabilities, features.*'output' option"):
        ModelSpec(path).load()
    model = ModelSpec(path, output="probabilities").load()
    assert model.info.output_names == ("probabilities", "features")
    assert model.predict(images).probabilities.shape == (len(images), CLASSES)
    # Naming the other output as the embedding leaves a single candidate.
    out = ModelSpec(path, embedding="features").load().predict(images)
    assert out.embedding is not None
    assert out.embedding.shape == (len(images), HIDDEN)
    with pytest.raises(ModelError, match=r"no output named 'scores'.*probabilities, features"):
        ModelSpec(path, output="scores").load()


@pytest.mark.parametrize("fmt", FORMATS)
def test_intermediate_embedding(folder: Path, images: list[NDArray[np.uint8]], fmt: str) -> None:
    """ONNX: the intermediate is added as an output; TFLite: read from the kept tensors."""
    path = write_dense(folder, fmt, name=f"emb.{fmt}", hidden_names=["features"])
    model = ModelSpec(path, embedding="features", batch_size=2).load()
    assert model.info.embedding == "features"
    assert model.info.embedding_dim == HIDDEN
    assert model.info.output == "probabilities"
    out = model.predict(images)
    target = InputTarget(HEIGHT, WIDTH, 3, "NHWC", "float32")
    pixels = resize_images(images, Preprocessing(), target).astype(np.float32) / np.float32(255)
    probs, hidden = reference_forward(pixels, make_layers())
    assert out.embedding is not None
    assert out.embedding.dtype == np.float32
    np.testing.assert_allclose(out.embedding, hidden, atol=1e-4)
    np.testing.assert_allclose(out.probabilities, probs, atol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_logits_are_turned_into_probabilities(
    folder: Path, images: list[NDArray[np.uint8]], fmt: str
) -> None:
    logits = write_dense(folder, fmt, name=f"logits.{fmt}", output="logits", output_name="logits")
    probs = write_dense(folder, fmt, name=f"probs.{fmt}")
    from_logits = ModelSpec(logits).load().predict(images).probabilities
    np.testing.assert_allclose(
        from_logits, ModelSpec(probs).load().predict(images).probabilities, atol=1e-5
    )
    # "softmax" on an output that is already a distribution would flatten it: auto does not.
    twice = ModelSpec(probs, activation="softmax").load().predict(images).probabilities
    assert np.max(np.abs(twice - from_logits)) > 1e-3


@pytest.mark.parametrize("fmt", FORMATS)
def test_single_sigmoid_output_becomes_two_classes(
    folder: Path, images: list[NDArray[np.uint8]], fmt: str
) -> None:
    layers = make_layers(classes=1)
    path = write_dense(folder, fmt, name=f"sigmoid.{fmt}", layers=layers, output="sigmoid")
    model = ModelSpec(path).load()
    assert model.info.num_classes == 2
    assert model.info.class_names == ("0", "1")
    out = model.predict(images).probabilities
    target = InputTarget(HEIGHT, WIDTH, 3, "NHWC", "float32")
    x = resize_images(images, Preprocessing(), target).astype(np.float32) / np.float32(255)
    x = x.reshape(len(images), -1)
    z = np.maximum(x @ layers[0].weights + layers[0].bias, 0) @ layers[1].weights + layers[1].bias
    p = 1 / (1 + np.exp(-z[:, 0]))
    np.testing.assert_allclose(out, np.stack([1 - p, p], axis=1), atol=1e-5)


@pytest.mark.parametrize("fmt", FORMATS)
def test_class_names_from_model_metadata(folder: Path, fmt: str) -> None:
    path = write_dense(folder, fmt, name=f"named.{fmt}", labels=list(CLASS_NAMES))
    info = ModelSpec(path).load().info
    assert info.class_names == CLASS_NAMES
    assert info.class_names_source == "model metadata"
    plain = write_dense(folder, fmt, name=f"plain.{fmt}")
    assert ModelSpec(plain).load().info.class_names == ("0", "1", "2", "3", "4")


def test_labels_file_overrides_metadata(folder: Path) -> None:
    path = write_dense(folder, "onnx", name="relabel.onnx", labels=list(CLASS_NAMES))
    labels = folder / "labels.json"
    labels.write_text('["a", "b", "c", "d", "e"]', encoding="utf-8")
    info = ModelSpec(path, labels_file=labels).load().info
    assert info.class_names == ("a", "b", "c", "d", "e")
    assert str(labels) in info.class_names_source


def test_empty_batch(folder: Path) -> None:
    path = write_dense(folder, "onnx", name="empty.onnx", hidden_names=["features"])
    out = ModelSpec(path, embedding="features").load().predict([])
    assert out.probabilities.shape == (0, CLASSES)
    assert out.embedding is not None
    assert out.embedding.shape == (0, HIDDEN)


def test_dynamic_size_needs_the_size_option(folder: Path, images: list[NDArray[np.uint8]]) -> None:
    from _model_builders import write_dynamic_size_onnx
    from visiondrift.errors import ModelError

    path = write_dynamic_size_onnx(folder / "dynamic_size.onnx")
    with pytest.raises(ModelError, match=r"dynamic image size.*'size' preprocessing option"):
        ModelSpec(path).load()
    model = ModelSpec(path, preprocessing=Preprocessing(size=(32, 48))).load()
    assert (model.info.height, model.info.width) == (32, 48)
    assert model.predict(images).probabilities.shape == (len(images), CLASSES)


def _predict_in_worker(spec: ModelSpec, images: list[NDArray[np.uint8]]) -> NDArray[np.float32]:
    return spec.load().predict(images).probabilities


def test_spec_is_sent_to_a_worker_process(folder: Path, images: list[NDArray[np.uint8]]) -> None:
    """The core's usage: pickle the spec, load once per worker process."""
    path = write_dense(folder, "tflite", name="worker.tflite")
    spec = ModelSpec(path, preprocessing=Preprocessing(scaling="-1-1"))
    assert pickle.loads(pickle.dumps(spec)) == spec
    context = multiprocessing.get_context("spawn")
    small = [img[::8, ::8].copy() for img in images]
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        remote = pool.submit(_predict_in_worker, spec, small).result(timeout=60)
    np.testing.assert_allclose(remote, spec.load().predict(small).probabilities, atol=1e-6)
